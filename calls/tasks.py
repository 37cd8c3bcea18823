"""Background work for calls, through django.tasks (run by `manage.py db_worker`); all enqueueing is here.

- `enqueue_sending(broadcast_id, count)`: the send tasks of a newly recorded (or
  resumed, or moved) broadcast, deferred to its first call's time.
- `send_broadcast(broadcast_id)`: sends the broadcast's queued calls. Several copies are
  enqueued per broadcast so several workers share it; each call is still sent once.
- `refresh_due_calls()`: refreshes the statistics of calls whose refresh is due, then
  re-enqueues itself (deferred) for the next due time. `schedule_refresh()` keeps at
  most one such deferred task waiting at or before any given time; while calls are
  queued or sending, it also runs the safety net below every EXOLVE_SEND_TASK_LOST_AFTER.
- `resume_stalled_sending()`: a safety net for queued calls no task will pick up (a
  lost enqueue, or a worker that died while sending).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from jobs import task_queue

from . import sending, sms_sending, statistics
from .lifecycle import BroadcastState
from .models import Broadcast, Call, CallState, SmsFollowUp, SmsState

logger = logging.getLogger(__name__)

SEND_PRIORITY = 10  # sending goes before statistics when both wait


def enqueue_sending(broadcast_id: int, call_count: int, at: datetime | None = None) -> None:
    """Enqueue enough send tasks for the broadcast's calls to be shared among workers (from `at`)."""
    # One send task keeps EXOLVE_MAX_IN_FLIGHT requests in flight: another task (another
    # worker) helps only with more calls than that, up to EXOLVE_SEND_TASKS_PER_BROADCAST.
    per_task = max(settings.EXOLVE_MAX_IN_FLIGHT, 1)
    tasks = max(1, min(settings.EXOLVE_SEND_TASKS_PER_BROADCAST, math.ceil(call_count / per_task)))
    task = send_broadcast
    if at is not None and at > timezone.now() and send_broadcast.get_backend().supports_defer:
        task = send_broadcast.using(run_after=at)
    for _index in range(tasks):
        task.enqueue(broadcast_id)
    # The safety net's next look, in case the worker that takes these dies.
    schedule_refresh()


@task(priority=SEND_PRIORITY)
def send_broadcast(broadcast_id: int) -> dict:
    summary = sending.send_queued_calls(broadcast_id)
    if summary.counts.get(CallState.SENT):
        schedule_refresh()
    if summary.stopped and Call.objects.filter(broadcast_id=broadcast_id, state=CallState.QUEUED).exists():
        # The worker is stopping: the calls it gave back go to the next worker.
        send_broadcast.enqueue(broadcast_id)
    elif summary.retry_at is not None and not summary.halted:
        # The rest wait (start time, calling hours, pace): come back when the first may ring.
        send_later(broadcast_id, summary.retry_at)
    return summary.counts


def send_later(broadcast_id: int, at: datetime) -> bool:
    """Make sure a send task for the broadcast runs at `at`; True when one was enqueued."""
    backend = send_broadcast.get_backend()
    if not backend.supports_defer:
        return False
    at = max(at, timezone.now())
    if _send_waiting_by(broadcast_id, at):
        return False
    send_broadcast.using(run_after=at).enqueue(broadcast_id)
    return True


def _send_waiting_by(broadcast_id: int, at: datetime) -> bool:
    return task_queue.is_waiting(send_broadcast, due_by=at, argument=broadcast_id)


@task()
def refresh_due_calls() -> dict:
    sending.sweep_stale_sending()
    sms_sending.sweep_stale_sms()
    resume_stalled_sending()
    summary = statistics.refresh_due_calls()
    for broadcast_id, at in summary.retry_sends.items():  # automatic retries wait for their time
        send_later(broadcast_id, at)
    for broadcast_id, at in summary.sms_sends.items():  # follow-up SMS wait for the calling window
        send_sms_later(broadcast_id, at)
    resume_stalled_sms()
    schedule_refresh()
    return {"refreshed": summary.refreshed, "finished": summary.finished, "failed": summary.failed}


def schedule_refresh(at: datetime | None = None) -> bool:
    """Make sure a `refresh_due_calls` task will run by `at` (default: the next due time).

    Returns True when a task was enqueued. Does nothing when nothing is due, when a
    waiting task already runs by then (so duplicates do not pile up), or when the task
    backend cannot defer work (then refreshes happen on demand only).
    """
    if at is not None:
        due = at
    else:
        due = min((t for t in (statistics.next_due_time(), next_watch_time()) if t is not None), default=None)
    if due is None:
        return False
    backend = refresh_due_calls.get_backend()
    if not backend.supports_defer:
        return False
    due = max(due, timezone.now())
    with transaction.atomic():
        if _refresh_waiting_by(due):
            return False
        refresh_due_calls.using(run_after=due).enqueue()
    return True


def next_watch_time() -> datetime | None:
    """While calls wait to be sent or are being sent, when the safety net should look at them.

    The refresh task is also the safety net (it sweeps and resumes), so as long as any
    call is queued or sending one refresh task stays scheduled: a worker killed mid-send
    (kill -9, a reboot) leaves one behind for the next worker to run.
    """
    if not Call.objects.filter(state__in=(CallState.QUEUED, CallState.SENDING)).exists() and not (
        SmsFollowUp.objects.filter(state__in=(SmsState.QUEUED, SmsState.SENDING)).exists()
    ):
        return None
    return timezone.now() + timedelta(seconds=settings.EXOLVE_SEND_TASK_LOST_AFTER)


def _refresh_waiting_by(due: datetime) -> bool:
    """Whether a refresh task is already waiting to run no later than `due` (+1 s slack)."""
    return task_queue.is_waiting(refresh_due_calls, due_by=due)


def resume_stalled_sending(stalled_after: timedelta | None = None) -> list:
    """Enqueue sending again for broadcasts whose queued calls no task will pick up.

    Covers a process that stopped between recording a broadcast and enqueueing its
    tasks (the enqueue runs on commit), and a worker that died while sending (kill -9,
    a reboot): its task stays "running" for good, but its sender stopped beating.
    Broadcasts with a send task waiting, or running with a recent beat, are left alone;
    repeating would be harmless anyway, as each call is claimed once. Returns the
    broadcast ids it enqueued for.
    """
    if stalled_after is None:
        stalled_after = timedelta(seconds=settings.EXOLVE_SEND_TASK_LOST_AFTER)
    cutoff = timezone.now() - stalled_after
    stalled = set(
        Call.objects.filter(state=CallState.QUEUED, queued_at__lte=cutoff)
        .order_by()
        .values_list("broadcast_id", flat=True)
        .distinct()
    )
    waiting, running = _broadcasts_being_sent()
    alive = set(
        Broadcast.objects.filter(pk__in=running & stalled, sender_beat_at__gt=cutoff).values_list("pk", flat=True)
    )
    stalled -= waiting | alive
    for broadcast_id in stalled:
        send_broadcast.enqueue(broadcast_id)
    if stalled:
        logger.warning("Resumed sending for broadcast(s) %s: their send tasks were lost", sorted(stalled, key=str))
    return sorted(stalled, key=str)


@task(priority=SEND_PRIORITY)
def send_sms_followups(broadcast_id: int) -> dict:
    """Send the broadcast's due follow-up SMS (calls/sms_sending.py); each is sent once."""
    summary = sms_sending.send_followup_sms(broadcast_id)
    if summary.stopped and SmsFollowUp.objects.filter(broadcast_id=broadcast_id, state=SmsState.QUEUED).exists():
        send_sms_followups.enqueue(broadcast_id)
    elif summary.retry_at is not None and not summary.halted:
        send_sms_later(broadcast_id, summary.retry_at)
    schedule_refresh()  # the safety net keeps watching while SMS wait
    return summary.counts


def send_sms_later(broadcast_id: int, at: datetime) -> bool:
    """Make sure an SMS task for the broadcast runs at `at` (now when due); True when one was enqueued."""
    at = max(at, timezone.now())
    if task_queue.is_waiting(send_sms_followups, due_by=at, argument=broadcast_id):
        return False
    if at > timezone.now() + timedelta(seconds=1) and send_sms_followups.get_backend().supports_defer:
        send_sms_followups.using(run_after=at).enqueue(broadcast_id)
    else:
        send_sms_followups.enqueue(broadcast_id)
    return True


def resume_stalled_sms() -> list:
    """The safety net for SMS: broadcasts whose due SMS waited EXOLVE_SEND_TASK_LOST_AFTER with no task waiting.

    A worker killed while sending leaves its task "running" for good; a second task is
    harmless (each SMS is claimed once).
    """
    cutoff = timezone.now() - timedelta(seconds=settings.EXOLVE_SEND_TASK_LOST_AFTER)
    stalled = set(
        SmsFollowUp.objects.filter(state=SmsState.QUEUED, not_before__lte=cutoff)
        .exclude(broadcast__state=BroadcastState.PAUSED)  # resumed with its broadcast (steering.resume)
        .order_by()
        .values_list("broadcast_id", flat=True)
        .distinct()
    )
    waiting = {b for state, b in task_queue.first_arguments(send_sms_followups) if state == task_queue.WAITING}
    for broadcast_id in stalled - waiting:
        send_sms_followups.enqueue(broadcast_id)
    return sorted(stalled - waiting)


def _broadcasts_being_sent() -> tuple[set, set]:
    """Broadcast ids with a send task (waiting, running); empty when the backend can't tell."""
    found = {task_queue.WAITING: set(), task_queue.RUNNING: set()}
    for state, broadcast_id in task_queue.first_arguments(send_broadcast):
        found[state].add(broadcast_id)
    return found[task_queue.WAITING], found[task_queue.RUNNING]
