"""The send page with contact lists: the preview says who is called and who not and why (in Russian too), the
broadcast keeps its lists, the admin's "Send to these lists…", and a pasted list saved as a new one."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import translation

from audiences.contact_models import Contact, ContactList
from calls.models import Broadcast, CallState
from tests.factories_calls import SOURCE, csv_upload
from tests.pages_helpers import confirmation

pytestmark = pytest.mark.django_db

SEND = reverse("portal:send")


def _preview(client, voice_message, lists=(), numbers="", token="lists-token-1", **extra):
    data = {"voice_message": voice_message.pk, "source": SOURCE, "token": token, "basis": "consent", "_preview": "1"}
    return client.post(SEND, {**data, "contact_lists": [item.pk for item in lists], "numbers": numbers, **extra})


def test_the_preview_says_who_of_the_lists_is_called_and_why_not_and_the_broadcast_keeps_them(
    operator_page_client,
    voice_message,
    club,
    django_capture_on_commit_callbacks,
):
    response = _preview(operator_page_client, voice_message, club, numbers="79990000002\n+7 999 000-00-60")
    page = response.content.decode()
    assert response.status_code == 200, response.context["form"].errors
    assert "3 numbers will be called" in page  # Anna, Egor and the typed one; Boris typed, but of a list
    assert "2 contacts will be called" in page
    for words in ("1 with an invalid number", "2 on the stop list", "2 without consent for this purpose"):
        assert words in page[page.index('id="list-counts"') :]
    sample = page[page.index('id="left-out-contacts"') :]
    assert "Boris" in sample and "Not called: no consent for this purpose." in sample
    assert 'id="save-as-list"' in page  # the typed number may be saved as a list

    # Between the preview and the confirmation Egor withdraws: he is recorded, not called.
    from audiences.consent import withdraw_consent

    withdraw_consent(Contact.objects.get(name="Egor").consents.get(), channel="letter")
    with django_capture_on_commit_callbacks(execute=True):
        done = operator_page_client.post(SEND, confirmation(response))
    broadcast = Broadcast.objects.get()
    assert done.url == reverse("portal:broadcast", args=[broadcast.pk])
    states = dict(broadcast.calls.values_list("destination", "state"))
    assert states == {"79990000001": CallState.QUEUED, "79990000007": CallState.SKIPPED, "79990000060": "queued"}
    shown = operator_page_client.get(done.url).content.decode()
    assert "Building" in shown[shown.index('id="broadcast-lists"') :][:600]
    assert "2 contacts to call" in shown
    anna = operator_page_client.get(reverse("portal:contact", args=[Contact.objects.get(name="Anna").pk]))
    assert f"broadcast #{broadcast.pk}" in anna.content.decode()[anna.content.decode().index('id="contact-calls"') :]
    in_admin = operator_page_client.get(reverse("admin:calls_broadcast_change", args=[broadcast.pk]))
    assert "Building, Club" in in_admin.content.decode()
    export = operator_page_client.get(reverse("portal:calls_export_csv"), {"broadcast": broadcast.pk})
    rows = b"".join(export.streaming_content).decode()
    assert "Anna" in rows and "flat: 12" in rows  # the contact's name and other fields, with its call


def test_the_preview_in_russian(client, settings, voice_message, club):
    from exolve_portal.roles import OPERATORS
    from tests.factories import make_staff

    settings.LANGUAGE_CODE = "ru"
    client.force_login(make_staff("op-ru", OPERATORS))
    with translation.override("ru"):
        page = _preview(client, voice_message, club[:1]).content.decode()
    lists = page[page.index('id="lists-preview"') :]
    assert "Из списков контактов: Club" in lists
    assert "2 в стоп-листе" in lists and "2 без согласия на эту цель" in lists
    assert "Не звоним: нет согласия на звонки с этой целью." in lists
    assert "Позвоним 1 контакту" in lists
    assert "Сохранить эти номера" not in page  # nothing typed: nothing to save


def test_nobody_to_call_in_the_lists_says_why(operator_page_client, voice_message, club):
    response = _preview(operator_page_client, voice_message, club, purpose="debt_reminder", basis="debt")
    errors = " ".join(response.context["form"].non_field_errors())
    assert "Nobody in the chosen lists can be called" in errors and "without consent for this purpose" in errors


def test_the_admin_sends_to_the_chosen_lists(client, manager_user, club):
    client.force_login(manager_user)
    changelist = reverse("admin:audiences_contactlist_changelist")
    response = client.post(changelist, {"action": "send_to_lists", "_selected_action": [item.pk for item in club]})
    assert response.status_code == 302 and response.url.startswith(SEND)
    page = client.get(response.url).content.decode()
    assert all(f'value="{item.pk}" selected' in page for item in club)


def test_an_uploaded_list_is_saved_as_a_new_list_with_its_consent(operator_page_client, operator_user, voice_message):
    upload = csv_upload("телефон,ФИО,квартира\n+7 999 000-00-21,Анна,12\n8 999 000 00 22,Борис,14\n")
    response = _preview(operator_page_client, voice_message, file=upload)
    token = response.context["confirm"]["token"].value()
    saved = operator_page_client.post(
        reverse("portal:send_save_list"),
        {
            "token": token,
            "new_list": "Residents",
            "purpose": "information",
            "kind": "written",
            "given_at": "2026-11-01",
        },
    )
    residents = ContactList.objects.get(name="Residents")
    assert saved.url == reverse("portal:contact_list", args=[residents.pk])
    assert sorted(residents.contacts.values_list("number", "name", "extra")) == [
        ("79990000021", "Анна", {"квартира": "12"}),
        ("79990000022", "Борис", {"квартира": "14"}),
    ]
    assert all(c.consents.get().purpose == "information" for c in residents.contacts.all())
    assert LogEntry.objects.filter(user=operator_user, object_repr="Residents").exists()  # audited
    again = operator_page_client.post(reverse("portal:send_save_list"), {"token": token, "new_list": "Residents"})
    assert again.url == SEND and ContactList.objects.count() == 1  # the name is taken: refused, nothing made


def test_a_crafted_post_of_many_lists_is_refused_in_words(operator_page_client, voice_message):
    response = _preview(operator_page_client, voice_message, numbers="79990000021", contact_lists=list(range(900)))
    assert response.status_code == 200
    assert "Choose at most 20 lists" in str(response.context["form"].errors["contact_lists"])
