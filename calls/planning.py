"""What a broadcast's plan means for staff: the preview's zones and start times, and what happens next.

The plan itself (start, calling hours, zone, pace) is `plan_form.SendPlan`; the rules
are in `lifecycle` and `plan_rules`. This module only reads them, for the send preview, the broadcast
page and the commands, in a fixed number of queries whatever the number of calls.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from exolve_portal.zone_names import zone_label

from .lifecycle import DONE, BroadcastState, get_zone, shown_state
from .models import Broadcast, Call, CallState
from .plan_form import SendPlan
from .recording import callee_zone


@dataclass(frozen=True)
class ZoneStart:
    """How many numbers of a preview ring in `zone`, and when the first of them may ring."""

    zone: str
    count: int
    starts_at: datetime  # aware
    from_number: bool  # the zone comes from the numbers (else: the broadcast's zone)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(get_zone(self.zone) or get_zone(settings.TIME_ZONE))

    @property
    def local_start_text(self) -> str:
        return formats.date_format(self.local_start, "DATETIME_FORMAT")

    @property
    def now(self) -> bool:
        return self.starts_at <= timezone.now()


def zone_starts(numbers, plan: SendPlan, zones: dict[str, str] | None = None) -> list[ZoneStart]:
    """Per callee zone (from the number, else the broadcast's zone): how many and when they start."""
    plan = plan.filled()
    broadcast_zone = plan.time_zone
    counts: Counter = Counter()
    known: set[str] = set()
    for number in numbers:
        from_number, effective = callee_zone(number, zones, broadcast_zone)
        counts[effective] += 1
        if from_number:
            known.add(effective)
    now = timezone.now()
    start = plan.start_at if plan.start_at and plan.start_at > now else now
    window = plan.window
    rows = []
    for zone_name, count in counts.items():
        zone = get_zone(zone_name) or get_zone(settings.TIME_ZONE)
        rows.append(ZoneStart(zone_name, count, window.next_opening(start, zone), zone_name in known))
    return sorted(rows, key=lambda row: (row.starts_at, -row.count, row.zone))


def delayed_start(rows: list[ZoneStart]) -> str:
    """When nothing of a preview may ring now (calling hours, a later start): the first local time
    calls start ("09:00", or with the date when not today or tomorrow); "" when some ring at once."""
    if not rows or any(row.now for row in rows):
        return ""
    first = min(rows, key=lambda row: row.starts_at).local_start
    if (first.date() - timezone.now().astimezone(first.tzinfo).date()).days <= 1:
        return formats.time_format(first, "TIME_FORMAT")
    return formats.date_format(first, "DATETIME_FORMAT")


@dataclass(frozen=True)
class Waiting:
    """Queued calls of one callee zone that wait (for the start or calling hours) until `until`."""

    zone: str
    count: int
    until: datetime

    @property
    def local_until(self) -> datetime:
        return self.until.astimezone(get_zone(self.zone) or get_zone(settings.TIME_ZONE))

    @property
    def local_until_text(self) -> str:
        """The local time it waits for: "09:00" today or tomorrow there, else with the date."""
        local = self.local_until
        if (local.date() - timezone.now().astimezone(local.tzinfo).date()).days <= 1:
            return formats.time_format(local, "TIME_FORMAT")
        return formats.date_format(local, "DATETIME_FORMAT")


def waiting_by_zone(broadcast: Broadcast, now: datetime | None = None) -> list[Waiting]:
    """Queued calls whose time has not come, per callee zone, with the first time each may ring. One query."""
    now = now or timezone.now()
    rows = (
        Call.objects.filter(broadcast=broadcast, state=CallState.QUEUED, not_before__gt=now)
        .values("time_zone")
        .annotate(count=Count("pk"), first=Min("not_before"))
        .order_by()
    )
    merged: dict[str, Waiting] = {}
    for row in rows:
        zone = row["time_zone"] or broadcast.time_zone
        if zone in merged:
            old = merged[zone]
            merged[zone] = Waiting(zone, old.count + row["count"], min(old.until, row["first"]))
        else:
            merged[zone] = Waiting(zone, row["count"], row["first"])
    return sorted(merged.values(), key=lambda item: (item.until, item.zone))


def display_state(broadcast: Broadcast, counts: dict) -> str:
    """What staff read: the stored state, or "done" when its calls leave nothing to do (lifecycle.shown_state)."""
    return shown_state(broadcast.state, counts["pending"])


def next_step(broadcast: Broadcast, counts: dict, queued: int, waiting: list[Waiting]) -> str:
    """One line, in the staff's words, of where the broadcast is and what happens next."""
    state = display_state(broadcast, counts)
    total = counts["total"]
    if state == DONE:
        return gettext("done: every call has its outcome.")
    if state == BroadcastState.STOPPED:
        return ngettext(
            "stopped: %(canceled)d call was not made.", "stopped: %(canceled)d calls were not made.", counts["canceled"]
        ) % {"canceled": counts["canceled"]}
    if state == BroadcastState.PAUSED:
        return ngettext("paused: %(count)d call waits.", "paused: %(count)d calls wait.", queued) % {"count": queued}
    if state == BroadcastState.SCHEDULED and broadcast.start_at:
        return gettext("scheduled: starts at %(when)s.") % {"when": format_local(broadcast.start_at)}
    made = total - queued
    line = gettext("sending: %(made)d of %(total)d.") % {"made": made, "total": total}
    if waiting and queued and queued == sum(item.count for item in waiting):
        # Nothing can ring now: say when something will.
        line += " " + gettext("Next calls at %(when)s.") % {"when": format_local(waiting[0].until)}
    return line


def format_local(moment: datetime) -> str:
    """A moment in the staff member's time zone, with the zone as people name it ("Москва (UTC+3)")."""
    local = timezone.localtime(moment)
    zone = zone_label(timezone.get_current_timezone_name(), moment)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({zone})"


def scheduled_broadcasts(limit: int = 10) -> list[Broadcast]:
    """Broadcasts that have not started yet, soonest first, each with `call_count`. One query."""
    return list(
        Broadcast.objects.filter(state=BroadcastState.SCHEDULED)
        .select_related("created_by")
        .defer("invalid_numbers", "duplicate_numbers")
        .annotate(call_count=Count("calls"))
        .order_by("start_at", "pk")[:limit]
    )
