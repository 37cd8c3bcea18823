"""Reaching people without harassing them: retries, deliberate resends, the stop list, limits, purpose.

Through the recording, the real send loop and the statistics refresh, against the
sandbox (a destination ending in 6 gets no answer there, 7 is busy); counted at the sandbox.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from audiences import stop_list
from audiences.models import StopListEntry
from calls import steering
from calls.models import Call, CallState
from calls.recording import SendPlan, create_broadcast, resend_calls
from calls.sending import send_queued_calls
from calls.statistics import refresh_calls
from tests.factories_calls import ANSWERS, BUSY, MAKE, NO_ANSWER, SOURCE, finish_calls, rung

pytestmark = pytest.mark.django_db


def send(voice_message, numbers, token, **plan):
    return create_broadcast(voice_message, SOURCE, numbers, None, token, plan=SendPlan(**plan))


# --- automatic retries ---------------------------------------------------------------------------


@pytest.mark.usefixtures("instant_retries")
def test_no_answer_and_busy_are_called_again_up_to_n_more_times_then_never(voice_message, dummy_tasks, sandbox):
    broadcast = send(voice_message, [NO_ANSWER, BUSY, ANSWERS], "retry", retries=2, retry_after_minutes=0)

    for _attempt in range(4):  # more rounds than retries: the third attempt is the last
        send_queued_calls(broadcast.pk)
        finish_calls(sandbox, broadcast)

    assert rung(sandbox) == {NO_ANSWER: 3, BUSY: 3, ANSWERS: 1}
    attempts = sorted(broadcast.calls.filter(destination=NO_ANSWER).values_list("attempt", flat=True))
    assert attempts == [1, 2, 3]
    first = broadcast.calls.get(destination=NO_ANSWER, attempt=1)
    retries = broadcast.calls.filter(destination=NO_ANSWER, attempt__gt=1)
    assert set(retries.values_list("first_attempt", flat=True)) == {first.pk}


@pytest.mark.usefixtures("instant_retries")
def test_a_second_refresh_of_the_same_final_call_creates_no_second_retry(voice_message, dummy_tasks, sandbox):
    broadcast = send(voice_message, [NO_ANSWER], "twice", retries=3, retry_after_minutes=0)
    send_queued_calls(broadcast.pk)
    sandbox.advance(60)
    stale_a = list(Call.objects.filter(broadcast=broadcast))  # two workers, each with its copy
    stale_b = list(Call.objects.filter(broadcast=broadcast))

    first = refresh_calls(stale_a)
    second = refresh_calls(stale_b)

    assert first.retries == 1 and second.retries == 0
    assert broadcast.calls.filter(attempt=2).count() == 1  # the database constraint, not a hope


@pytest.mark.usefixtures("instant_retries")
def test_failed_calls_are_retried_only_when_asked(voice_message, dummy_tasks, sandbox):
    failed = "79991234568"
    without = send(voice_message, [failed], "no-failed", retries=1, retry_after_minutes=0)
    send_queued_calls(without.pk)
    assert finish_calls(sandbox, without).retries == 0
    with_failed = send(
        voice_message, ["79991234578"], "failed-too", retries=1, retry_after_minutes=0, retry_failed=True
    )
    send_queued_calls(with_failed.pk)
    assert finish_calls(sandbox, with_failed).retries == 1


@pytest.mark.usefixtures("instant_retries")
def test_no_retry_for_unknown_rejected_or_after_a_stop(voice_message, dummy_tasks, sandbox):
    broadcast = send(voice_message, [NO_ANSWER, "79991234576"], "stopped", retries=2, retry_after_minutes=0)
    sandbox.add_fault("lost_response", endpoint=MAKE, times=1)  # one call ends unknown
    send_queued_calls(broadcast.pk, max_in_flight=1)
    steering.stop(broadcast, None)
    finish_calls(sandbox, broadcast)

    assert not broadcast.calls.filter(attempt__gt=1).exists()
    assert Counter(broadcast.calls.values_list("state", flat=True))[CallState.UNKNOWN] == 1


def test_a_retry_waits_its_interval_then_for_calling_hours(voice_message, dummy_tasks, sandbox, monkeypatch):
    moment = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 20:30 in Moscow
    monkeypatch.setattr(timezone, "now", lambda: moment)
    broadcast = send(
        voice_message, [NO_ANSWER], "hours", retries=1, retry_after_minutes=60, calling_hours="09:00-21:00"
    )
    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)

    retry = broadcast.calls.get(attempt=2)
    # An hour later is 21:30 in Moscow: outside the window, so 09:00 the next morning.
    assert retry.not_before == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert retry.state == CallState.QUEUED


# --- deliberate resend of no answer and busy ---------------------------------------------------------


def test_no_answer_and_busy_can_be_resent_once(voice_message, dummy_tasks, sandbox):
    broadcast = send(voice_message, [NO_ANSWER, BUSY, ANSWERS], "resend")
    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)
    calls = list(broadcast.calls.all())

    first = resend_calls(calls, None)
    again = resend_calls(calls, None)

    assert first.queued == 2 and again.queued == 0
    assert sorted(c.destination for c in again.already_resent) == [NO_ANSWER, BUSY]


# --- the stop list ------------------------------------------------------------------------------------


def test_a_number_on_the_stop_list_is_recorded_skipped_with_the_reason(voice_message, dummy_tasks, sandbox):
    stop_list.add([BUSY], reason="complaint")
    broadcast = send(voice_message, [BUSY, ANSWERS], "listed")

    send_queued_calls(broadcast.pk)

    skipped = broadcast.calls.get(destination=BUSY)
    assert skipped.state == CallState.SKIPPED and "stop list" in skipped.error
    assert rung(sandbox) == {ANSWERS: 1}


def test_a_number_added_after_recording_is_not_called(voice_message, dummy_tasks, sandbox):
    broadcast = send(voice_message, [BUSY, ANSWERS], "added-later")
    StopListEntry.objects.create(number=BUSY, reason="asked")

    send_queued_calls(broadcast.pk)

    assert rung(sandbox) == {ANSWERS: 1}
    assert broadcast.calls.get(destination=BUSY).state == CallState.SKIPPED


# --- per-number limits ------------------------------------------------------------------------------


def test_two_overlapping_broadcasts_respect_the_daily_cap(voice_message, dummy_tasks, sandbox, settings):
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY = 1
    numbers = [ANSWERS, BUSY]
    first = send(voice_message, numbers, "first")
    second = send(voice_message, numbers, "second")

    send_queued_calls(first.pk)
    send_queued_calls(second.pk)

    assert rung(sandbox) == {ANSWERS: 1, BUSY: 1}
    assert set(second.calls.values_list("state", flat=True)) == {CallState.SKIPPED}
    assert "today" in second.calls.first().error


@pytest.mark.usefixtures("instant_retries")
def test_retries_count_against_the_weekly_cap(voice_message, dummy_tasks, sandbox, settings):
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_WEEK = 2
    broadcast = send(voice_message, [NO_ANSWER], "weekly", retries=5, retry_after_minutes=0)
    for _round in range(4):
        send_queued_calls(broadcast.pk)
        finish_calls(sandbox, broadcast)
    assert rung(sandbox) == {NO_ANSWER: 2}
    assert broadcast.calls.filter(state=CallState.SKIPPED).count() == 1


def test_old_calls_do_not_count(voice_message, dummy_tasks, sandbox, settings):
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY = 1
    earlier = send(voice_message, [ANSWERS], "yesterday")
    send_queued_calls(earlier.pk)
    earlier.calls.update(claimed_at=timezone.now() - timedelta(days=2))
    today = send(voice_message, [ANSWERS], "today")
    send_queued_calls(today.pk)
    assert rung(sandbox) == {ANSWERS: 2}
