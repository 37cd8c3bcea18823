"""Turning a schedule's due dates into broadcasts: the worker's tick (schedules/tasks.py).

For each active schedule whose next run is due, the dates due since the schedule was
made, resumed or changed (`active_since`) and after its last run are looked at:
- the latest one is created, if on time (within LATE_AFTER, an hour, of its moment) or if the
  schedule says "create late"; otherwise it is recorded skipped;
- any earlier ones (the portal was down over several run dates) are recorded skipped:
  one list is never rung several times at once to catch up.

Each run is created by `create_run`: in one transaction the schedule's row is locked, the
run's absence checked, the broadcast recorded through the send page's own recording
(calls.recording.create_broadcast, a token per schedule and date) and the run row
inserted, unique per schedule and date. A second worker, or a worker killed at that
moment, leaves one broadcast or none, never two. Edits take effect for runs created
after them: a run reads its schedule when it is created.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop

from calls.plan_form import SendPlan
from calls.recording import SendRefused, create_broadcast

from .models import RunState, Schedule, ScheduleRun, ScheduleState
from .recipients import recipients_of, zones_of
from .recurrence import Rule

logger = logging.getLogger(__name__)

# A run created later than this after its moment was missed (the portal or its workers were down,
# or every worker was busy that long): "skip" then skips it. Workers busy a few minutes are not down.
LATE_AFTER = timedelta(hours=1)
# A schedule whose run failed unexpectedly (a bug, not a refusal) is looked at again after this.
RETRY_AFTER_ERROR = timedelta(minutes=5)
MISSED = gettext_noop("Missed while the portal was down; skipped as the schedule asks.")
REPLACED = gettext_noop("Missed while the portal was down; a later run was created instead.")


def token_of(schedule_pk: int, day: date) -> str:
    """The broadcast's idempotency token: one broadcast per schedule and date, whoever records it."""
    return f"schedule-{schedule_pk}-{day.isoformat()}"


def last_run_date(schedule) -> date | None:
    return ScheduleRun.objects.filter(schedule=schedule).aggregate(last=Max("run_date"))["last"]


def runs_left(schedule) -> int | None:
    """How many broadcasts the schedule may still make (None: no limit)."""
    if schedule.run_limit is None:
        return None
    made = ScheduleRun.objects.filter(schedule=schedule, state=RunState.CREATED).count()
    return max(schedule.run_limit - made, 0)


def upcoming(schedule, now: datetime | None = None, *, limit: int = 1) -> list[datetime]:
    """The next `limit` run moments of an active schedule (none when paused, ended or used up).

    The first may be past: a run due and not created yet (the tick is about to, or the portal was down).
    """
    if schedule.state != ScheduleState.ACTIVE:
        return []
    left = runs_left(schedule)
    if left is not None:
        limit = min(limit, left)
    if limit <= 0:
        return []
    now = now or timezone.now()
    rule = Rule.of(schedule)
    last = last_run_date(schedule)
    start = max(schedule.active_since, now - timedelta(days=400))  # bounded after a long outage
    found = []
    for day in rule.dates(rule.local_date(start)):
        at = rule.moment(day)
        if at >= start and (last is None or day > last):
            found.append(at)
            if len(found) >= limit:
                break
    return found


def refresh_next_run(schedule, now: datetime | None = None) -> None:
    """Store the schedule's next run moment; an active schedule with none left has ended."""
    following = upcoming(schedule, now)
    schedule.next_run_at = following[0] if following else None
    fields = {"next_run_at": schedule.next_run_at}
    if schedule.state == ScheduleState.ACTIVE and not following:
        schedule.state = fields["state"] = ScheduleState.ENDED
    Schedule.objects.filter(pk=schedule.pk).exclude(state=ScheduleState.ENDED).update(**fields)


def tick(now: datetime | None = None) -> dict:
    """Create (or skip) the due runs of every active schedule; returns counts."""
    now = now or timezone.now()
    counts = {"created": 0, "skipped": 0, "refused": 0}
    due = Schedule.objects.filter(state=ScheduleState.ACTIVE, next_run_at__lte=now).order_by("next_run_at", "pk")
    for schedule in due[:500]:
        try:
            for state in run_due(schedule, now):
                counts[state] += 1
        except DatabaseError:
            raise  # the worker waits the trouble out and schedules the tick again
        except Exception:
            # One schedule's fault must not stop the others, nor make the tick spin on it: look again later.
            logger.exception("Repeating broadcast %s could not make its run; trying again later", schedule.pk)
            Schedule.objects.filter(pk=schedule.pk).update(next_run_at=now + RETRY_AFTER_ERROR)
    return counts


def run_due(schedule, now: datetime) -> list[str]:
    """The schedule's due dates made runs (see the module's docstring); the states recorded."""
    rule = Rule.of(schedule)
    last = last_run_date(schedule)
    dates = [day for day in rule.between(schedule.active_since, now) if last is None or day > last]
    states = []
    if dates:
        *earlier, latest = dates
        _skip(schedule, rule, earlier, REPLACED if schedule.missed == "late" else MISSED)
        states += [RunState.SKIPPED] * len(earlier)
        if now - rule.moment(latest) > LATE_AFTER and schedule.missed == "skip":
            _skip(schedule, rule, [latest], MISSED)
            states.append(RunState.SKIPPED)
        elif (left := runs_left(schedule)) is None or left > 0:
            run = create_run(schedule.pk, latest, rule.moment(latest))
            if run is not None:
                states.append(run.state)
    refresh_next_run(schedule, now)
    return states


def _skip(schedule, rule: Rule, days: list[date], reason: str) -> None:
    rows = [
        ScheduleRun(schedule=schedule, run_date=day, due_at=rule.moment(day), state=RunState.SKIPPED, reason=reason)
        for day in days
    ]
    ScheduleRun.objects.bulk_create(rows, ignore_conflicts=True)


def create_run(schedule_pk: int, day: date, due_at: datetime) -> ScheduleRun | None:
    """The run of `day` with its broadcast (or why none), in one transaction; None when it exists or may not."""
    try:
        with transaction.atomic():
            # Row lock (PostgreSQL): a second worker waits here, then finds the run made.
            schedule = Schedule.objects.select_for_update().filter(pk=schedule_pk).first()
            if schedule is None or schedule.state != ScheduleState.ACTIVE or due_at < schedule.active_since:
                return None  # paused, ended, or changed since this date was found due (its runs count from then)
            if ScheduleRun.objects.filter(schedule=schedule, run_date=day).exists():
                return None
            run = ScheduleRun(schedule=schedule, run_date=day, due_at=due_at, state=RunState.CREATED)
            try:
                run.broadcast = _record(schedule, day)
            except SendRefused as exc:
                run.state, run.reason = RunState.REFUSED, str(exc)[:500]
            if run.broadcast is not None and not run.broadcast.created_now:
                return None  # recorded by another worker, whose run row came with it
            run.save()
    except IntegrityError:
        logger.info("Run %s of schedule %s was made by another worker", day, schedule_pk)
        return None
    return run


def _record(schedule, day: date):
    """The run's broadcast, recorded as the send page records one (its plan, audit, enqueue on commit)."""
    found = recipients_of(schedule)
    numbers = list(found.to_call)
    plan = replace(SendPlan.from_json(schedule.plan), start_at=None, purpose=schedule.purpose, basis=schedule.basis)
    return create_broadcast(
        schedule.voice_message,
        schedule.source,
        numbers,
        schedule.updated_by or schedule.created_by,
        token_of(schedule.pk, day),
        plan=plan,
        zones=zones_of(numbers),
        name=f"{schedule.name} ({day.isoformat()})",
        contacts=found.to_call,
        audiences=found.record(),
    )
