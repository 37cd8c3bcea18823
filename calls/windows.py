"""Calling windows by day type: one for working days, one for weekends and public holidays.

Both in the callee's local time; each moment is judged by its own local date's type
(calls/workdays.py): a Friday 23:00 is a working-day moment, a Saturday 08:30 a rest-day
one, whatever window the evening before had. The claim, retries, steering, the preview
and the plan rules all read calling hours through `Windows`.

Stored on a broadcast as `calling_hours` ("" = any time) and `calling_hours_rest`:
"" there means "the same as working days" (what every broadcast recorded before had),
"any" any time on days of rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext

from audiences.purposes import Purpose

from . import debt_rules
from .lifecycle import Window, parse_window
from .workdays import is_working_day

# Every day has a non-empty window (equal ends are any time), so an opening is at most
# a day away; the bound only keeps the loop bounded whatever happens.
_DAYS_AHEAD = 8


def _time(seconds: int) -> time:
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


@dataclass(frozen=True)
class Windows:
    """Calling hours for working days and for days of rest (weekends, public holidays)."""

    working: Window
    rest: Window

    @property
    def any_time(self) -> bool:
        return self.working.any_time and self.rest.any_time

    @property
    def same(self) -> bool:
        return self.working == self.rest

    def on(self, day: date) -> Window:
        return self.working if is_working_day(day) else self.rest

    def contains(self, local: datetime) -> bool:
        """Whether a local moment (in the callee's zone) is inside the window of its own date."""
        return self.on(local.date()).contains(local.time())

    def next_opening(self, now: datetime, zone: ZoneInfo) -> datetime:
        """`now` when inside the window there, else the next local opening (an aware datetime)."""
        if self.any_time:
            return now
        local = now.astimezone(zone)
        if self.contains(local):
            return now
        for ahead in range(_DAYS_AHEAD):
            day = local.date() + timedelta(days=ahead)
            for start, _end in sorted(self.on(day).spans()):
                opening = datetime.combine(day, _time(start), tzinfo=zone)
                if opening > local:
                    return opening
        return now + timedelta(days=_DAYS_AHEAD)  # unreachable: every day has an opening

    def within(self, other: Windows) -> bool:
        return self.working.within(other.working) and self.rest.within(other.rest)

    def clamped(self, bounds: Windows) -> Windows:
        """These windows where they are inside `bounds`, else the bounds' (per day type)."""
        return Windows(
            self.working if self.working.within(bounds.working) else bounds.working,
            self.rest if self.rest.within(bounds.rest) else bounds.rest,
        )

    def rest_text(self) -> str:
        """The days-of-rest window as stored on a broadcast: "" when the same as working days."""
        if self.same:
            return ""
        return "any" if self.rest.any_time else str(self.rest)

    def __str__(self) -> str:
        """As plans hold them: "09:00-21:00", "any", or both day types: "08:00-22:00 / 09:00-20:00"."""
        working, rest = (_text(window) for window in (self.working, self.rest))
        return working if self.same else f"{working} / {rest}"

    def label(self) -> str:
        """For staff, in their language: the hours of both day types in the callee's local time."""
        if self.any_time:
            return gettext("any time")
        working, rest = (_label(window) for window in (self.working, self.rest))
        if self.same:
            return gettext("%(hours)s in the callee's local time") % {"hours": working}
        return gettext(
            "%(working)s on working days, %(rest)s on weekends and public holidays (callee's local time)"
        ) % {"working": working, "rest": rest}


def _text(window: Window) -> str:
    return "any" if window.any_time else str(window)


def _label(window: Window) -> str:
    return gettext("any time") if window.any_time else str(window)


DEBT_WINDOWS = Windows(debt_rules.WORKING_DAYS, debt_rules.REST_DAYS)


def stored_windows(calling_hours: str, calling_hours_rest: str) -> Windows:
    """A broadcast's stored windows ("" rest: the same as working days). ValueError if unreadable."""
    working = parse_window(calling_hours)
    return Windows(working, parse_window(calling_hours_rest) if calling_hours_rest else working)


def claim_windows(calling_hours: str, calling_hours_rest: str, purpose: str) -> Windows:
    """The windows a claim rings in: a debt reminder's never wider than the law's (defence in depth)."""
    windows = stored_windows(calling_hours, calling_hours_rest)
    return windows.clamped(DEBT_WINDOWS) if purpose == Purpose.DEBT_REMINDER else windows


def default_windows() -> Windows:
    """EXOLVE_CALLING_HOURS and EXOLVE_CALLING_HOURS_WEEKEND (empty: the same). ValueError if unreadable."""
    return stored_windows(settings.EXOLVE_CALLING_HOURS, settings.EXOLVE_CALLING_HOURS_WEEKEND)


def debt_default_windows() -> Windows:
    """A debt reminder's hours when staff give none: the portal's where they are inside the law's
    (a team calling 10:00-19:00 keeps to it), else the law's (calls/debt_rules.py), per day type."""
    try:
        return default_windows().clamped(DEBT_WINDOWS)
    except ValueError:  # unreadable portal hours: the settings' check says so; the law's meanwhile
        return DEBT_WINDOWS


def broadcast_windows(broadcast) -> Windows:
    return claim_windows(broadcast.calling_hours, broadcast.calling_hours_rest, broadcast.purpose)
