"""Statistics: refreshed from call/v1/GetInfo until final, automatically and on demand."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from calls.models import Call, CallState
from calls.sending import send_queued_calls
from calls.statistics import next_refresh_time, refresh_calls, refresh_due_calls
from calls.tasks import refresh_due_calls as refresh_task
from calls.tasks import schedule_refresh
from tests.factories_calls import GET_INFO, make_call, queue, states

# Each test runs in each error-body shape the live API has been seen to use.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("error_shape")]

# Last digit decides the sandbox's final status: 6 no_answer, 7 busy, 8 failed, else completed.
NUMBERS = ["79991234561", "79991234566", "79991234567", "79991234568"]


@pytest.fixture
def sent_broadcast(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, NUMBERS)
    send_queued_calls(broadcast.pk)
    return broadcast


def make_due():
    Call.objects.filter(state=CallState.SENT).update(next_refresh_at=timezone.now() - timedelta(seconds=1))


def test_in_progress_calls_stay_sent_and_are_rescheduled(sent_broadcast, sandbox):
    make_due()
    summary = refresh_due_calls()
    assert summary.refreshed == 4 and summary.finished == 0
    for call in sent_broadcast.calls.all():
        assert call.state == "sent"
        assert call.status in ("initiated", "ringing")
        assert call.next_refresh_at > timezone.now()
        assert call.created is not None and call.refreshed_at is not None


def test_final_statuses_finish_the_calls_and_stop_refreshing(sent_broadcast, sandbox):
    sandbox.advance(60)
    make_due()
    summary = refresh_due_calls()
    assert summary.finished == 4
    calls = {c.destination: c for c in sent_broadcast.calls.all()}
    assert {d: c.status for d, c in calls.items()} == {
        "79991234561": "completed",
        "79991234566": "no_answer",
        "79991234567": "busy",
        "79991234568": "failed",
    }
    assert set(states(sent_broadcast).values()) == {"finished"}
    done = calls["79991234561"]
    assert done.duration == 4 and done.started and done.ended and done.timeout == 60
    assert done.direction == "outbound" and done.raw["status"] == "completed"
    assert all(c.next_refresh_at is None for c in calls.values())
    assert refresh_due_calls().refreshed == 0


def test_unknown_status_is_stored_as_received_and_refreshing_continues(voice_message, dummy_tasks, monkeypatch):
    call = make_call(voice_message, state=CallState.SENT, call_id="cal-x", sent_at=timezone.now())

    class Info:
        status = "play_audio_stop"
        created = updated = started = ended = None
        duration = timeout = None
        direction = "outbound"
        raw = {"status": "play_audio_stop"}

    class Client:
        def get_call(self, call_id):
            return Info()

    monkeypatch.setattr("calls.statistics.get_client", lambda: Client())
    refresh_calls([call])
    call.refresh_from_db()
    assert call.status == "play_audio_stop" and call.state == "sent" and call.next_refresh_at is not None


def test_backoff_grows_and_stops_at_max_age(settings):
    settings.EXOLVE_REFRESH_FIRST_DELAY = 5
    settings.EXOLVE_REFRESH_MAX_DELAY = 900
    settings.EXOLVE_REFRESH_MAX_AGE = 86400
    sent = timezone.now()
    delays = []
    now = sent
    for _ in range(6):
        now = next_refresh_time(sent, now)
        delays.append(round((now - sent).total_seconds(), 1))
    assert delays[0] == 5 and delays == sorted(delays) and delays[-1] - delays[-2] > 5
    assert next_refresh_time(sent, sent + timedelta(hours=10)) - (sent + timedelta(hours=10)) == timedelta(seconds=900)
    assert next_refresh_time(sent, sent + timedelta(days=1, seconds=1)) is None


@pytest.mark.parametrize(
    ("fault", "text", "keeps_refreshing"),
    [
        ({"kind": "http_error", "status": 502}, "problem on its side", True),
        ({"kind": "timeout"}, "did not answer in time", True),
        ({"kind": "drop"}, "connection to Exolve broke", True),
        ({"kind": "malformed"}, "could not read", True),
    ],
)
def test_getinfo_transport_faults_are_recorded_and_retried_later(
    sent_broadcast, sandbox, fault, text, keeps_refreshing
):
    sandbox.add_fault(endpoint=GET_INFO, times=None, **fault)
    call = sent_broadcast.calls.order_by("pk").first()
    summary = refresh_calls([call])
    call.refresh_from_db()
    assert summary.failed == 1
    assert text in call.error
    assert call.state == "sent" and (call.next_refresh_at is not None) == keeps_refreshing


def test_the_documented_getinfo_not_found_ends_the_refresh(voice_message, dummy_tasks, sandbox):
    call = make_call(voice_message, state=CallState.SENT, call_id="cal-nobody-knows", sent_at=timezone.now())
    summary = refresh_calls([call])
    call.refresh_from_db()
    assert summary.failed == 1 and "no statistics" in call.error
    # A final outcome, not a day of polling.
    assert call.state == CallState.FINISHED and call.next_refresh_at is None


def test_getinfo_validation_error_stops_refreshing(voice_message, dummy_tasks, monkeypatch):
    call = make_call(voice_message, state=CallState.SENT, call_id="cal-1", sent_at=timezone.now())
    import calls.statistics as statistics

    class Client:
        def get_call(self, call_id):
            from exolve_portal.exolve import errors

            raise errors.ValidationError("Validation error", status=400, endpoint=GET_INFO)

    original = statistics.get_client
    statistics.get_client = lambda: Client()
    try:
        refresh_calls([call])
    finally:
        statistics.get_client = original
    call.refresh_from_db()
    assert "invalid" in call.error and call.next_refresh_at is None


def test_getinfo_bad_key_is_recorded(http_voice_message, dummy_tasks, sandbox_http, settings):
    broadcast = queue(http_voice_message, NUMBERS[:1])
    send_queued_calls(broadcast.pk)
    settings.EXOLVE_API_KEY = "wrong-key"
    call = broadcast.calls.get()
    summary = refresh_calls([call])
    call.refresh_from_db()
    assert summary.failed == 1 and "API key" in call.error and call.state == "sent"


def test_schedule_refresh_does_not_pile_up_duplicates(sent_broadcast, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert schedule_refresh() is True
    assert schedule_refresh() is False
    assert schedule_refresh() is False
    assert DBTaskResult.objects.filter(task_path=refresh_task.module_path).count() == 1


def test_refresh_runs_by_itself_until_every_call_is_final(voice_message, sandbox, settings, monkeypatch):
    """Send and refresh through the real database task queue and an in-process db_worker."""
    from django_tasks_db.management.commands.db_worker import Worker

    # The worker recycles connections between tasks; inside a test transaction it must not.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EXOLVE_REFRESH_FIRST_DELAY = 0.2
    settings.EXOLVE_REFRESH_MAX_DELAY = 0.5
    sandbox.set_lifecycle(1.0)
    from calls.tasks import enqueue_sending

    broadcast = queue(voice_message, NUMBERS)
    enqueue_sending(broadcast.pk, len(NUMBERS))  # what on_commit does after the request

    def run_ready_tasks():
        Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test",
            excluded_queue_names=[],
        ).run()

    import time

    deadline = time.monotonic() + 20
    while Call.objects.exclude(state=CallState.FINISHED).exists() and time.monotonic() < deadline:
        run_ready_tasks()
        time.sleep(0.2)
    assert set(states(broadcast).values()) == {"finished"}
    assert DBTaskResult.objects.filter(status="FAILED").count() == 0
    # What is left is the safety net's next look (scheduled while calls were queued);
    # once it has run with nothing pending, the chain stops.
    from django.utils import timezone

    assert set(DBTaskResult.objects.filter(status="READY").values_list("task_path", flat=True)) <= {
        "calls.tasks.refresh_due_calls"
    }
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_ready_tasks()
    assert not DBTaskResult.objects.filter(status="READY").exists()
