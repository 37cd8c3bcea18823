"""When a schedule runs: the dates of a recurrence and the moments of its runs (pure arithmetic).

- daily: every date;
- workdays: the working days of the Russian production calendar (calls/workdays.py), with its
  transferred working days (a Saturday made working is one) and without public holidays;
- weekly: the chosen days of the week (0 = Monday);
- monthly: the chosen day of the month, or the month's last day when it is shorter (day 31
  runs on 30 April and 28 or 29 February).

Every walk is bounded (`MAX_DAYS_SCANNED`), whatever the rule.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calls.workdays import is_working_day

# A walk looks at most this many days ahead (a yearly pattern fits, twice).
MAX_DAYS_SCANNED = 800


@dataclass(frozen=True)
class Rule:
    recurrence: str  # schedules.models.Recurrence
    time: time
    zone: str
    starts_on: date
    until: date | None = None
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None

    @classmethod
    def of(cls, schedule) -> Rule:
        return cls(
            recurrence=schedule.recurrence,
            time=schedule.time,
            zone=schedule.time_zone,
            starts_on=schedule.starts_on,
            until=schedule.until,
            weekdays=tuple(int(day) for day in schedule.weekdays or ()),
            month_day=schedule.month_day,
        )

    def occurs_on(self, day: date) -> bool:
        if day < self.starts_on or (self.until is not None and day > self.until):
            return False
        if self.recurrence == "daily":
            return True
        if self.recurrence == "workdays":
            return is_working_day(day)
        if self.recurrence == "weekly":
            return day.weekday() in self.weekdays
        if self.recurrence == "monthly" and self.month_day:
            last = calendar.monthrange(day.year, day.month)[1]
            return day.day == min(self.month_day, last)
        return False

    def moment(self, day: date) -> datetime:
        """The run's moment: the date at the schedule's time in the schedule's zone (aware)."""
        return datetime.combine(day, self.time, tzinfo=ZoneInfo(self.zone))

    def dates(self, first: date, last: date | None = None) -> Iterator[date]:
        """The run dates from `first` (to `last` included), in order; at most MAX_DAYS_SCANNED days looked at."""
        day = max(first, self.starts_on)
        for _step in range(MAX_DAYS_SCANNED):
            if (last is not None and day > last) or (self.until is not None and day > self.until):
                return
            if self.occurs_on(day):
                yield day
            day += timedelta(days=1)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(ZoneInfo(self.zone)).date()

    def next_after(self, moment: datetime, *, limit: int = 1) -> list[datetime]:
        """The next `limit` run moments at or after `moment`."""
        found = []
        for day in self.dates(self.local_date(moment)):
            at = self.moment(day)
            if at >= moment:
                found.append(at)
                if len(found) >= limit:
                    break
        return found

    def between(self, start: datetime, end: datetime) -> list[date]:
        """The run dates whose moments fall in [start, end] (bounded)."""
        last = self.local_date(end)
        first = max(self.local_date(start), last - timedelta(days=MAX_DAYS_SCANNED - 1))
        return [d for d in self.dates(first, last) if start <= self.moment(d) <= end]
