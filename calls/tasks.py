"""Background work for calls, through django.tasks (run by `manage.py db_worker`).

- `send_broadcast(broadcast_id)`: sends the broadcast's queued calls. Several copies are
  enqueued per broadcast so several workers share it; each call is still sent once.
- `refresh_due_calls()`: refreshes the statistics of calls whose refresh is due, then
  re-enqueues itself (deferred) for the next due time. `schedule_refresh()` keeps at
  most one such deferred task waiting at or before any given time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from . import sending, statistics

logger = logging.getLogger(__name__)

SEND_PRIORITY = 10  # sending goes before statistics when both wait


@task(priority=SEND_PRIORITY)
def send_broadcast(broadcast_id: int) -> dict:
    summary = sending.send_queued_calls(broadcast_id)
    return summary.counts


@task()
def refresh_due_calls() -> dict:
    sending.sweep_stale_sending()
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
