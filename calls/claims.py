"""Claims: queued calls move to "sending" for one worker, each exactly once.

`claim_calls` runs inside the send loop's transaction (`sending.send_queued_calls`):

- a call goes queued -> sending exactly once (a conditional UPDATE under a row lock),
  so a task that runs again, or two workers on one broadcast, never take the same call;
- a claim locks the broadcast's row, so a stop or pause that committed is seen by every
  later claim, and the broadcast's pace holds across workers (counted from when the
  lock is held);
- calls outside calling hours wait for the next opening; calls whose voice message is
  gone are rejected; numbers on the stop list or over their limits are skipped, and so are
  calls from a contact list whose contact no longer has a consent in force for the purpose
  (read in the claim's own query: calls/audience_recipients.py); the calls of a broadcast
  whose purpose may no longer be sent (advertising recorded before) are skipped;
- with per-number limits set, a claim holds its numbers before it counts their calls
  (`limits.hold_numbers`), so two workers sending two broadcasts of the same numbers
  never both take one number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from audiences import sources, stop_list

from . import limits
from .audience_recipients import CONSENT_GONE, consent_in_force_expression
from .lifecycle import CLAIMABLE_BROADCAST_STATES, BroadcastState, get_zone
from .models import SENDABLE_PURPOSES, Broadcast, Call, CallState, Purpose
from .windows import claim_windows

# Plain-language reasons stored on calls (translated when written).

VOICE_MESSAGE_DELETED = _("The voice message was deleted before this call was sent; nothing was sent.")
VOICE_MESSAGE_MISSING = _("The voice message no longer exists at Exolve (it was deleted there); nothing was sent.")
SOURCE_DISABLED = _(
    "Not called: calls from this broadcast's caller number were disabled after it was recorded. "
    "Send again from an enabled number."
)
NOT_SENDABLE_PURPOSE = _(
    "Not called: advertising by automatic calls is forbidden by law whatever the consent "
    "(Federal law 38-FZ “On advertising”, article 18 part 2)."
)

# A claim whose calls' numbers another claim held looks again this much later.
HELD_BACK_RETRY = timedelta(seconds=0.05)


@dataclass(frozen=True)
class ClaimedCall:
    pk: int
    source: str
    destination: str
    service_id: str
    claim: str


@dataclass
class Claim:
    """What a claim got: calls to send now, or why none (halted) and when to look again."""

    calls: list
    halted: str = ""  # the broadcast's state when it may not be sent now (paused, stopped)
    retry_at: datetime | None = None  # queued calls wait until then (start, pace, calling hours)


def claim_calls(broadcast_id: int | None, limit: int, worker_id: str) -> Claim:
    """Move up to `limit` queued calls whose time has come to "sending" for this worker; each only ever once.

    Must run inside a transaction. The broadcast's row is locked first, so a stop or a
    pause that commits is seen by every later claim (none takes a call after it), and
    its pace holds across all workers. Calls outside calling hours are moved to the
    next opening instead of being taken; calls whose voice message is gone are rejected.
    """
    if limit <= 0:
        return Claim([])
    now = timezone.now()
    if broadcast_id is None:
        broadcast_id = _next_claimable_broadcast(now)
        if broadcast_id is None:
            return Claim([])
    steering = _lock_broadcast(broadcast_id)
    if steering is None:
        return Claim([])
    # Read once the lock is held: a time read before waiting for it would let the next
    # pace slot start that much early (two calls closer than the pace allows).
    now = timezone.now()
    state = steering["state"]
    if state == BroadcastState.SCHEDULED:
        if steering["start_at"] and steering["start_at"] > now:
            return Claim([], retry_at=steering["start_at"])
        Broadcast.objects.filter(pk=broadcast_id).update(state=BroadcastState.SENDING, state_changed_at=now)
    elif state not in CLAIMABLE_BROADCAST_STATES:
        return Claim([], halted=state)
    if _skipped_as_not_sendable(broadcast_id, steering):
        return Claim([])
    pace = steering["pace_per_minute"]
    if pace:
        next_at = steering["pace_next_at"]
        if next_at and next_at > now:
            return Claim([], retry_at=next_at)
        limit = 1  # one call per pace slot, whichever worker takes it
    claim = f"{worker_id[:40]}:{uuid.uuid4().hex[:16]}"
    queryset = _claimable(broadcast_id, now, steering["purpose"])
    # Working days and days of rest each have their window; a debt reminder's never wider than the law's.
    window = claim_windows(steering["calling_hours"], steering["calling_hours_rest"], steering["purpose"])
    default_zone = get_zone(steering["time_zone"]) or get_zone(settings.TIME_ZONE)
    debt = steering["purpose"] == Purpose.DEBT_REMINDER
    while True:
        claimed, held_back = _claim_batch(queryset, limit, claim, now, (window, default_zone, debt))
        if claimed is not None:
            break
    if claimed and pace:
        Broadcast.objects.filter(pk=broadcast_id).update(
            pace_next_at=max(steering["pace_next_at"] or now, now) + timedelta(seconds=60 / pace)
        )
    if claimed:
        return Claim(claimed)
    if held_back:  # another claim holds their numbers for a moment: look again soon
        return Claim([], retry_at=now + HELD_BACK_RETRY)
    return Claim([], retry_at=_first_waiting(broadcast_id))


def _claimable(broadcast_id: int, now, purpose: str):
    """The broadcast's queued calls whose time has come, with whether each may still ring for lack of consent."""
    queryset = Call.objects.filter(broadcast_id=broadcast_id, state=CallState.QUEUED, not_before__lte=now)
    queryset = queryset.annotate(consent_in_force=consent_in_force_expression(purpose))
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: workers skip each other's rows instead of waiting. (SQLite has no
        # row locks; its IMMEDIATE transactions serialise the claims instead.)
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def _lock_broadcast(broadcast_id: int) -> dict | None:
    queryset = Broadcast.objects.filter(pk=broadcast_id)
    if connection.features.has_select_for_update:
        queryset = queryset.select_for_update(no_key=connection.features.has_select_for_no_key_update)
    return (
        queryset.annotate(**sources.source_enabled_q())
        .values(
            "state",
            "start_at",
            "pace_per_minute",
            "pace_next_at",
            "calling_hours",
            "calling_hours_rest",
            "time_zone",
            "purpose",
            "source",
            "source_enabled",
            "any_source_enabled",
        )
        .first()
    )


def _skipped_as_not_sendable(broadcast_id: int, steering: dict) -> bool:
    """A broadcast that may no longer ring skips its queued calls, with the reason: an advertising one
    recorded before, or one whose caller number a Manager disabled since (the operator's anti-fraud
    blocks calls from numbers that are not the company's own)."""
    if steering["purpose"] not in SENDABLE_PURPOSES:
        reason = gettext(NOT_SENDABLE_PURPOSE)
    elif not sources.still_allowed(steering):
        reason = gettext(SOURCE_DISABLED)
    else:
        return False
    Call.objects.filter(broadcast_id=broadcast_id, state=CallState.QUEUED).update(state=CallState.SKIPPED, error=reason)
    return True


def _next_claimable_broadcast(now) -> int | None:
    """For a worker that sends every broadcast: one with a call whose time has come."""
    return (
        Call.objects.filter(
            state=CallState.QUEUED,
            not_before__lte=now,
            broadcast__state__in=(*CLAIMABLE_BROADCAST_STATES, BroadcastState.SCHEDULED),
        )
        .order_by()
        .values_list("broadcast_id", flat=True)
        .first()
    )


def _first_waiting(broadcast_id: int) -> datetime | None:
    """When the broadcast's next waiting call may ring (the claim index, read from its start)."""
    return (
        Call.objects.filter(broadcast_id=broadcast_id, state=CallState.QUEUED)
        .order_by("not_before")
        .values_list("not_before", flat=True)
        .first()
    )


def _claim_batch(queryset, limit, claim, now, rules) -> tuple[list[ClaimedCall] | None, bool]:
    """One attempt: (the calls taken, whether some were held back for a later look).

    `rules`: the broadcast's windows (calls/windows.py), its zone, whether it is a debt reminder.

    The calls are None when every row found had to be set aside (so look again)."""
    # Ordered by not_before, which follows the claim index's two equality columns
    # (broadcast, state, not_before): PostgreSQL walks that index in order and stops
    # after `limit` rows, never reading waiting calls nor those already sent. Unordered,
    # its planner chose a scan of the whole table (bench/README.md).
    rows = list(
        queryset.order_by("not_before").values_list(
            "pk",
            "source",
            "destination",
            "time_zone",
            "voice_message_id",
            "voice_message__exolve_id",
            "voice_message__missing_since",
            "consent_in_force",
        )[:limit]
    )
    window, default_zone, debt = rules
    sendable, gone, missing, no_consent = [], [], [], []
    later: dict[datetime, list[int]] = {}  # outside calling hours: pk by next opening
    for pk, source, destination, zone_name, vm_id, exolve_id, missing_since, consent_ok in rows:
        if not consent_ok:
            no_consent.append(pk)
        elif vm_id is None or not exolve_id:
            gone.append(pk)
        elif missing_since is not None:
            missing.append(pk)
        else:
            if not window.any_time:
                opening = window.next_opening(now, get_zone(zone_name) or default_zone)
                if opening > now:
                    later.setdefault(opening, []).append(pk)
                    continue
            sendable.append(ClaimedCall(pk, source, destination, exolve_id, claim))
    _set_aside(
        (gone, CallState.REJECTED, VOICE_MESSAGE_DELETED),
        (missing, CallState.REJECTED, VOICE_MESSAGE_MISSING),
        (no_consent, CallState.SKIPPED, CONSENT_GONE),
    )
    for opening, pks in later.items():  # the window closed while they waited: wait again
        Call.objects.filter(pk__in=pks, state=CallState.QUEUED).update(not_before=opening)
    sendable, held_back = _skip_unreachable(sendable, now, debt)
    if not sendable:
        return (None if rows and not held_back else []), held_back
    pks = [c.pk for c in sendable]
    # The state condition is what makes queued -> sending happen once, whatever the locking.
    taken = Call.objects.filter(pk__in=pks, state=CallState.QUEUED).update(
        state=CallState.SENDING, claimed_at=now, claimed_by=claim
    )
    if taken != len(sendable):
        ours = set(Call.objects.filter(pk__in=pks, claimed_by=claim).values_list("pk", flat=True))
        sendable = [c for c in sendable if c.pk in ours]
    return sendable, held_back


def _set_aside(*groups) -> None:
    """Each (calls, final state, reason) group that will not ring: moved there, with the reason."""
    for pks, state, reason in groups:
        if pks:
            Call.objects.filter(pk__in=pks, state=CallState.QUEUED).update(state=state, error=gettext(reason))


def _skip_unreachable(sendable: list[ClaimedCall], now, debt: bool = False) -> tuple[list[ClaimedCall], bool]:
    """Leave out (as skipped, with the reason) numbers on the stop list or over their limits.

    Checked here again because a number may be added, or called elsewhere, after the
    broadcast was recorded. One query for the stop list; with per-number limits, one to
    hold the numbers (limits.hold_numbers) and one to count their calls. Calls whose
    number another claim holds right now, and a second call to a number in the same
    batch, stay queued for a later look (then they are counted with the others): the
    second value says whether any was held back. A debt reminder always holds and counts
    (230-FZ's limits, calls/debt_rules.py), with or without the portal's limits.
    """
    if not sendable:
        return sendable, False
    destinations = [call.destination for call in sendable]
    reasons = stop_list.blocked(destinations)
    held_back = False
    if debt or limits.limits_set():
        busy = limits.hold_numbers(n for n in destinations if n not in reasons)
        seen, kept = set(busy), []
        for call in sendable:
            if call.destination in seen and call.destination not in reasons:
                held_back = True
                continue
            seen.add(call.destination)
            kept.append(call)
        sendable = kept
        counted = [call.destination for call in sendable if call.destination not in reasons]
        reasons.update(limits.over_limits(counted, now=now, debt=debt))
    if not reasons:
        return sendable, held_back
    skipped: dict[str, list[int]] = {}
    for call in sendable:
        if call.destination in reasons:
            skipped.setdefault(reasons[call.destination], []).append(call.pk)
    for reason, pks in skipped.items():
        Call.objects.filter(pk__in=pks, state=CallState.QUEUED).update(state=CallState.SKIPPED, error=gettext(reason))
    return [call for call in sendable if call.destination not in reasons], held_back
