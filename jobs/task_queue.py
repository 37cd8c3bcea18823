"""What the portal asks of the task queue beyond `django.tasks`: which tasks wait or run.

`django.tasks` enqueues and runs tasks but cannot list them. The portal needs that to
avoid piling up duplicates (a refresh task already waiting, a send task already
waiting for a broadcast) and to find broadcasts whose send tasks were lost. Only the
database backend (django-tasks-db) can tell; everything that knows its model
(`DBTaskResult`, its `args_kwargs` JSON) is in this module, so a version bump of
django-tasks-db touches this file only. With another backend every question is
answered "nothing known" (empty), and the callers then enqueue as if nothing waited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.tasks import TaskResultStatus

WAITING = TaskResultStatus.READY
RUNNING = TaskResultStatus.RUNNING
# A task due this little after the asked time still counts as due by then.
DUE_SLACK = timedelta(seconds=1)


def _results():
    """The queue's table (a queryset of DBTaskResult), or None when it is not installed."""
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return None
    return DBTaskResult.objects


def first_arguments(task, states=(WAITING, RUNNING), *, due_by: datetime | None = None) -> list[tuple[str, object]]:
    """(state, first positional argument) of each task of `task` in `states` (due by `due_by`, if given).

    The first argument is what the portal's tasks are keyed by (a broadcast id, a job id);
    None for a task enqueued without arguments.
    """
    results = _results()
    if results is None:
        return []
    found = results.filter(task_path=task.module_path, status__in=list(states))
    if due_by is not None:
        found = found.filter(run_after__lte=due_by + DUE_SLACK)
    return [
        (state, (arguments.get("args") or [None])[0]) for state, arguments in found.values_list("status", "args_kwargs")
    ]


def is_waiting(task, *, due_by: datetime, argument=None, not_before: datetime | None = None) -> bool:
    """Whether a task of `task` waits to run by `due_by` (and not before `not_before`, when given;
    with `argument` first, when given)."""
    results = _results()
    if results is None:  # another backend cannot be inspected: trust the caller
        return False
    if argument is None:
        waiting = results.filter(task_path=task.module_path, status=WAITING, run_after__lte=due_by + DUE_SLACK)
        if not_before is not None:
            waiting = waiting.filter(run_after__gte=not_before)
        return waiting.exists()
    return any(first == argument for _state, first in first_arguments(task, (WAITING,), due_by=due_by))


def count_active(task_name_suffix: str) -> int:
    """How many tasks whose path ends with `task_name_suffix` wait or run (the bench's "still sending?")."""
    results = _results()
    if results is None:
        return 0
    return results.filter(task_path__endswith=task_name_suffix, status__in=[WAITING, RUNNING]).count()


def forget_finished_and_waiting() -> None:
    """Delete every task that is not running (a running one belongs to a live worker): the bench's clean slate."""
    results = _results()
    if results is not None:
        results.exclude(status=RUNNING).delete()
