"""The lifecycle of a broadcast and of its calls: states, transitions, and calling hours.

A broadcast's stored `state` is what staff decided:

    scheduled --start time--> sending <--pause/resume--> paused
        |                        |                          |
        +--------stop------------+-----------stop-----------+--> stopped (final)

What staff read adds what its calls say: a broadcast with nothing left to do (every
call has an outcome the portal will not change by itself) is "done"; one whose queued
calls all wait for calling hours (or for its start time) says when the next may ring.

A call is queued -> sending -> sent -> finished, or rejected, or unknown, or canceled
("not called: the broadcast was stopped"). A queued call whose `not_before` is in the
future waits (for the start time, or for calling hours in the callee's local time):
workers only claim queued calls whose `not_before` has passed, through an index, so
waiting calls cost a claim nothing.

What staff read of a call (completed, no answer, busy, failed, unknown, pending, not
called) and every count of a broadcast's calls come from one place, calls/outcomes.py
(`outcome_q`, `with_outcome_counts`, `outcome_counts`): the admin, the pages, the
exports, the dashboard and the commands all count through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_noop, pgettext
from django.utils.translation import gettext_lazy as _

from audiences.zones import get_zone, zone_of_number  # noqa: F401  (imported from here by the send engine)

# Stored on a call its broadcast's stop canceled (translated when written).
STOPPED_NOT_CALLED = gettext_noop("Not called: the broadcast was stopped.")


class BroadcastState(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    SENDING = "sending", _("sending")
    PAUSED = "paused", _("paused")
    STOPPED = "stopped", _("stopped")


# What staff may do from each stored state, and where it leads.
TRANSITIONS = {
    BroadcastState.SCHEDULED: {"start": BroadcastState.SENDING, "stop": BroadcastState.STOPPED},
    BroadcastState.SENDING: {"pause": BroadcastState.PAUSED, "stop": BroadcastState.STOPPED},
    BroadcastState.PAUSED: {"resume": BroadcastState.SENDING, "stop": BroadcastState.STOPPED},
    BroadcastState.STOPPED: {},
}
FINAL_BROADCAST_STATES = (BroadcastState.STOPPED,)
# Only a broadcast in one of these has its calls claimed by workers.
CLAIMABLE_BROADCAST_STATES = (BroadcastState.SENDING,)


class TransitionRefused(Exception):
    """The broadcast cannot go where it was asked to; `str()` says why in plain words."""


def allowed(state: str, action: str) -> bool:
    return action in TRANSITIONS.get(state, {})


def next_state(state: str, action: str) -> str:
    return TRANSITIONS[state][action]


# --- What staff read of a broadcast, and what they may do with it ---------------------

# Shown, never stored: a broadcast (not stopped) whose calls leave nothing to do.
DONE = "done"
SHOWN_LABELS = {**dict(BroadcastState.choices), DONE: _("done")}
# What staff may do from each state they read, in the order the buttons show. "resend"
# (send again the ones who did not answer) is offered only when there are such calls.
ACTIONS = {
    BroadcastState.SCHEDULED: ("move", "stop"),
    BroadcastState.SENDING: ("pause", "stop", "resend"),
    BroadcastState.PAUSED: ("resume", "stop", "resend"),
    BroadcastState.STOPPED: ("resend",),
    DONE: ("resend",),
}
STEER_ACTIONS = ("pause", "resume", "move", "stop")


@dataclass(frozen=True)
class Status:
    """A broadcast as staff read it: one word for its state, and the actions it allows.

    Every page, list, button, export and command takes them from here (`status`), so
    a broadcast never says "sending" in one place and "done" in another.
    """

    state: str  # a BroadcastState value, or DONE
    pending: int  # calls still to make or waiting for their outcome
    not_made: int  # calls that will never be made (the stop, the stop list, limits)

    @property
    def label(self) -> str:
        return str(SHOWN_LABELS[self.state])

    @property
    def actions(self) -> tuple[str, ...]:
        return ACTIONS[self.state]

    @property
    def steer_actions(self) -> tuple[str, ...]:
        """Stop, pause, resume, move: the ones that change the broadcast's state."""
        return tuple(action for action in STEER_ACTIONS if action in self.actions)

    def allows(self, action: str) -> bool:
        return action in self.actions

    @property
    def final(self) -> bool:
        return self.state in (BroadcastState.STOPPED, DONE)


def shown_state(state: str, pending: int) -> str:
    """The stored state, or DONE when nothing is left to do (a stop stays a stop)."""
    if state == BroadcastState.STOPPED or pending:
        return state
    return DONE


def status(state: str, pending: int, not_made: int = 0) -> Status:
    """What staff read of a broadcast in stored `state` with `pending` calls left (calls/outcomes.py counts)."""
    return Status(shown_state(state, pending), pending, not_made)


# --- Calling hours ------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Calling hours, every day, in the callee's local time; `start` == `end` means any time.

    Equal ends are only how "any time" is held (and stored: an empty `calling_hours`);
    hours people type with equal ends are refused (`typed_window`), never read as any time.
    """

    start: time
    end: time

    @property
    def any_time(self) -> bool:
        return self.start == self.end

    def contains(self, moment: time) -> bool:
        if self.any_time:
            return True
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # overnight, e.g. 22:00-06:00

    def spans(self) -> list[tuple[int, int]]:
        """The window as [from, to) spans of seconds of the day: two when it wraps midnight."""
        start, end = _seconds(self.start), _seconds(self.end)
        if self.any_time:
            return [(0, DAY_SECONDS)]
        if start < end:
            return [(start, end)]
        return [span for span in ((start, DAY_SECONDS), (0, end)) if span[0] < span[1]]

    def within(self, other: Window) -> bool:
        """Whether every moment of this window is inside `other` (21:00-09:00 is not inside 09:00-21:00)."""
        # A span of this window cannot straddle two of `other`'s: they meet only when `other` is any time.
        return all(any(low <= start and end <= high for low, high in other.spans()) for start, end in self.spans())

    def next_opening(self, now: datetime, zone: ZoneInfo) -> datetime:
        """`now` when inside the window there, else the next local opening (an aware datetime)."""
        local = now.astimezone(zone)
        if self.contains(local.time()):
            return now
        opening = datetime.combine(local.date(), self.start, tzinfo=zone)
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), self.start, tzinfo=zone)
        return opening

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


DAY_SECONDS = 24 * 60 * 60
ANY_TIME = Window(time(0), time(0))


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


class WindowError(ValueError):
    """Calling hours that cannot be read; `str()` says why in plain words."""


def parse_window(text: str) -> Window:
    """Calling hours as stored on a broadcast or set in EXOLVE_CALLING_HOURS: '09:00-21:00'; '' or 'any': any time.

    What the portal stored keeps its meaning: it never stores equal ends (they were,
    and are, stored as ''), and a row written by hand with equal ends still reads as
    any time, as it always did. What people type goes through `typed_window` instead.
    ValueError on anything else.
    """
    text = (text or "").strip().lower()
    if text in ("", "any", "00:00-00:00"):
        return ANY_TIME
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError("calling hours look like 09:00-21:00")
    return Window(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))


# Hours and minutes as people write them: 9:00 or 09:00; no seconds.
_TYPED_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_WITH_SECONDS = re.compile(r"[0-9]{1,2}:[0-9]{2}:[0-9]{2}")
# Between the two times: a hyphen, or the dashes word processors put there.
_DASHES = re.compile(r"\s*[-\u2013\u2014]\s*")


def any_time_word() -> str:
    """The word staff type for any time, in their language ("any" is taken in every language)."""
    return pgettext("calling hours", "any")


def typed_window(text: str) -> Window:
    """Calling hours as people type them: '9:00-21:00', '21:00-09:00' (overnight); '' or 'any' (or its word): any time.

    Raises WindowError, in plain words, on anything else: seconds, a time that is
    not one, or equal ends (an empty window: no call could ring).
    """
    text = (text or "").strip().lower()
    if text in ("", "any", any_time_word().lower()):
        return ANY_TIME
    parts = _DASHES.split(text)
    if len(parts) == 2 and any(_WITH_SECONDS.fullmatch(part) for part in parts):
        raise WindowError(gettext("Calling hours take hours and minutes, without seconds: for example 09:00-21:00."))
    matches = [_TYPED_TIME.fullmatch(part) for part in parts]
    if len(parts) != 2 or not all(matches):
        raise WindowError(gettext("Calling hours look like 09:00-21:00: hours and minutes, from-to."))
    start, end = (time(int(match[1]), int(match[2])) for match in matches)
    if start == end:
        raise WindowError(
            gettext("Calling hours from %(time)s to %(time)s are empty: no call could ring. Give two different times.")
            % {"time": f"{start:%H:%M}"}
        )
    return Window(start, end)


def default_window() -> Window:
    return parse_window(settings.EXOLVE_CALLING_HOURS)
