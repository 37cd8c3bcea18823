"""Sending: each call reaches Exolve at most once, and every outcome is recorded with its reason."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Broadcast, Call, CallState
from calls.recording import SendRefused, create_broadcast, resend_calls
from calls.sending import send_queued_calls, sweep_stale_sending
from exolve_portal.exolve_connection import get_client
from tests.factories_calls import MAKE, SOURCE, queue, states

# Each test runs in each error-body shape the live API has been seen to use.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("error_shape")]

NUMBERS = ["79991234561", "79991234562", "79991234563"]


def test_broadcast_records_one_queued_call_per_distinct_number(voice_message, dummy_tasks):
    broadcast = queue(voice_message, ["+7 (999) 123-45-61", "8 999 123 45 61", "79991234562"])
    assert broadcast.created_now
    assert states(broadcast) == {"79991234561": "queued", "79991234562": "queued"}
    call = broadcast.calls.first()
    assert call.service_id == voice_message.exolve_id
    assert call.voice_message == voice_message
    assert broadcast.voice_message_name == "Greeting"


def test_same_token_makes_one_broadcast(voice_message, dummy_tasks):
    first = create_broadcast(voice_message, SOURCE, NUMBERS, None, "token-1")
    second = create_broadcast(voice_message, SOURCE, NUMBERS, None, "token-1")
    assert first.pk == second.pk and not second.created_now
    assert Broadcast.objects.count() == 1
    assert Call.objects.count() == 3


def test_request_only_enqueues_on_commit(voice_message, dummy_tasks, django_capture_on_commit_callbacks, sandbox):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queue(voice_message, NUMBERS)
    assert len(callbacks) == 1
    assert sandbox.count(MAKE) == 0  # nothing sent inside the request


def test_broadcast_is_sent_in_the_background(
    voice_message, immediate_tasks, django_capture_on_commit_callbacks, sandbox
):
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = queue(voice_message, NUMBERS)
    assert set(states(broadcast).values()) == {"sent"}
    assert sandbox.count(MAKE) == 3
    sent_to = sorted(entry["body"]["destination"] for entry in sandbox.requests_log(MAKE))
    assert sent_to == NUMBERS
    call = broadcast.calls.first()
    assert call.call_id in sandbox.calls()
    assert call.sent_at is not None and call.next_refresh_at > call.sent_at


@pytest.mark.parametrize(
    "reason",
    ["not one of the team", "no valid numbers", "%(number)s"],
)
def test_refusals_before_anything_is_recorded(voice_message, dummy_tasks, reason):
    cases = {
        "not one of the team": ("74990000000", NUMBERS),
        "no valid numbers": (SOURCE, []),
        "%(number)s": (SOURCE, ["nonsense"]),
    }
    source, numbers = cases[reason]
    with pytest.raises(SendRefused):
        create_broadcast(voice_message, source, numbers, None, "t")
    assert not Broadcast.objects.exists()


def test_missing_at_exolve_voice_message_cannot_be_sent(voice_message, dummy_tasks):
    voice_message.missing_since = timezone.now()
    with pytest.raises(SendRefused, match="no longer exists at Exolve"):
        queue(voice_message, NUMBERS)


def test_queued_calls_of_a_voice_message_deleted_meanwhile_are_rejected_not_sent(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS)
    voice_message.delete()  # deletes it at Exolve too; calls keep their history
    send_queued_calls(broadcast.pk)
    assert set(states(broadcast).values()) == {"rejected"}
    assert "deleted" in broadcast.calls.first().error
    assert sandbox.count(MAKE) == 0
    assert Broadcast.objects.filter(pk=broadcast.pk).exists()


def test_queued_calls_of_a_voice_message_found_missing_meanwhile_are_rejected(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS)
    type(voice_message).objects.filter(pk=voice_message.pk).update(missing_since=timezone.now())
    send_queued_calls(broadcast.pk)
    assert set(states(broadcast).values()) == {"rejected"}
    assert sandbox.count(MAKE) == 0


def test_voice_message_gone_at_exolve_without_the_portal_knowing(voice_message, dummy_tasks, sandbox):
    get_client().delete_voice_message(voice_message.exolve_id)
    broadcast = queue(voice_message, NUMBERS[:1])
    send_queued_calls(broadcast.pk)
    call = broadcast.calls.get()
    assert call.state == "rejected"
    assert "invalid" in call.error
    assert sandbox.count(MAKE) == 1


# --- Documented refusals -----------------------------------------------------------


def test_trial_account_rejects_unconfirmed_numbers_only(voice_message, dummy_tasks, sandbox):
    sandbox.set_trial(True, confirmed_numbers=["79991234561"])
    broadcast = queue(voice_message, NUMBERS[:2])
    send_queued_calls(broadcast.pk)
    calls = {c.destination: c for c in broadcast.calls.all()}
    assert calls["79991234561"].state == "sent"
    assert calls["79991234562"].state == "rejected"
    assert "trial" in calls["79991234562"].error
    assert sandbox.count(MAKE) == 2


def test_blocked_account_rejects_with_the_reason(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS[:1])
    sandbox.set_blocked(True)
    send_queued_calls(broadcast.pk)
    call = broadcast.calls.get()
    assert call.state == "rejected" and "not active" in call.error


def test_bad_api_key_rejects_with_the_reason(http_voice_message, dummy_tasks, sandbox_http, settings):
    broadcast = queue(http_voice_message, NUMBERS[:1])
    settings.EXOLVE_API_KEY = "wrong-key"
    send_queued_calls(broadcast.pk)
    call = broadcast.calls.get()
    assert call.state == "rejected" and "API key" in call.error
    assert sandbox_http.sandbox.count(MAKE) == 1


# --- Transport faults ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "extra", "applied"),
    [
        ("timeout", {}, True),
        ("lost_response", {}, True),  # succeeded at Exolve, the answer never came back
        ("malformed", {}, True),
        ("bad_shape", {}, True),
        ("drop", {}, False),
        ("http_error", {"status": 502}, False),
    ],
)
def test_outcome_that_cannot_be_known_is_unknown_and_never_resent(
    voice_message, dummy_tasks, sandbox, kind, extra, applied
):
    broadcast = queue(voice_message, NUMBERS[:1])
    sandbox.add_fault(kind, endpoint=MAKE, times=None, **extra)
    send_queued_calls(broadcast.pk)
    call = broadcast.calls.get()
    assert call.state == "unknown"
    assert call.error and call.call_id is None
    assert sandbox.count(MAKE) == 1  # exactly one request: not retried
    assert len(sandbox.calls()) == (1 if applied else 0)
    send_queued_calls(broadcast.pk)  # a task that runs again does not send it either
    assert sandbox.count(MAKE) == 1


def test_documented_500_customer_status_is_rejected_nothing_done(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS[:1])
    sandbox.add_fault("http_error", endpoint=MAKE, times=None, status=500)
    send_queued_calls(broadcast.pk)
    call = broadcast.calls.get()
    assert call.state == "rejected"
    assert "account" in call.error
    assert sandbox.count(MAKE) == 1


def test_connection_refused_is_retried_by_the_client_then_rejected_as_not_sent(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS[:1])
    sandbox.add_fault("connect_refused", endpoint=MAKE, times=None)
    send_queued_calls(broadcast.pk)
    call = broadcast.calls.get()
    assert call.state == "rejected"
    assert "Nothing was sent" in call.error
    assert sandbox.count(MAKE) == 0 and not sandbox.calls()


def test_connection_refused_once_then_sent(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS[:1])
    sandbox.add_fault("connect_refused", endpoint=MAKE, times=1)
    send_queued_calls(broadcast.pk)
    assert broadcast.calls.get().state == "sent"
    assert sandbox.count(MAKE) == 1


def test_timeout_over_real_http_is_unknown_and_sent_once(http_voice_message, dummy_tasks, sandbox_http):
    broadcast = queue(http_voice_message, NUMBERS[:1])
    sandbox_http.sandbox.add_fault("timeout", endpoint=MAKE, seconds=3)
    send_queued_calls(broadcast.pk)
    call = broadcast.calls.get()
    assert call.state == "unknown" and "did not answer in time" in call.error
    assert sandbox_http.sandbox.count(MAKE) == 1


def test_lost_response_over_real_http_is_unknown_and_sent_once(http_voice_message, dummy_tasks, sandbox_http):
    broadcast = queue(http_voice_message, NUMBERS[:2])
    sandbox_http.sandbox.add_fault("lost_response", endpoint=MAKE, times=1)
    send_queued_calls(broadcast.pk, max_in_flight=1)
    assert sorted(states(broadcast).values()) == ["sent", "unknown"]
    assert sandbox_http.sandbox.count(MAKE) == 2
    assert len(sandbox_http.sandbox.calls()) == 2  # both rang; one answer was lost


# --- Exactly once --------------------------------------------------------------------


def test_rerun_task_sends_nothing_twice(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS)
    send_queued_calls(broadcast.pk)
    send_queued_calls(broadcast.pk)
    send_queued_calls(None)
    assert sandbox.count(MAKE) == 3


def test_many_calls_with_faults_mixed_in(voice_message, dummy_tasks, sandbox):
    numbers = [f"7999123{n:04d}" for n in range(60)]
    broadcast = queue(voice_message, numbers)
    sandbox.add_fault("lost_response", endpoint=MAKE, times=3)
    summary = send_queued_calls(broadcast.pk, max_in_flight=7)
    assert summary.counts == {"sent": 57, "unknown": 3}
    assert sandbox.count(MAKE) == 60
    assert Call.objects.filter(call_id__isnull=False).count() == 57


def test_killed_worker_calls_become_unknown_and_are_not_resent(voice_message, dummy_tasks, sandbox, settings):
    broadcast = queue(voice_message, NUMBERS)
    # A worker took two calls and died before writing what happened.
    Call.objects.filter(destination__in=NUMBERS[:2]).update(
        state=CallState.SENDING, claimed_at=timezone.now() - timedelta(minutes=10), claimed_by="dead"
    )
    send_queued_calls(broadcast.pk)  # sweeps first, then sends only what is still queued
    assert states(broadcast) == {NUMBERS[0]: "unknown", NUMBERS[1]: "unknown", NUMBERS[2]: "sent"}
    assert "worker stopped" in Call.objects.get(destination=NUMBERS[0]).error
    assert sandbox.count(MAKE) == 1


def test_recent_sending_calls_are_left_to_their_worker(voice_message, dummy_tasks):
    queue(voice_message, NUMBERS[:1])
    Call.objects.update(state=CallState.SENDING, claimed_at=timezone.now(), claimed_by="alive")
    assert sweep_stale_sending() == 0
    assert Call.objects.get().state == "sending"


def test_resend_creates_new_calls_and_keeps_the_old_ones(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS[:2])
    sandbox.add_fault("lost_response", endpoint=MAKE, times=None)
    send_queued_calls(broadcast.pk)
    sandbox.clear_faults()
    old = list(Call.objects.filter(state="unknown"))
    [again] = resend_calls(old, None).broadcasts
    send_queued_calls(again.pk)
    assert states(again) == {NUMBERS[0]: "sent", NUMBERS[1]: "sent"}
    assert set(states(broadcast).values()) == {"unknown"}
    assert {c.resend_of_id for c in again.calls.all()} == {c.pk for c in old}
    assert sandbox.count(MAKE) == 4


def test_a_call_is_resent_at_most_once(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS[:2])
    sandbox.add_fault("lost_response", endpoint=MAKE, times=None)
    send_queued_calls(broadcast.pk)
    old = list(Call.objects.filter(state="unknown"))

    first = resend_calls(old, None)
    second = resend_calls(old, None)  # the same page submitted again, with its stale copies

    assert first.queued == 2 and [c.pk for c in first.already_resent] == []
    assert second.broadcasts == [] and {c.pk for c in second.already_resent} == {c.pk for c in old}
    assert Call.objects.filter(resend_of__in=old).count() == 2


def test_broadcast_counts_in_one_query(voice_message, dummy_tasks, sandbox, django_assert_num_queries):
    from calls.outcomes import outcome_counts

    broadcast = queue(voice_message, NUMBERS)
    send_queued_calls(broadcast.pk)
    with django_assert_num_queries(1):
        counts = outcome_counts(broadcast.calls.all())
    assert counts["total"] == 3 and counts["pending"] == 3 and counts["completed"] == 0


def test_a_call_past_the_refresh_age_counts_the_same_in_the_admin_and_on_the_pages(
    voice_message, dummy_tasks, sandbox, admin_client
):
    """It used to be "sent" in the admin and "unknown" on the pages."""
    from django.urls import reverse

    from calls.outcomes import with_outcome_counts
    from pages.dashboard import broadcast_counts

    broadcast = queue(voice_message, NUMBERS[:1])
    send_queued_calls(broadcast.pk)
    broadcast.calls.update(next_refresh_at=None)  # too old to be refreshed any more

    annotated = with_outcome_counts(Broadcast.objects.filter(pk=broadcast.pk)).get()
    page = dict((outcome, count) for _label, outcome, count in broadcast_counts(broadcast)["outcomes"])
    assert annotated.outcome_unknown == page["unknown"] == 1 and annotated.outcome_pending == page["pending"] == 0
    # The admin's list shows how far a broadcast is: the unknown call has its outcome.
    listing = admin_client.get(reverse("admin:calls_broadcast_changelist"))
    assert listing.status_code == 200 and b'<td class="field-progress">1 of 1</td>' in listing.content


def test_a_worker_that_fails_mid_send_gives_unsent_calls_back_and_never_resends(
    voice_message, dummy_tasks, sandbox, monkeypatch
):
    import calls.sending as sending

    broadcast = queue(voice_message, [f"799912340{i:02d}" for i in range(30)])
    real_record = sending.record_outcomes
    writes = {"count": 0}

    def database_fails_on_the_first_write(finished, now=None):
        # The first write: at most one turn's claim (slots + reserve = 12 of 30) was taken
        # by then, whatever the threads' interleaving, so calls are certainly left queued.
        # (Failing on a later write let a fast sandbox send all 30 first: a flaky test.)
        if finished:
            writes["count"] += 1
            if writes["count"] == 1:
                raise RuntimeError("the database went away")
        return real_record(finished, now)

    monkeypatch.setattr(sending, "record_outcomes", database_fails_on_the_first_write)

    with pytest.raises(RuntimeError):
        send_queued_calls(broadcast.pk, max_in_flight=4)

    by_state = {}
    for call in Call.objects.filter(broadcast=broadcast):
        by_state.setdefault(call.state, []).append(call.destination)
    sent_to = {entry["body"]["destination"] for entry in sandbox.requests_log(MAKE)}
    # Calls never handed to Exolve are queued again; nothing queued was ever sent.
    assert by_state.get("queued")
    assert not sent_to & set(by_state["queued"])
    # Every number Exolve saw is accounted for as sent or still "sending" (swept to unknown later).
    assert sent_to <= set(by_state.get("sent", [])) | set(by_state.get("sending", []))

    monkeypatch.setattr(sending, "record_outcomes", real_record)
    sweep_stale_sending(stale_after=0)
    send_queued_calls(broadcast.pk, max_in_flight=4)

    assert sandbox.count(MAKE) == 30  # each number rung exactly once in all
    assert len({entry["body"]["destination"] for entry in sandbox.requests_log(MAKE)}) == 30
