"""What staff do to a schedule: save it (made or changed), pause, resume, end. Each audited.

A change, a resume and a new schedule count runs from that moment (`active_since`): runs
already created keep their broadcasts, runs due while paused never exist, and the next
runs follow the schedule as it is now.
"""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone

from . import runs
from .models import Schedule, ScheduleState
from .tasks import schedule_tick_on_commit

# In the audit trail as Django words it ("Changed state."), in the reader's language.
STATE_CHANGED = [{"changed": {"fields": ["state"]}}]


def _log(user, schedule, flag, message) -> None:
    if getattr(user, "pk", None):
        LogEntry.objects.log_actions(user.pk, [schedule], flag, message, single_object=True)


def save_schedule(schedule: Schedule, contact_lists, user, changed: list[str] | None = None) -> Schedule:
    """Save a new or changed schedule (from its form: `changed` names the fields); its runs count from now."""
    new = schedule.pk is None
    with transaction.atomic():
        schedule.active_since = timezone.now()
        schedule.updated_by = user if getattr(user, "pk", None) else None
        if new:
            schedule.created_by = schedule.updated_by
        if new:
            schedule.save()
        else:  # never the state: a colleague may have paused or ended it meanwhile
            kept = {"id", "state", "next_run_at", "created_by", "created_at"}
            schedule.save(update_fields=[f.name for f in Schedule._meta.concrete_fields if f.name not in kept])
        schedule.contact_lists.set(contact_lists)
        runs.refresh_next_run(schedule)
        schedule.refresh_from_db()
        message = [{"added": {}}] if new else [{"changed": {"fields": changed or []}}]
        _log(user, schedule, ADDITION if new else CHANGE, message)
        schedule_tick_on_commit(schedule.next_run_at)
    return schedule


def _move(schedule: Schedule, user, frm, to: str, **changes) -> bool:
    """A conditional UPDATE from the states `frm` to `to`; True when this request made it."""
    with transaction.atomic():
        moved = Schedule.objects.filter(pk=schedule.pk, state__in=frm).update(
            state=to, updated_by=user if getattr(user, "pk", None) else None, updated_at=timezone.now(), **changes
        )
        if not moved:
            return False
        schedule.refresh_from_db()
        if to == ScheduleState.ACTIVE:
            runs.refresh_next_run(schedule)
            schedule.refresh_from_db()
            schedule_tick_on_commit(schedule.next_run_at)
        _log(user, schedule, CHANGE, STATE_CHANGED)
    return True


def pause(schedule: Schedule, user) -> bool:
    return _move(schedule, user, [ScheduleState.ACTIVE], ScheduleState.PAUSED, next_run_at=None)


def resume(schedule: Schedule, user) -> bool:
    return _move(schedule, user, [ScheduleState.PAUSED], ScheduleState.ACTIVE, active_since=timezone.now())


def end(schedule: Schedule, user) -> bool:
    return _move(schedule, user, [ScheduleState.ACTIVE, ScheduleState.PAUSED], ScheduleState.ENDED, next_run_at=None)
