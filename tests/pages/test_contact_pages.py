"""The staff pages of contact lists: who sees them, a list's page bounded whatever the URL says,
the import's report, and a consent withdrawn from a contact's page (onto the stop list)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audiences.consent import record_consent
from audiences.contacts_import import merge, rows_from_text
from audiences.models import Consent, Contact, ContactList, StopListEntry
from exolve_portal.roles import MANAGERS, OPERATORS
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, english):
    client.force_login(make_staff("op", OPERATORS))
    return client


def club(size: int) -> ContactList:
    contact_list = ContactList.objects.create(name=f"Club {size}")
    merge(rows_from_text("\n".join(f"7999{index:07d} Member {index}" for index in range(size))), contact_list)
    return contact_list


def test_staff_without_the_roles_get_403_and_operators_see_the_lists(client, operator):
    contact_list = club(3)
    page = operator.get(reverse("portal:contact_lists")).content.decode()
    assert "Club 3" in page and reverse("portal:contacts_import") in page

    client.force_login(make_staff("nobody"))
    assert client.get(reverse("portal:contact_list", args=[contact_list.pk])).status_code == 403


@pytest.mark.parametrize("page", ["1", "999999999", "abc", "-1", "9" * 40])
def test_a_lists_page_costs_the_same_whatever_its_size_and_page_number(operator, page):
    small, large = club(3), club(250)

    def queries(contact_list):
        with CaptureQueriesContext(connection) as captured:
            response = operator.get(reverse("portal:contact_list", args=[contact_list.pk]), {"page": page})
        assert response.status_code == 200
        return len(captured)

    assert queries(small) == queries(large)
    shown = operator.get(reverse("portal:contact_list", args=[large.pk]), {"page": page}).content.decode()
    assert shown.count("/portal/contacts/") in (100, 50)  # the first or the last page, never more


def test_a_list_is_searched_by_number_however_typed(operator):
    contact_list = club(5)
    page = operator.get(reverse("portal:contact_list", args=[contact_list.pk]), {"q": "8 (999) 000-00-03"})
    assert "79990000003" in page.content.decode() and "79990000004" not in page.content.decode()


def test_the_import_page_reports_added_and_refused_rows(operator):
    ContactList.objects.create(name="Club")
    response = operator.post(
        reverse("portal:contacts_import"),
        {"contact_list": ContactList.objects.get().pk, "text": "+7 999 123-45-61 Anna\nhello"},
    )
    page = response.content.decode()
    assert "1 contact added." in page and "Row 2: hello" in page


def test_an_operator_withdraws_a_consent_from_the_contacts_page_and_the_number_is_stop_listed(operator):
    contact = Contact.objects.create(number="79991234561")
    consent = record_consent(contact, purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))
    page = operator.get(reverse("portal:contact", args=[contact.pk])).content.decode()
    assert "written consent" in page

    operator.post(reverse("portal:consent_withdraw", args=[consent.pk]), {"channel": "letter"})

    consent.refresh_from_db()
    assert consent.withdrawal_channel == "letter" and consent.withdrawn_by.username == "op"
    assert StopListEntry.objects.filter(number="79991234561").exists()


def test_a_manager_records_a_consent_and_a_second_one_in_force_is_refused(client, english):
    client.force_login(make_staff("boss", MANAGERS))
    contact = Contact.objects.create(number="79991234561")
    form = {"purpose": "information", "kind": "web_form", "given_at": "2026-11-01", "source": "site"}

    client.post(reverse("portal:contact", args=[contact.pk]), form)
    again = client.post(reverse("portal:contact", args=[contact.pk]), form)

    assert Consent.objects.get().entered_by.username == "boss"
    assert "already has a consent in force" in again.content.decode()


def test_the_import_page_speaks_russian_and_refuses_an_overlong_pasted_line(client, settings):
    settings.LANGUAGE_CODE = "ru"
    client.force_login(make_staff("op", OPERATORS))
    contact_list = ContactList.objects.create(name="Клуб")
    url = reverse("portal:contacts_import")

    report = client.post(
        url, {"contact_list": contact_list.pk, "text": "8 999 123-45-61 Анна\nпривет"}, HTTP_ACCEPT_LANGUAGE="ru"
    )
    refused = client.post(url, {"contact_list": contact_list.pk, "text": "7" * 300}, HTTP_ACCEPT_LANGUAGE="ru")

    assert "Добавлен 1 контакт." in report.content.decode() and "Строка 2: привет" in report.content.decode()
    assert refused.status_code == 200 and not Contact.objects.exclude(number="79991234561").exists()
    assert "Строка 1 длиной 300 символов" in refused.content.decode()


def test_a_manager_takes_a_contact_out_of_a_list_an_operator_may_not(client, operator):
    contact_list = club(2)
    contact = contact_list.contacts.order_by("number").first()
    url = reverse("portal:contact_list_remove", args=[contact_list.pk, contact.pk])
    assert operator.post(url).status_code == 403

    client.force_login(make_staff("boss", MANAGERS))
    client.post(url)

    assert list(contact_list.contacts.values_list("number", flat=True)) == ["79990000001"]
    assert Contact.objects.filter(pk=contact.pk).exists()
