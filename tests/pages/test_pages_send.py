"""The send page: preview (valid, invalid with reasons, duplicates), confirm, one broadcast per form."""

import pytest
from django.urls import reverse

from calls.models import Broadcast, Call
from exolve_portal.exolve.sandbox import DEFAULT_MEDIA_IDS, SANDBOX_SOURCE_NUMBERS
from tests.factories import make_staff
from tests.factories_calls import IMMEDIATE_TASKS, MAKE, SOURCE, csv_upload, xlsx_upload
from tests.pages_helpers import confirmation, count_queries, send_preview

pytestmark = pytest.mark.django_db

URL = "portal:send"


def test_page_shows_the_fields_and_the_sandbox_hints(operator_page_client, voice_message):
    response = operator_page_client.get(reverse(URL), {"voice_message": voice_message.pk})
    page = response.content.decode()
    assert response.status_code == 200
    for element in ('id="id_voice_message"', 'id="id_source"', 'id="id_numbers"', 'id="id_file"', 'id="preview-send"'):
        assert element in page
    assert response.context["form"].initial["voice_message"] == str(voice_message.pk)
    # A newcomer sees what the sandbox accepts next to the fields.
    for number in SANDBOX_SOURCE_NUMBERS:
        assert number in page[page.index('id="sandbox-source-hint"') :][:300]
    hint = page[page.index('id="sandbox-media-hint"') :][:400]
    assert all(str(media_id) in hint for media_id in DEFAULT_MEDIA_IDS)


def test_no_sandbox_hints_with_the_real_service(operator_page_client, voice_message, settings):
    settings.EXOLVE_SANDBOX = False
    settings.EXOLVE_SOURCE_NUMBERS = ["74950000001"]
    page = operator_page_client.get(reverse(URL)).content.decode()
    assert "sandbox-source-hint" not in page and "sandbox-media-hint" not in page


def test_page_says_what_to_do_without_any_voice_message(operator_page_client, sandbox):
    page = operator_page_client.get(reverse(URL)).content.decode()
    assert 'id="no-voice-messages"' in page


def test_preview_lists_the_invalid_number_with_its_reason_and_records_nothing(
    operator_page_client, voice_message, sandbox
):
    response = send_preview(
        operator_page_client, voice_message, "+7 (999) 123-45-61\n12345\n8 999 123 45 61\n79991234562"
    )
    assert response.status_code == 200
    assert response.context["preview"].counts == {"valid": 2, "invalid": 1, "duplicates": 1}
    page = response.content.decode()
    invalid = page[page.index('id="invalid-numbers"') :]
    assert "<code>12345</code>" in invalid
    assert "Too few digits" in invalid  # the reason, in plain words
    assert 'id="confirm-send"' in page and "Send now to 2 numbers" in page
    assert not Broadcast.objects.exists()
    assert sandbox.count(MAKE) == 0  # a preview never calls anyone


def test_confirm_sends_once_and_a_double_submit_makes_one_broadcast(
    operator_page_client, operator_user, voice_message, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE_TASKS
    response = send_preview(operator_page_client, voice_message, "79991234561\nnot a number\n79991234566")
    data = confirmation(response)

    with django_capture_on_commit_callbacks(execute=True):
        sent = operator_page_client.post(reverse(URL), data)
    broadcast = Broadcast.objects.get()
    assert sent.status_code == 302 and sent.url == reverse("portal:broadcast", args=[broadcast.pk])
    assert broadcast.created_by == operator_user
    assert broadcast.invalid_numbers[0][0] == "not a number"
    assert sorted(sandbox.requests_log(MAKE)[i]["body"]["destination"] for i in range(2)) == [
        "79991234561",
        "79991234566",
    ]
    assert sandbox.count(MAKE) == 2

    # The same form again (double click, back and resubmit): no second broadcast, nobody called twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = operator_page_client.post(reverse(URL), data)
    assert again.status_code == 302 and again.url == sent.url
    assert Broadcast.objects.count() == 1 and Call.objects.count() == 2
    assert sandbox.count(MAKE) == 2
    page = operator_page_client.get(again.url).content.decode()
    assert "already sent" in page


def test_upload_is_previewed(operator_page_client, voice_message):
    response = send_preview(operator_page_client, voice_message, "", file=csv_upload("phone\n79991234561\nx\n"))
    assert response.context["preview"].counts == {"valid": 1, "invalid": 1, "duplicates": 0}
    response = send_preview(
        operator_page_client, voice_message, "", file=xlsx_upload([["Телефон"], ["+7 999 123-45-62"], [79991234563]])
    )
    assert response.context["preview"].valid == ["79991234562", "79991234563"]


def test_errors_keep_everything_typed(operator_page_client, voice_message):
    from django.core.files.uploadedfile import SimpleUploadedFile

    typed = "79991234561\n+7 999 123-45-62"
    response = send_preview(operator_page_client, voice_message, typed, file=SimpleUploadedFile("list.docx", b"x"))
    assert response.status_code == 200
    assert "Only CSV and XLSX" in str(response.context["form"].errors["file"])
    page = response.content.decode()
    assert typed in page  # the textarea still holds the numbers
    assert f'<option value="{voice_message.pk}" selected>' in page


def test_a_confirmation_that_fails_goes_back_with_the_numbers(operator_page_client, voice_message, dummy_tasks):
    response = send_preview(operator_page_client, voice_message, "79991234561\nwrong")
    data = confirmation(response)
    voice_message.delete()  # deleted by someone else meanwhile
    response = operator_page_client.post(reverse(URL), data)
    assert response.status_code == 200 and not Broadcast.objects.exists()
    page = response.content.decode()
    assert 'id="confirm-errors"' in page
    assert "79991234561" in page and "wrong" in page  # nothing typed is lost


def test_send_page_queries_do_not_grow_with_rows(operator_page_client, voice_message, dummy_tasks):
    from tests.pages_helpers import bulk_calls, make_broadcast

    bulk_calls(10, broadcast=make_broadcast(voice_message), voice_message=voice_message)
    _r, small_get = count_queries(operator_page_client, reverse(URL))
    numbers = "\n".join(f"7999123{n:04d}" for n in range(10))
    _r, small_preview = count_queries(
        operator_page_client,
        reverse(URL),
        {
            "voice_message": voice_message.pk,
            "source": SOURCE,
            "numbers": numbers,
            "token": "t1",
            "basis": "contract",
            "_preview": "1",
        },
        method="post",
    )
    bulk_calls(200, broadcast=make_broadcast(voice_message), voice_message=voice_message)
    numbers = "\n".join(f"7999123{n:04d}" for n in range(200))
    _r, large_get = count_queries(operator_page_client, reverse(URL))
    response, large_preview = count_queries(
        operator_page_client,
        reverse(URL),
        {
            "voice_message": voice_message.pk,
            "source": SOURCE,
            "numbers": numbers,
            "token": "t2",
            "basis": "contract",
            "_preview": "1",
        },
        method="post",
    )
    assert response.context["preview"].counts["valid"] == 200
    assert (large_get, large_preview) == (small_get, small_preview)


def test_confirm_query_count_does_not_grow_with_numbers(operator_page_client, voice_message, dummy_tasks):
    def confirm(count, token):
        numbers = "\n".join(f"7999123{n:04d}" for n in range(count))
        data = confirmation(send_preview(operator_page_client, voice_message, numbers, token=token))
        response, queries = count_queries(operator_page_client, reverse(URL), data, method="post")
        assert response.status_code == 302
        return queries

    assert confirm(10, "a") == confirm(200, "b")


def test_voice_message_form_shows_the_sandbox_media_ids(client, manager_user, sandbox):
    client.force_login(manager_user)
    page = client.get(reverse("admin:voicemessages_voicemessage_add")).content.decode()
    # The help says where the id comes from in the personal account, then the sandbox's ids.
    hint = page[page.index('id="id_media_id_helptext"') :][:1500]
    assert "Sandbox: use media id " + ", ".join(str(i) for i in DEFAULT_MEDIA_IDS) in hint


# --- The preview is stored; the confirmation sends the stored list ----------------------------


def test_confirm_sends_the_stored_preview_not_what_the_browser_posts(
    operator_page_client, operator_user, voice_message, dummy_tasks
):
    from calls.models import SendDraft

    response = send_preview(operator_page_client, voice_message, "79991234561\nnot a number\n89991234561")
    draft = SendDraft.objects.get(token="page-token-1")
    assert (draft.numbers, draft.duplicates, draft.created_by) == (["79991234561"], ["79991234561"], operator_user)
    data = confirmation(response)
    assert set(data) == {"voice_message", "source", "token", "_confirm"}
    # A tampered page: other numbers and another audit record posted alongside.
    data.update({"destinations": "79991234569", "invalid": "x\tforged", "duplicates": ""})
    assert operator_page_client.post(reverse(URL), data).status_code == 302
    broadcast = Broadcast.objects.get()
    assert list(broadcast.calls.values_list("destination", flat=True)) == ["79991234561"]
    assert broadcast.invalid_numbers == [["not a number", "This is not a phone number."]]
    assert broadcast.duplicate_numbers == ["79991234561"]


def test_confirm_refuses_a_missing_expired_or_someone_elses_preview(
    operator_page_client, voice_message, dummy_tasks, client
):
    from datetime import timedelta

    from calls.models import SendDraft

    data = confirmation(send_preview(operator_page_client, voice_message, "79991234561"))
    from exolve_portal.roles import OPERATORS

    other = client_for(make_staff("other-operator", OPERATORS))
    response = other.post(reverse(URL), data)  # another person's token
    assert response.status_code == 200 and "no longer available" in response.content.decode()
    SendDraft.objects.update(created_at=SendDraft.objects.get().created_at - timedelta(days=2))
    response = operator_page_client.post(reverse(URL), data)  # expired
    assert "no longer available" in response.content.decode()
    SendDraft.objects.all().delete()
    response = operator_page_client.post(reverse(URL), {**data, "token": "never-previewed"})
    assert "no longer available" in response.content.decode()
    assert not Broadcast.objects.exists()


def client_for(user):
    from django.test import Client

    other = Client()
    other.force_login(user)
    return other


def test_a_changed_list_under_a_used_token_is_a_new_broadcast(operator_page_client, voice_message, dummy_tasks):
    first = confirmation(send_preview(operator_page_client, voice_message, "79991234561"))
    operator_page_client.post(reverse(URL), first)
    # Back to the page, another list, the same form token: not the old broadcast.
    second = send_preview(operator_page_client, voice_message, "79991234562")
    data = confirmation(second)
    assert data["token"] != first["token"]
    assert f'value="{data["token"]}"' in second.content.decode()  # "change the list" carries the new token too
    operator_page_client.post(reverse(URL), data)
    assert [list(b.calls.values_list("destination", flat=True)) for b in Broadcast.objects.order_by("pk")] == [
        ["79991234561"],
        ["79991234562"],
    ]
    # The first list previewed and confirmed again with its own token: still its one broadcast.
    again = confirmation(send_preview(operator_page_client, voice_message, "79991234561", token=first["token"]))
    assert again["token"] == first["token"]
    operator_page_client.post(reverse(URL), again)
    assert Broadcast.objects.count() == 2


def test_a_reused_token_returns_its_broadcast_only_for_the_same_list(operator_page_client, voice_message, dummy_tasks):
    from calls.models import SendDraft

    data = confirmation(send_preview(operator_page_client, voice_message, "79991234561"))
    operator_page_client.post(reverse(URL), data)
    SendDraft.objects.update(numbers=["79991234562"])  # a draft that is not what made the broadcast
    response = operator_page_client.post(reverse(URL), data)
    assert response.status_code == 200 and "already used to send a different list" in response.content.decode()
    assert Broadcast.objects.count() == 1


def test_old_drafts_are_deleted_when_a_new_one_is_stored(operator_page_client, voice_message):
    from datetime import timedelta

    from calls.models import SendDraft

    send_preview(operator_page_client, voice_message, "79991234561", token="old")
    SendDraft.objects.update(created_at=SendDraft.objects.get().created_at - timedelta(days=1, minutes=1))
    send_preview(operator_page_client, voice_message, "79991234562", token="new")
    assert list(SendDraft.objects.values_list("token", flat=True)) == ["new"]


def test_every_bad_file_gets_a_form_error_on_the_page(operator_page_client, voice_message, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.audiences.test_calls_phones import bad_files

    settings.EXOLVE_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    for name, data, message in bad_files():
        response = send_preview(operator_page_client, voice_message, "79991234561", file=SimpleUploadedFile(name, data))
        assert response.status_code == 200, name
        assert message in str(response.context["form"].errors["file"]), name
        assert "79991234561" in response.content.decode()  # what was typed stays


def test_a_cell_with_two_numbers_and_an_extension_on_the_page(operator_page_client, voice_message):
    upload = xlsx_upload([["phone"], ["79991234571;79991234572"], ["79991234573 доб. 12"], ["=A2"]])
    response = send_preview(operator_page_client, voice_message, "", file=upload)
    assert response.context["preview"].valid == ["79991234571", "79991234572"]
    page = response.content.decode()
    invalid = page[page.index('id="invalid-numbers"') :]
    assert "79991234573 доб. 12" in invalid and "extension" in invalid
    assert "=A2" in invalid and "formula" in invalid


ZONE_FILE_ROWS = [
    ["Телефон", "Часовой пояс"],
    ["79991234561", "Asia/Vladivostok"],  # a mobile number: the file's zone
    ["74951234560", "Asia/Vladivostok"],  # a Moscow landline: the numbering plan's zone wins
    ["79991234562", "Mars/Olympus"],  # not a zone: the broadcast's zone
    ["79991234563", ""],
]


@pytest.mark.parametrize(
    "upload",
    [
        lambda: csv_upload("\n".join(",".join(row) for row in ZONE_FILE_ROWS) + "\n"),
        lambda: xlsx_upload(ZONE_FILE_ROWS),
    ],
    ids=["csv", "xlsx"],
)
def test_a_time_zone_column_of_the_file_gives_the_callees_zones(
    operator_page_client, voice_message, dummy_tasks, upload
):
    response = send_preview(operator_page_client, voice_message, "", file=upload(), time_zone="Europe/Samara")
    form = response.context["form"]
    assert response.context["preview"].valid == ["79991234561", "74951234560", "79991234562", "79991234563"]
    rows = {row.zone: (row.count, row.from_number) for row in form.zone_starts}
    assert rows == {"Asia/Vladivostok": (1, True), "Europe/Moscow": (1, True), "Europe/Samara": (2, False)}
    text = response.content.decode()
    assert 'data-zone="Asia/Vladivostok"' in text and 'data-zone="Europe/Samara"' in text

    sent = operator_page_client.post(reverse(URL), confirmation(response))
    assert sent.status_code == 302
    zones = dict(Call.objects.values_list("destination", "time_zone"))
    assert zones == {
        "79991234561": "Asia/Vladivostok",
        "74951234560": "Europe/Moscow",
        "79991234562": "",
        "79991234563": "",
    }
    assert Broadcast.objects.get().time_zone == "Europe/Samara"


def test_a_file_without_a_time_zone_column_reads_as_before():
    from audiences.uploads import read_numbers_and_zones

    values, zones = read_numbers_and_zones(csv_upload("phone,city\n79991234561,Asia/Vladivostok\n"))
    assert values == ["79991234561"] and zones == {}
    values, zones = read_numbers_and_zones(csv_upload("tz;phone\nEurope/Kaliningrad;+7 999 123-45-61\n"))
    assert values == ["+7 999 123-45-61"] and zones == {"+7 999 123-45-61": "Europe/Kaliningrad"}
