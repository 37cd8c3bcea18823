"""Contacts and lists: imports merged by number, consent as a record tied to the stop list, roles.

Through the functions the pages call (audiences.contacts_import, audiences.consent) and
through the admin with Operators and Managers made from the roles.
"""

import datetime
import io

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import override_settings
from django.urls import reverse
from openpyxl import load_workbook

from audiences import consent as consent_module
from audiences import contacts_import, stop_list
from audiences.consent import NO_CONSENT, WITHDRAWN, consent_verdicts, record_consent, withdraw_consent
from audiences.contacts_import import ConsentGiven, merge, rows_from_file, rows_from_text
from audiences.models import Consent, Contact, ContactList, Membership, StopListEntry
from audiences.uploads import UploadError
from exolve_portal.roles import MANAGERS, OPERATORS
from jobs.models import Job
from tests.factories import make_staff
from tests.factories_calls import IMMEDIATE_TASKS, csv_upload, xlsx_upload

pytestmark = pytest.mark.django_db

IMPORT = "admin:audiences_contactlist_import"
CLUB = "phone,name,flat\n+7 (999) 123-45-61,Anna,12\n8 999 123 45 62,Boris,14\nnot a number,Vera,16\n"
SIGNED = ConsentGiven(purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1), source="club form")


@pytest.fixture
def club():
    return ContactList.objects.create(name="Club")


def snapshot():
    return sorted(Contact.objects.values_list("number", "name", "extra", "updated_at"))


def test_the_same_file_twice_changes_nothing(club):
    first = merge(rows_from_file(csv_upload(CLUB)), club)
    before = (snapshot(), Membership.objects.count(), LogEntry.objects.count())

    second = merge(rows_from_file(csv_upload(CLUB)), club)

    assert (first.added, first.updated, first.unchanged, first.joined) == (2, 0, 0, 2)
    assert (second.added, second.updated, second.unchanged, second.joined) == (0, 0, 2, 0)
    assert (snapshot(), Membership.objects.count(), LogEntry.objects.count()) == before
    anna = Contact.objects.get(number="79991234561")
    assert (anna.name, anna.extra) == ("Anna", {"flat": "12"})


def test_a_changed_name_updates_and_a_bad_row_is_listed_with_its_row_and_reason(club):
    merge(rows_from_file(csv_upload(CLUB)), club)

    result = merge(rows_from_file(csv_upload(CLUB.replace("Anna", "Anna Petrova"))), club)

    assert (result.added, result.updated, result.unchanged) == (0, 1, 1)
    assert Contact.objects.get(number="79991234561").name == "Anna Petrova"
    assert result.refused_count == 1
    row, raw, reason = result.refused[0]
    assert (row, raw) == (4, "not a number") and reason


def test_pasted_lines_merge_and_a_number_given_twice_is_refused_naming_the_first_row(club):
    result = merge(rows_from_text("+7 999 123-45-61 Anna\n89991234561 Anna again\n79991234562;Boris"), club)

    assert (result.added, result.refused_count) == (2, 1)
    assert result.refused[0][0] == 2 and "row 1" in result.refused[0][2]
    assert Contact.objects.get(number="79991234562").name == "Boris"


def test_an_import_records_the_consent_of_every_row_but_not_for_a_stop_listed_number(club):
    stop_list.add(["79991234562"])
    user = make_staff("op", OPERATORS)

    result = merge(rows_from_file(csv_upload(CLUB)), club, user=user, consent=SIGNED)
    again = merge(rows_from_file(csv_upload(CLUB)), club, user=user, consent=SIGNED)

    consent = Consent.objects.get()
    assert (consent.contact.number, consent.kind, consent.given_at, consent.source, consent.entered_by) == (
        "79991234561",
        "written",
        datetime.date(2026, 11, 1),
        "club form",
        user,
    )
    assert (result.consents, result.consents_stop_listed, again.consents) == (1, 1, 0)
    entry = LogEntry.objects.get(object_id=str(club.pk), action_flag=CHANGE)  # the import, on its list
    assert (entry.user, entry.get_change_message()) == (user, "Changed contacts.")
    assert '"added": 2' in entry.change_message and '"consents": 1' in entry.change_message


def test_withdrawing_puts_the_number_on_the_stop_list_and_withdraws_the_other_purposes():
    contact = Contact.objects.create(number="79991234561")
    given = datetime.date(2026, 11, 1)
    reminder = record_consent(contact, purpose="reminder", kind="written", given_at=given)
    information = record_consent(contact, purpose="information", kind="web_form", given_at=given)

    withdraw_consent(reminder, channel="letter")

    reminder.refresh_from_db(), information.refresh_from_db()
    assert StopListEntry.objects.filter(number="79991234561").exists()
    assert (reminder.withdrawal_channel, information.withdrawal_channel) == ("letter", "stop_list")
    assert information.withdrawn_at is not None


def test_a_withdrawal_whose_stop_list_entry_fails_is_not_recorded(monkeypatch):
    contact = Contact.objects.create(number="79991234561")
    consent = record_consent(contact, purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))
    monkeypatch.setattr(stop_list, "_add", lambda *a, **k: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        withdraw_consent(consent, channel="letter")

    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_a_number_put_on_the_stop_list_withdraws_its_consents_in_the_same_transaction(monkeypatch):
    contact = Contact.objects.create(number="79991234561")
    consent = record_consent(contact, purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))

    stop_list.add(["79991234561"])

    consent.refresh_from_db()
    assert consent.withdrawal_channel == "stop_list" and consent.withdrawn_at is not None
    # When withdrawing fails, the number is not left on the list without it.
    other = Contact.objects.create(number="79991234562")
    record_consent(other, purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))
    monkeypatch.setattr(stop_list, "withdraw_for_stop_list", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        stop_list.add(["79991234562"])
    assert not StopListEntry.objects.filter(number="79991234562").exists()


def test_the_stop_list_admin_add_form_withdraws_the_contacts_consent(client, english):
    client.force_login(make_staff("op", OPERATORS))
    contact = Contact.objects.create(number="79991234561")
    consent = record_consent(contact, purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))

    client.post(reverse("admin:audiences_stoplistentry_add"), {"number": "8 999 123-45-61", "reason": "asked"})

    consent.refresh_from_db()
    assert consent.withdrawal_channel == "stop_list"


def test_consent_verdicts_say_why_a_number_may_not_be_called(monkeypatch):
    monkeypatch.setattr(consent_module, "_CHUNK", 2)  # several chunks
    given = datetime.date(2026, 11, 1)
    for number in ("79991234561", "79991234562", "79991234563"):
        contact = Contact.objects.create(number=number)
        record_consent(contact, purpose="reminder", kind="written", given_at=given)
    record_consent(Contact.objects.get(number="79991234563"), purpose="information", kind="oral", given_at=given)
    withdraw_consent(Consent.objects.get(contact__number="79991234562"), channel="phone_call")

    verdicts = consent_verdicts(["79991234561", "79991234562", "79991234563", "79991234564"], "reminder")

    assert verdicts == {"79991234562": WITHDRAWN, "79991234564": NO_CONSENT}
    assert consent_verdicts(["79991234563", "79991234561"], "information") == {"79991234561": NO_CONSENT}


# --- the admin: roles, the import page, the export, deleting ------------------------------------


def test_an_operator_imports_a_file_into_a_new_list_and_reads_the_report(operator_role_client):
    response = operator_role_client.post(
        reverse(IMPORT),
        {
            "new_list": "Club",
            "file": xlsx_upload([("Телефон", "ФИО"), ("+7 999 123-45-61", "Анна"), ("12", "Вера")]),
            "purpose": "reminder",
            "kind": "written",
            "given_at": "2026-11-01",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 contact added." in page and "Row 3: 12" in page and "1 consent recorded." in page
    assert list(ContactList.objects.get(name="Club").contacts.values_list("name", flat=True)) == ["Анна"]


def test_an_operator_may_not_delete_a_contact_a_manager_may_and_is_told_calls_keep_the_number(client, english):
    contact = Contact.objects.create(number="79991234561")
    delete = reverse("admin:audiences_contact_delete", args=[contact.pk])
    client.force_login(make_staff("op", OPERATORS))
    assert client.post(delete, {"post": "yes"}).status_code == 403

    client.force_login(make_staff("boss", MANAGERS))
    assert "Calls already made to this contact keep their number" in client.get(delete).content.decode()
    client.post(delete, {"post": "yes"})
    assert not Contact.objects.exists()


def test_a_picture_renamed_csv_gets_a_plain_refusal_and_nothing_is_imported(operator_role_client):
    ContactList.objects.create(name="Club")
    picture = csv_upload("", name="club.csv")
    picture.file = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    picture.size = 108

    response = operator_role_client.post(
        reverse(IMPORT), {"contact_list": ContactList.objects.get().pk, "file": picture}
    )

    assert "This file is not a table" in response.content.decode()
    assert not Contact.objects.exists()


@override_settings(TASKS=IMMEDIATE_TASKS)
def test_a_long_import_runs_as_a_job_with_the_same_report(operator_role_client, monkeypatch):
    from audiences import contact_lists_admin

    monkeypatch.setattr(contact_lists_admin, "CONTACTS_IN_REQUEST", 2)
    monkeypatch.setattr(contacts_import, "IMPORT_CHUNK", 2)
    club = ContactList.objects.create(name="Club")

    response = operator_role_client.post(reverse(IMPORT), {"contact_list": club.pk, "file": csv_upload(CLUB)})

    job = Job.objects.get()
    assert response.status_code == 302 and response.url == reverse("jobs:job", args=[job.pk])
    assert (job.result["added"], job.result["refused_count"], club.contacts.count()) == (2, 1, 2)
    assert "rows" not in job.params
    assert "2 contacts added." in operator_role_client.get(response.url).content.decode()


def test_the_export_gives_number_name_fields_and_consent(operator_role_client, club):
    merge(rows_from_file(csv_upload(CLUB)), club, consent=SIGNED)

    response = operator_role_client.get(reverse("admin:audiences_contactlist_export_xlsx", args=[club.pk]))

    sheet = load_workbook(
        io.BytesIO(b"".join(response.streaming_content if response.streaming else [response.content]))
    ).active
    rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert rows[0][:3] == ("number", "name", "flat")
    assert rows[1][:3] == ("8 (999) 123-45-61", "Anna", "12")
    assert "written consent, 2026-11-01" in rows[1]


def test_the_contacts_admin_finds_a_number_however_typed_and_filters_by_consent(operator_role_client, club):
    merge(rows_from_file(csv_upload(CLUB)), club, consent=SIGNED)
    withdraw_consent(Consent.objects.get(contact__number="79991234561"), channel="letter")
    url = reverse("admin:audiences_contact_changelist")

    found = operator_role_client.get(url, {"q": "+7 (999) 123-45-62"}).content.decode()
    withdrawn = operator_role_client.get(url, {"consent": "reminder:withdrawn"}).content.decode()

    assert "79991234562" in found and "79991234561" not in found
    assert "79991234561" in withdrawn and "79991234562" not in withdrawn


def test_a_file_whose_other_columns_pass_the_limit_is_refused_whole_not_cut(monkeypatch):
    monkeypatch.setattr(contacts_import, "CONTACTS_DETAIL_CHARS", 10)

    with pytest.raises(UploadError, match="other columns hold more text"):
        rows_from_file(csv_upload(CLUB))


@pytest.mark.parametrize("path", ["command", "admin import", "call page"])
def test_every_way_onto_the_stop_list_withdraws_the_consent(path, client, english):
    from django.core.management import call_command

    from tests.factories_calls import make_call

    contact = Contact.objects.create(number="79991234561")
    consent = record_consent(contact, purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))
    client.force_login(make_staff("op", OPERATORS))
    if path == "command":
        call_command("stop_list", "add", "8 999 123-45-61")
    elif path == "admin import":
        client.post(reverse("admin:audiences_stoplistentry_import"), {"numbers": "+7 999 123 45 61", "reason": "asked"})
    else:
        call = make_call(None, destination="79991234561")
        client.post(reverse("admin:calls_call_stop_list", args=[call.pk]), {"post": "yes", "reason": "asked"})

    consent.refresh_from_db()
    assert StopListEntry.objects.filter(number="79991234561").exists()
    assert consent.withdrawal_channel == "stop_list"


def test_the_admins_withdraw_action_asks_how_then_withdraws_onto_the_stop_list(operator_role_client):
    contact = Contact.objects.create(number="79991234561")
    consent = record_consent(contact, purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))
    url = reverse("admin:audiences_consent_changelist")
    chosen = {"action": "withdraw", "_selected_action": [consent.pk]}

    asked = operator_role_client.post(url, chosen)
    operator_role_client.post(url, {**chosen, "post": "yes", "channel": "operator_refusal"})

    assert "Withdraw these consents?" in asked.content.decode()
    consent.refresh_from_db()
    assert (consent.withdrawal_channel, consent.withdrawn_by.username) == ("operator_refusal", "op")
    assert StopListEntry.objects.filter(number="79991234561").exists()


def test_the_admin_refuses_a_second_consent_in_force_for_the_same_purpose(operator_role_client):
    contact = Contact.objects.create(number="79991234561")
    record_consent(contact, purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))
    form = {"contact": contact.pk, "purpose": "reminder", "kind": "oral", "given_at": "2026-11-02"}

    response = operator_role_client.post(reverse("admin:audiences_consent_add"), form)

    assert "already has a consent in force" in response.content.decode()
    assert Consent.objects.count() == 1


def test_a_number_another_import_created_meanwhile_is_kept_as_it_is_and_joins_the_list(club, monkeypatch):
    """The contact created between the import's read and its insert (another import): not overwritten, not an
    error, and put in the list with the others (its pk comes back from the insert itself)."""
    real_zone = contacts_import._zone

    def someone_else_creates_boris(item, number=""):  # called while the new contacts are built
        if not Contact.objects.filter(number="79991234562").exists():
            Contact.objects.create(number="79991234562", name="Boris (other import)")
        return real_zone(item, number)

    monkeypatch.setattr(contacts_import, "_zone", someone_else_creates_boris)
    result = merge(rows_from_file(csv_upload(CLUB)), club)

    boris = Contact.objects.get(number="79991234562")
    assert boris.name == "Boris (other import)" and boris.extra == {}
    assert set(club.contacts.values_list("number", flat=True)) == {"79991234561", "79991234562"}
    assert (result.joined, Membership.objects.filter(contact_list=club).count()) == (2, 2)
