"""The schedules' tick, run by `manage.py db_worker` like every background task.

`tick_schedules` creates the due runs (schedules/runs.py), then enqueues itself, deferred
to the next run's moment (`schedule_tick`). It is a task of its own, below sending in
priority, so it never holds up the send loop. Saving, resuming or changing a schedule
schedules a tick for its next run; a worker starting (or over database trouble) schedules
one too (calls.signals.worker_looking_for_work), so a tick lost with a killed worker comes
back with the next worker.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Min
from django.dispatch import receiver
from django.tasks import task
from django.utils import timezone

from calls.signals import worker_looking_for_work
from jobs import task_queue

from . import runs
from .models import Schedule, ScheduleState

TICK_PRIORITY = 0  # below sending (calls.tasks.SEND_PRIORITY)


@task(priority=TICK_PRIORITY)
def tick_schedules() -> dict:
    try:
        return runs.tick()
    finally:
        schedule_tick()  # the next one, whatever became of this one


def next_due() -> datetime | None:
    return Schedule.objects.filter(state=ScheduleState.ACTIVE).aggregate(due=Min("next_run_at"))["due"]


def schedule_tick(at: datetime | None = None) -> bool:
    """Make sure a tick runs by `at` (default: the next run of any schedule); True when one was enqueued."""
    due = at or next_due()
    backend = tick_schedules.get_backend()
    if due is None or not backend.supports_defer:
        return False
    due = max(due, timezone.now())
    with transaction.atomic():
        if task_queue.is_waiting(tick_schedules, due_by=due):
            return False
        tick_schedules.using(run_after=due).enqueue()
    return True


def schedule_tick_on_commit(at: datetime | None) -> None:
    if at is not None:
        transaction.on_commit(lambda: schedule_tick(at))


@receiver(worker_looking_for_work)
def _worker_starting(sender, **kwargs) -> None:
    schedule_tick()  # database trouble: the worker's own handling (it logs, waits and looks again)
