"""Background work for calls, through django.tasks (run by `manage.py db_worker`).

- `send_broadcast(broadcast_id)`: sends the broadcast's queued calls. Several copies are
  enqueued per broadcast so several workers share it; each call is still sent once.
- `refresh_due_calls()`: refreshes the statistics of calls whose refresh is due, then
  re-enqueues itself (deferred) for the next due time. `schedule_refresh()` keeps at
  most one such deferred task waiting at or before any given time.
- `resume_stalled_sending()`: a safety net for queued calls no task will pick up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from . import sending, statistics
from .models import Call, CallState

logger = logging.getLogger(__name__)

SEND_PRIORITY = 10  # sending goes before statistics when both wait
# Queued this long with no send task waiting or running: the enqueue was lost.
STALLED_AFTER = timedelta(minutes=2)


@task(priority=SEND_PRIORITY)
def send_broadcast(broadcast_id: int) -> dict:
    summary = sending.send_queued_calls(broadcast_id)
    return summary.counts


@task()
def refresh_due_calls() -> dict:
    sending.sweep_stale_sending()
    resume_stalled_sending()
    summary = statistics.refresh_due_calls()
    schedule_refresh()
    return {"refreshed": summary.refreshed, "finished": summary.finished, "failed": summary.failed}


def schedule_refresh(at: datetime | None = None) -> bool:
    """Make sure a `refresh_due_calls` task will run by `at` (default: the next due time).

    Returns True when a task was enqueued. Does nothing when nothing is due, when a
    waiting task already runs by then (so duplicates do not pile up), or when the task
    backend cannot defer work (then refreshes happen on demand only).
    """
    due = at or statistics.next_due_time()
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


def _refresh_waiting_by(due: datetime) -> bool:
    """Whether a refresh task is already waiting to run no later than `due` (+1 s slack)."""
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another backend: it cannot be inspected, so trust the caller
        return False
    from django.tasks import TaskResultStatus

    return DBTaskResult.objects.filter(
        task_path=refresh_due_calls.module_path,
        status=TaskResultStatus.READY,
        run_after__lte=due + timedelta(seconds=1),
    ).exists()


def resume_stalled_sending(stalled_after: timedelta = STALLED_AFTER) -> list:
    """Enqueue sending again for broadcasts whose queued calls no task will pick up.

    Covers a process that stopped between recording a broadcast and enqueueing its
    tasks (the enqueue runs on commit). Broadcasts with a send task still waiting or
    running are left alone; repeating would be harmless anyway, as each call is claimed
    once. Returns the broadcast ids it enqueued for.
    """
    cutoff = timezone.now() - stalled_after
    stalled = set(
        Call.objects.filter(state=CallState.QUEUED, queued_at__lte=cutoff)
        .order_by()
        .values_list("broadcast_id", flat=True)
        .distinct()
    )
    stalled -= _broadcasts_being_sent()
    for broadcast_id in stalled:
        send_broadcast.enqueue(broadcast_id)
    if stalled:
        logger.warning("Resumed sending for broadcast(s) %s: their send tasks were lost", sorted(stalled, key=str))
    return sorted(stalled, key=str)


def _broadcasts_being_sent() -> set:
    """Broadcast ids with a send task waiting or running (empty when the backend can't tell)."""
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return set()
    from django.tasks import TaskResultStatus

    waiting = DBTaskResult.objects.filter(
        task_path=send_broadcast.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).values_list("args_kwargs", flat=True)
    return {(arguments.get("args") or [None])[0] for arguments in waiting}
