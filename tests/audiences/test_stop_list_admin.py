"""The stop list in the admin: add, change, remove by role; import and export; from calls; audited.

Through the Django test client with an Operator and a Manager made from the roles, and
at the end through the real send loop against the sandbox: a number put on the list
from a call's page after its broadcast was recorded is not called.
"""

import csv
import io
from collections import Counter

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from openpyxl import load_workbook

from audiences.models import StopListEntry
from calls.models import Call, CallState
from calls.sending import send_queued_calls
from exolve_portal.roles import OPERATORS
from tests.factories import make_staff
from tests.factories_calls import MAKE, csv_upload, make_call, queue, xlsx_upload

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:audiences_stoplistentry_changelist"
ADD = "admin:audiences_stoplistentry_add"
IMPORT = "admin:audiences_stoplistentry_import"
CALLS = "admin:calls_call_changelist"


def audit(action_flag):
    content_type = ContentType.objects.get_for_model(StopListEntry)
    return LogEntry.objects.filter(content_type=content_type, action_flag=action_flag)


def listed(number) -> StopListEntry:
    return StopListEntry.objects.select_related("added_by").get(number=number)


def text(response) -> str:
    return response.content.decode()


# --- adding, changing, removing -----------------------------------------------------------------


def test_an_operator_adds_a_number_as_typed_normalised_and_audited(operator_role_client):
    response = operator_role_client.post(
        reverse(ADD), {"number": "+7 (999) 123-45-61", "reason": "complaint", "note": "rang the office"}
    )

    assert response.status_code == 302
    entry = listed("79991234561")
    assert (entry.reason, entry.note, entry.added_by.username) == ("complaint", "rang the office", "op")
    assert audit(ADDITION).get().object_id == str(entry.pk)


def test_a_bad_number_gets_a_plain_error_and_the_typing_is_kept(operator_role_client):
    response = operator_role_client.post(reverse(ADD), {"number": "8 999 12", "reason": "asked", "note": "keep me"})

    assert response.status_code == 200
    assert "Too few digits for a phone number." in text(response)
    assert "8 999 12" in text(response) and "keep me" in text(response)
    assert not StopListEntry.objects.exists()


def test_a_number_already_listed_is_refused_plainly(operator_role_client):
    StopListEntry.objects.create(number="79991234561")
    response = operator_role_client.post(reverse(ADD), {"number": "89991234561", "reason": "asked"})
    assert response.status_code == 200
    assert "79991234561 is already on the stop list." in text(response)


def test_the_list_shows_who_why_and_when_with_search_and_filter(operator_role_client):
    StopListEntry.objects.create(number="79991234561", reason="complaint", note="angry")
    StopListEntry.objects.create(number="79991234562", reason="wrong_person")

    page = operator_role_client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "complaint" in text(page) and "angry" in text(page) and "79991234562" in text(page)
    for header in ("Number", "Reason", "Note", "Added by", "Added at"):
        assert header in text(page)
    searched = operator_role_client.get(reverse(CHANGELIST), {"q": "+7 999 123-45-61"})
    assert list(searched.context["cl"].result_list) == [listed("79991234561")]
    filtered = operator_role_client.get(reverse(CHANGELIST), {"reason__exact": "wrong_person"})
    assert list(filtered.context["cl"].result_list) == [listed("79991234562")]


def test_an_operator_can_neither_remove_nor_change_a_number(operator_role_client):
    entry = StopListEntry.objects.create(number="79991234561", reason="asked")
    delete_url = reverse("admin:audiences_stoplistentry_delete", args=[entry.pk])
    change_url = reverse("admin:audiences_stoplistentry_change", args=[entry.pk])

    assert operator_role_client.get(delete_url).status_code == 403
    assert operator_role_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert operator_role_client.post(change_url, {"reason": "other"}).status_code == 403
    page = operator_role_client.get(reverse(CHANGELIST))
    assert 'value="delete_selected"' not in text(page)
    operator_role_client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert listed("79991234561").reason == "asked"
    assert not audit(DELETION).exists() and not audit(CHANGE).exists()


def test_a_manager_changes_and_removes_numbers_and_each_change_is_audited(manager_role_client):
    first = StopListEntry.objects.create(number="79991234561", reason="asked")
    second = StopListEntry.objects.create(number="79991234562", reason="asked")

    changed = manager_role_client.post(
        reverse("admin:audiences_stoplistentry_change", args=[first.pk]), {"reason": "complaint", "note": "twice"}
    )
    removed = manager_role_client.post(
        reverse("admin:audiences_stoplistentry_delete", args=[first.pk]), {"post": "yes"}
    )
    bulk = manager_role_client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"}
    )

    assert changed.status_code == removed.status_code == bulk.status_code == 302
    assert not StopListEntry.objects.exists()
    assert audit(CHANGE).get().object_id == str(first.pk)
    assert sorted(audit(DELETION).values_list("object_id", flat=True)) == sorted([str(first.pk), str(second.pk)])


def test_staff_without_the_roles_see_nothing_of_it(nobody_client):
    assert nobody_client.get(reverse(CHANGELIST)).status_code == 403
    assert nobody_client.get(reverse(IMPORT)).status_code == 403
    assert nobody_client.get(reverse("admin:audiences_stoplistentry_export_csv")).status_code == 403


# --- import -----------------------------------------------------------------------------------------


def test_importing_a_csv_says_what_was_added_already_listed_and_unreadable(operator_role_client):
    StopListEntry.objects.create(number="79991234563")
    upload = csv_upload(
        "name;phone\nAnna;+7 999 123-45-61\nBoris;89991234562\nVera;79991234563\nGleb;12345\nAnna again;79991234561\n"
    )

    response = operator_role_client.post(
        reverse(IMPORT), {"file": upload, "numbers": "", "reason": "complaint", "note": "from the call centre"}
    )

    assert response.status_code == 200
    result = response.context["result"]
    assert (result.added, result.already_listed, result.duplicates) == (2, 1, 1)
    page = text(response)
    assert "Added 2 numbers to the stop list." in page
    assert "1 number was already on the stop list." in page
    assert "12345: Too few digits for a phone number." in page
    assert response.context["form"].initial["numbers"] == "12345"  # left to be corrected
    entry = listed("79991234562")
    assert (entry.reason, entry.note, entry.added_by.username) == ("complaint", "from the call centre", "op")
    assert audit(ADDITION).count() == 2


def test_importing_an_xlsx_file_and_pasted_numbers_together(operator_role_client):
    upload = xlsx_upload([("Телефон",), (79991234561,), ("8 (999) 123-45-62",)])

    response = operator_role_client.post(
        reverse(IMPORT), {"file": upload, "numbers": "79991234564\nnot a number", "reason": "asked"}
    )

    result = response.context["result"]
    assert (result.added, result.already_listed) == (3, 0)
    assert [raw for raw, _reason in result.invalid] == ["not a number"]
    assert set(StopListEntry.objects.values_list("number", flat=True)) == {"79991234561", "79991234562", "79991234564"}


def test_a_file_that_is_not_a_table_is_refused_plainly_and_nothing_typed_is_lost(operator_role_client):
    picture = csv_upload("", name="list.csv")
    picture.file = io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    picture.size = len(picture.file.getvalue())

    response = operator_role_client.post(
        reverse(IMPORT), {"file": picture, "numbers": "79991234561", "reason": "wrong_person", "note": "my note"}
    )

    assert response.status_code == 200 and response.context["result"] is None
    assert "This file is not a table (CSV or XLSX)." in text(response)
    form = response.context["form"]
    assert (form["numbers"].value(), form["reason"].value(), form["note"].value()) == (
        "79991234561",
        "wrong_person",
        "my note",
    )
    assert not StopListEntry.objects.exists()


def test_an_import_with_nothing_to_import_says_so(operator_role_client):
    response = operator_role_client.post(reverse(IMPORT), {"numbers": "", "reason": "asked"})
    assert "Choose a file or paste the numbers" in text(response)


# --- export -----------------------------------------------------------------------------------------


def test_export_as_csv_and_xlsx_with_who_why_and_when(operator_role_client):
    operator_role_client.post(reverse(ADD), {"number": "79991234561", "reason": "complaint", "note": "=HYPERLINK(1)"})
    StopListEntry.objects.create(number="79991234562", reason="wrong_person")
    page = operator_role_client.get(reverse(CHANGELIST))
    assert reverse("admin:audiences_stoplistentry_export_csv") in text(page)
    assert reverse(IMPORT) in text(page)

    response = operator_role_client.get(reverse("admin:audiences_stoplistentry_export_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["number", "reason", "note", "added by", "added at"]
    assert rows[1][:4] == ["79991234561", "complaint", "'=HYPERLINK(1)", "op"]
    assert rows[2][:4] == ["79991234562", "wrong person", "", ""]
    assert rows[1][4]  # when

    response = operator_role_client.get(
        reverse("admin:audiences_stoplistentry_export_xlsx"), {"reason__exact": "complaint"}
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert values[0] == ("number", "reason", "note", "added by", "added at")
    assert [row[:4] for row in values[1:]] == [("79991234561", "complaint", "'=HYPERLINK(1)", "op")]


def test_export_as_csv_for_excel_is_separated_by_semicolons(operator_role_client):
    StopListEntry.objects.create(number="79991234562", reason="wrong_person", note="один; два")
    assert reverse("admin:audiences_stoplistentry_export_csv_excel") in text(
        operator_role_client.get(reverse(CHANGELIST))
    )
    response = operator_role_client.get(reverse("admin:audiences_stoplistentry_export_csv_excel"))
    data = b"".join(response.streaming_content).decode("utf-8-sig")
    assert data.splitlines()[0] == "number;reason;note;added by;added at"
    rows = list(csv.reader(io.StringIO(data), delimiter=";"))
    assert rows[1][:4] == ["79991234562", "wrong person", "один; два", ""]


# --- from calls ---------------------------------------------------------------------------------------


def test_the_calls_action_asks_why_then_puts_the_numbers_on_the_list(operator_role_client, voice_message):
    calls = [
        make_call(voice_message, "79991234561"),
        make_call(voice_message, "79991234561"),
        make_call(voice_message, "79991234562"),
    ]
    selected = [call.pk for call in calls]
    StopListEntry.objects.create(number="79991234562")

    page = operator_role_client.post(reverse(CALLS), {"action": "add_to_stop_list", "_selected_action": selected})
    assert page.status_code == 200
    assert "79991234561" in text(page) and "already on the stop list" in text(page)
    assert StopListEntry.objects.count() == 1  # nothing yet

    response = operator_role_client.post(
        reverse(CALLS),
        {"action": "add_to_stop_list", "_selected_action": selected, "post": "yes", "reason": "wrong_person"},
    )
    assert response.status_code == 302
    entry = listed("79991234561")
    assert (entry.reason, entry.added_by.username) == ("wrong_person", "op")
    assert audit(ADDITION).get().object_id == str(entry.pk)


def test_the_calls_action_needs_the_permission(client, voice_message):
    call = make_call(voice_message, "79991234561")
    client.force_login(make_staff("viewer", perms=("calls.view_call",)))
    page = client.get(reverse(CALLS))
    assert 'value="add_to_stop_list"' not in text(page)
    client.post(
        reverse(CALLS), {"action": "add_to_stop_list", "_selected_action": [call.pk], "post": "yes", "reason": "asked"}
    )
    assert not StopListEntry.objects.exists()
    assert client.post(reverse("admin:calls_call_stop_list", args=[call.pk]), {"post": "yes"}).status_code == 403


def test_the_button_on_a_call_asks_why_then_adds_it(operator_role_client, voice_message):
    call = make_call(voice_message, "79991234561")
    change_url = reverse("admin:calls_call_change", args=[call.pk])
    button_url = reverse("admin:calls_call_stop_list", args=[call.pk])
    assert button_url in text(operator_role_client.get(change_url))
    assert operator_role_client.get(button_url).status_code == 200 and not StopListEntry.objects.exists()  # asks again

    confirmation = operator_role_client.post(button_url)
    assert confirmation.status_code == 200 and not StopListEntry.objects.exists()
    assert 'name="reason"' in text(confirmation)
    response = operator_role_client.post(button_url, {"post": "yes", "reason": "complaint", "note": "shouted"})

    assert response.status_code == 302 and response["Location"] == change_url
    assert (listed("79991234561").reason, listed("79991234561").note) == ("complaint", "shouted")
    page = operator_role_client.get(change_url)
    assert "On the stop list" in text(page) and button_url not in text(page)


def test_a_number_put_on_the_list_from_its_call_after_recording_is_not_called(
    operator_role_client, voice_message, dummy_tasks, sandbox
):
    broadcast = queue(voice_message, ["79991234561", "79991234562"])
    call = broadcast.calls.get(destination="79991234561")

    operator_role_client.post(reverse("admin:calls_call_stop_list", args=[call.pk]), {"post": "yes", "reason": "asked"})
    send_queued_calls(broadcast.pk)

    rung = Counter(e["body"]["destination"] for e in sandbox.requests_log(MAKE) if e["status"] == 200)
    assert rung == {"79991234562": 1}
    call.refresh_from_db()
    assert call.state == CallState.SKIPPED and "stop list" in call.error
    assert Call.objects.get(destination="79991234562").state == CallState.SENT


def test_the_stop_list_pages_speak_russian(client, voice_message):
    client.force_login(make_staff("op", OPERATORS))
    russian = {"HTTP_ACCEPT_LANGUAGE": "ru-RU,ru;q=0.9"}
    call = make_call(voice_message, "79991234561")

    changelist = text(client.get(reverse(CHANGELIST), **russian))
    import_page = client.post(reverse(IMPORT), {"numbers": "12345", "reason": "asked"}, **russian)
    confirmation = text(client.post(reverse("admin:calls_call_stop_list", args=[call.pk]), **russian))

    assert "Загрузить номера…" in changelist and "Выгрузить в CSV" in changelist
    assert "Не внесены" in text(import_page) and "Слишком мало цифр" in text(import_page)
    assert "Да, больше не звонить" in confirmation


def test_stop_list_messages_read_as_russian_sentences(manager_role_client, settings):
    settings.LANGUAGE_CODE = "ru"
    manager_role_client.post(reverse(ADD), {"number": "+7 (999) 123-45-61", "reason": "asked", "note": ""})
    StopListEntry.objects.create(number="79991234562", reason="asked")
    StopListEntry.objects.create(number="79991234563", reason="asked")
    first = listed("79991234561")
    added = [str(m) for m in manager_role_client.get(reverse(CHANGELIST)).context["messages"]]
    bulk = {
        "action": "delete_selected",
        "post": "yes",
        "_selected_action": list(StopListEntry.objects.values_list("pk", flat=True)),
    }  # noqa: E501

    removed = manager_role_client.post(reverse(CHANGELIST), bulk, follow=True)

    assert added == ["Номер 79991234561 внесён в стоп-лист."]
    assert [str(m) for m in removed.context["messages"]] == ["Из стоп-листа убрано 3 номера."]
    assert not StopListEntry.objects.filter(pk=first.pk).exists()
