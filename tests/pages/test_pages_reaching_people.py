"""Reaching people on the staff pages: retries and purpose on the send form, the stop list and the
per-number limits in the preview, the broadcast page's attempts, the resend of no answer
and busy, and the send_voicemessage options.

Through the real entry points (the test client, call_command) against the sandbox (a
destination ending in 6 gets no answer there, 7 is busy); counted at the sandbox.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from audiences.models import StopListEntry
from audiences.phones import display_number
from calls.models import Broadcast, Call, CallState, Purpose
from calls.sending import send_queued_calls
from tests.factories_calls import ANSWERS, BUSY, NO_ANSWER, SOURCE, finish_calls, rung
from tests.pages_helpers import confirmation, count_queries, send_preview

pytestmark = pytest.mark.django_db

URL = "portal:send"


def called_earlier(number, count=1):
    """`count` calls to `number` claimed a moment ago (they count against the per-number limits)."""
    now = timezone.now()
    for _ in range(count):
        Call.objects.create(
            service_id="svc-1", source=SOURCE, destination=number, state=CallState.FINISHED, claimed_at=now
        )


# --- the send form ---------------------------------------------------------------------------------


def test_the_form_shows_retries_and_purpose_with_the_settings_defaults(operator_page_client, voice_message, settings):
    settings.EXOLVE_RETRIES = 2
    settings.EXOLVE_RETRY_AFTER_MINUTES = 45
    response = operator_page_client.get(reverse(URL))
    page = response.content.decode()
    for element in ('id="id_retries"', 'id="id_retry_after_minutes"', 'id="id_retry_failed"', 'id="id_purpose"'):
        assert element in page
    assert 'id="id_consent_confirmed"' not in page and 'value="advertising"' not in page  # never offered
    assert 'name="basis"' in page
    form = response.context["form"]
    assert form["retries"].value() == 2 and form["retry_after_minutes"].value() == 45
    assert form["purpose"].value() == Purpose.INFORMATION


def test_retries_and_purpose_travel_through_preview_and_confirm_into_the_broadcast(
    operator_page_client, voice_message, dummy_tasks
):
    response = send_preview(
        operator_page_client,
        voice_message,
        f"{NO_ANSWER}\n{BUSY}",
        retries="3",
        retry_after_minutes="20",
        retry_failed="on",
        purpose="reminder",
        basis="consent",
    )
    assert response.status_code == 200 and response.context["preview"] is not None
    page = response.content.decode()
    assert 'id="plan-retries"' in page and "20" in page[page.index('id="plan-retries"') :][:300]
    assert "reminder" in page[page.index('id="plan-purpose"') :][:200]
    assert "consent" in page[page.index('id="plan-basis"') :][:200]

    sent = operator_page_client.post(reverse(URL), confirmation(response))
    assert sent.status_code == 302
    broadcast = Broadcast.objects.get()
    assert (broadcast.retries, broadcast.retry_after_minutes, broadcast.retry_failed) == (3, 20, True)
    assert (broadcast.purpose, broadcast.basis) == (Purpose.REMINDER, "consent")
    # The audit trail says what it was for, and why these people may be called.
    from django.contrib.admin.models import LogEntry

    logged = LogEntry.objects.get(object_id=str(broadcast.pk)).change_message
    assert "purpose: reminder" in logged and "basis: the recipients' consent" in logged


def test_defaults_come_from_the_settings_when_the_fields_are_left_out(
    operator_page_client, voice_message, dummy_tasks, settings
):
    settings.EXOLVE_RETRIES = 1
    settings.EXOLVE_RETRY_AFTER_MINUTES = 15
    response = send_preview(operator_page_client, voice_message, NO_ANSWER)
    operator_page_client.post(reverse(URL), confirmation(response))
    broadcast = Broadcast.objects.get()
    assert (broadcast.retries, broadcast.retry_after_minutes, broadcast.retry_failed) == (1, 15, False)
    assert (broadcast.purpose, broadcast.consent_confirmed) == (Purpose.INFORMATION, False)


def test_too_many_retries_are_a_form_error(operator_page_client, voice_message):
    response = send_preview(operator_page_client, voice_message, NO_ANSWER, retries="6")
    assert response.context["preview"] is None and "retries" in response.context["form"].errors


# --- the preview: stop list and per-number limits --------------------------------------------------


def test_preview_lists_stop_listed_and_over_limit_numbers_and_does_not_count_them(
    operator_page_client, voice_message, dummy_tasks, sandbox, settings
):
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY = 1
    StopListEntry.objects.create(number=BUSY)
    called_earlier(ANSWERS)
    response = send_preview(operator_page_client, voice_message, f"{NO_ANSWER}\n{BUSY}\n{ANSWERS}")
    form = response.context["form"]
    assert form.stop_listed == [BUSY] and list(form.over_limit) == [ANSWERS]
    assert form.calls_to_make == 1
    page = response.content.decode()
    assert "1 number will be called" in page
    assert "On the stop list, will not be called" in page
    assert display_number(BUSY) in page[page.index('id="stop-listed-numbers"') :][:200]
    assert display_number(ANSWERS) in page[page.index('id="over-limit-numbers"') :][:300]
    assert "as often as allowed today" in page
    assert sum(row.count for row in form.zone_starts) == 1

    # Confirmed: the stop-listed number is recorded as skipped; nobody over the limit rings.
    operator_page_client.post(reverse(URL), confirmation(response))
    broadcast = Broadcast.objects.get()
    send_queued_calls(broadcast.pk)
    assert rung(sandbox) == {NO_ANSWER: 1}
    assert broadcast.calls.get(destination=BUSY).state == CallState.SKIPPED
    assert broadcast.calls.get(destination=ANSWERS).state == CallState.SKIPPED


def test_the_stop_list_check_of_the_preview_does_not_grow_with_the_list(operator_page_client, voice_message):
    def queries(count, token):
        numbers = "\n".join(f"7999{n:07d}" for n in range(count))
        data = {
            "voice_message": voice_message.pk,
            "source": SOURCE,
            "numbers": numbers,
            "token": token,
            "basis": "contract",
        }
        response, n = count_queries(operator_page_client, reverse(URL), {**data, "_preview": "1"}, method="post")
        assert response.context["preview"].counts["valid"] == count
        return n

    StopListEntry.objects.bulk_create(StopListEntry(number=f"7999{n:07d}") for n in range(0, 2000, 2))
    small, large = queries(10, "q1"), queries(1800, "q2")
    assert large - small <= 2  # chunks of 900 numbers: one more query per chunk


# --- the broadcast page -------------------------------------------------------------------------------


def retried_broadcast(client, voice_message, sandbox, rounds):
    response = send_preview(
        client, voice_message, f"{NO_ANSWER}\n{BUSY}\n{ANSWERS}", retries="2", retry_after_minutes="0"
    )
    client.post(reverse(URL), confirmation(response))
    broadcast = Broadcast.objects.get()
    for _ in range(rounds):
        send_queued_calls(broadcast.pk)
        finish_calls(sandbox, broadcast)
    return broadcast


@pytest.mark.usefixtures("instant_retries")
def test_the_broadcast_page_shows_purpose_retries_and_the_outcome_per_attempt_and_per_person(
    operator_page_client, voice_message, dummy_tasks, sandbox
):
    broadcast = retried_broadcast(operator_page_client, voice_message, sandbox, rounds=3)
    assert rung(sandbox) == {NO_ANSWER: 3, BUSY: 3, ANSWERS: 1}
    response = operator_page_client.get(reverse("portal:broadcast", args=[broadcast.pk]))
    page = response.content.decode()
    assert "Information" in page[page.index('id="broadcast-purpose"') :][:200]
    assert "up to 2 more times, 0 minutes apart" in page[page.index('id="broadcast-retries"') :][:300]
    attempts = {attempt: total for attempt, _counts, total in response.context["attempts"]["attempts"]}
    assert attempts == {1: 3, 2: 2, 3: 2}
    people = {outcome: count for _label, outcome, count in response.context["attempts"]["people"]}
    assert response.context["attempts"]["people_total"] == 3
    assert (people["completed"], people["no_answer"], people["busy"]) == (1, 1, 1)
    assert 'id="attempt-3"' in page


@pytest.mark.usefixtures("instant_retries")
def test_the_broadcast_page_queries_do_not_grow_with_attempts(
    operator_page_client, voice_message, dummy_tasks, sandbox
):
    broadcast = retried_broadcast(operator_page_client, voice_message, sandbox, rounds=1)
    url = reverse("portal:broadcast", args=[broadcast.pk])
    _r, before = count_queries(operator_page_client, url)
    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)
    send_queued_calls(broadcast.pk)
    _r, after = count_queries(operator_page_client, url)
    assert after == before


def test_resend_of_no_answer_and_busy_asks_then_sends_once(operator_page_client, voice_message, dummy_tasks, sandbox):
    response = send_preview(operator_page_client, voice_message, f"{NO_ANSWER}\n{BUSY}\n{ANSWERS}")
    operator_page_client.post(reverse(URL), confirmation(response))
    broadcast = Broadcast.objects.get()
    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)
    page = operator_page_client.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert 'id="resend-no-answer-busy"' in page

    url = reverse("portal:broadcast_resend", args=[broadcast.pk])
    asked = operator_page_client.post(url)
    assert asked.status_code == 200 and asked.context["count"] == 2
    assert Broadcast.objects.count() == 1

    done = operator_page_client.post(url, {"confirmed": "yes"})
    assert done.status_code == 302
    again = operator_page_client.post(url, {"confirmed": "yes"})  # Back and submit again, a double click
    assert again.status_code == 302
    assert Broadcast.objects.count() == 2
    resend = Broadcast.objects.exclude(pk=broadcast.pk).get()
    assert done.url == reverse("portal:broadcast", args=[resend.pk])
    send_queued_calls(resend.pk)
    assert rung(sandbox) == {NO_ANSWER: 2, BUSY: 2, ANSWERS: 1}
    page = operator_page_client.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert 'id="resend-no-answer-busy"' not in page


def test_resend_needs_the_send_permission(client, django_user_model, voice_message):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_call", "view_broadcast"]))
    client.force_login(viewer)
    broadcast = Broadcast.objects.create(service_id="svc", source=SOURCE, token="t")
    assert client.post(reverse("portal:broadcast_resend", args=[broadcast.pk])).status_code == 403
    assert client.get(reverse("portal:broadcast_resend", args=[broadcast.pk])).status_code in (403, 405)


@pytest.mark.usefixtures("instant_retries")
def test_the_dashboard_admin_and_export_show_the_purpose_and_the_attempt(
    operator_page_client, admin_client, voice_message, dummy_tasks, sandbox
):
    broadcast = retried_broadcast(operator_page_client, voice_message, sandbox, rounds=2)
    Broadcast.objects.filter(pk=broadcast.pk).update(purpose=Purpose.REMINDER)
    page = admin_client.get(reverse("portal:dashboard")).content.decode()
    assert "Reminder" in page[page.index(f'id="broadcast-row-{broadcast.pk}"') :][:800]
    admin_page = admin_client.get(reverse("admin:calls_broadcast_changelist")).content.decode()
    assert "reminder" in admin_page.lower()
    export = admin_client.get(reverse("portal:calls_export_csv"), {"broadcast": broadcast.pk})
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert "attempt" in header and "purpose" in header
    rows = [line.split(",") for line in lines[1:]]
    assert {row[header.index("purpose")] for row in rows} == {"reminder"}
    # Two rounds: first and second attempts made, the third ones queued.
    assert sorted(row[header.index("attempt")] for row in rows) == ["1", "1", "1", "2", "2", "3", "3"]


# --- send_voicemessage ----------------------------------------------------------------------------------


def send_voicemessage(voice_message, *options, **kwargs):
    """`manage.py send_voicemessage` of `voice_message` from the sandbox's number, with `options`."""
    call_command(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        *options,
        **kwargs,
    )


def test_send_voicemessage_takes_retries_and_purpose(voice_message, dummy_tasks):
    send_voicemessage(
        voice_message,
        "--to",
        NO_ANSWER,
        "--retries",
        "2",
        "--retry-after",
        "10",
        "--retry-failed",
        "--purpose",
        "reminder",
    )
    broadcast = Broadcast.objects.get()
    assert (broadcast.retries, broadcast.retry_after_minutes, broadcast.retry_failed) == (2, 10, True)
    assert (broadcast.purpose, broadcast.basis) == (Purpose.REMINDER, "contract")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--retries", "6"], "--retries"),
        (["--retries", "-1"], "--retries"),
        (["--retry-after", "-5"], "--retry-after"),
        (["--purpose", "advertising"], "38-FZ"),
        (["--purpose", "spam"], "--purpose"),
    ],
)
def test_send_voicemessage_refuses_bad_options_clearly(voice_message, dummy_tasks, options, message):
    with pytest.raises(CommandError, match=message):
        send_voicemessage(voice_message, "--to", ANSWERS, *options)
    assert not Broadcast.objects.exists()


@pytest.mark.usefixtures("instant_retries")
def test_send_voicemessage_wait_follows_the_retries_counted_at_the_sandbox(
    voice_message, dummy_tasks, sandbox, settings
):
    settings.EXOLVE_CALLING_HOURS = "any"
    settings.EXOLVE_REFRESH_FIRST_DELAY = 0.1
    settings.EXOLVE_REFRESH_MAX_DELAY = 0.2
    sandbox.set_lifecycle(0.5)
    send_voicemessage(
        voice_message,
        "--to",
        NO_ANSWER,
        "--to",
        ANSWERS,
        "--retries",
        "1",
        "--retry-after",
        "0",
        "--wait",
        "--poll",
        "0.2",
        "--timeout",
        "30",
        stdout=io.StringIO(),
    )
    assert rung(sandbox) == {NO_ANSWER: 2, ANSWERS: 1}
