"""The worker's sender: claims queued calls and hands them to Exolve, each exactly once.

A worker task (`tasks.send_broadcast`) runs `send_queued_calls`, which claims queued
calls a few at a time and keeps `EXOLVE_MAX_IN_FLIGHT` requests in flight:

- a call goes queued -> sending exactly once (a conditional UPDATE under a row lock),
  so a task that runs again, or two workers on one broadcast, never take the same call;
- a call whose outcome cannot be known (timeout, dropped connection, 5xx, a worker that
  died while sending) becomes "unknown" and is never re-sent by itself;
- a call Exolve refused as "too many requests" (429) was not made: it goes back to the
  queue and is sent later, once, while the worker's client slows down for everyone;
- a claim locks the broadcast's row, so a stop or pause that committed is seen by every
  later claim, and the broadcast's pace holds across workers (counted from when the
  lock is held);
- with per-number limits set, a claim holds its numbers before it counts their calls
  (`stop_list.hold_numbers`), so two workers sending two broadcasts of the same numbers
  never both take one number.

All database work happens in the calling thread; the sender threads only talk to Exolve.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from audiences import stop_list
from exolve_portal.exolve import errors
from exolve_portal.exolve_connection import get_client
from exolve_portal.threads import in_current_language

from . import limits
from .lifecycle import CLAIMABLE_BROADCAST_STATES, STOPPED_NOT_CALLED, BroadcastState, get_zone, parse_window
from .models import Broadcast, Call, CallState

logger = logging.getLogger(__name__)

# Plain-language reasons stored on calls (translated when written).
WORKER_STOPPED = _(
    "The worker stopped while sending; it is not known whether the person was called. Check before sending again."
)
VOICE_MESSAGE_DELETED = _("The voice message was deleted before this call was sent; nothing was sent.")
VOICE_MESSAGE_MISSING = _("The voice message no longer exists at Exolve (it was deleted there); nothing was sent.")
NOT_SENT_SUFFIX = _("Nothing was sent.")
UNEXPECTED = _("An unexpected error happened while sending; it is not known whether the person was called.")

# Documented refusals: Exolve did nothing, the call is rejected with the reason.
REFUSALS = (
    errors.TrialRestrictionError,
    errors.ValidationError,
    errors.AuthenticationError,
    errors.AccountStatusError,
)


@dataclass(frozen=True)
class ClaimedCall:
    pk: int
    source: str
    destination: str
    service_id: str
    claim: str


@dataclass(frozen=True)
class SendResult:
    """What became of one request. Texts are translated when written, in the writing thread."""

    state: str
    call_id: str | None = None
    explanation: str = ""
    detail: str = ""
    suffix: str = ""

    def error_text(self) -> str:
        if not self.explanation:
            return ""
        words = " ".join(gettext(part) for part in (self.explanation, self.suffix) if part)
        return f"{words} ({self.detail})" if self.detail else words


@dataclass
class SendSummary:
    counts: dict = field(default_factory=dict)
    stopped: bool = False  # a stop (SIGTERM) ended the loop before the queue was empty
    halted: str = ""  # the broadcast was paused or stopped by staff
    retry_at: datetime | None = None  # calls wait until then (calling hours, start, pace)

    def add(self, state: str) -> None:
        self.counts[state] = self.counts.get(state, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def sweep_stale_sending(stale_after: float | None = None) -> int:
    """Calls left "sending" by a worker that died become "unknown" (never re-sent)."""
    seconds = settings.EXOLVE_SENDING_STALE_AFTER if stale_after is None else stale_after
    cutoff = timezone.now() - timedelta(seconds=seconds)
    swept = Call.objects.filter(state=CallState.SENDING, claimed_at__lte=cutoff).update(
        state=CallState.UNKNOWN, error=gettext(WORKER_STOPPED)
    )
    if swept:
        logger.warning("Marked %d call(s) left sending by a stopped worker as unknown", swept)
    return swept


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
    pace = steering["pace_per_minute"]
    if pace:
        next_at = steering["pace_next_at"]
        if next_at and next_at > now:
            return Claim([], retry_at=next_at)
        limit = 1  # one call per pace slot, whichever worker takes it
    claim = f"{worker_id[:40]}:{uuid.uuid4().hex[:16]}"
    queryset = Call.objects.filter(broadcast_id=broadcast_id, state=CallState.QUEUED, not_before__lte=now)
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: workers skip each other's rows instead of waiting. (SQLite has no
        # row locks; its IMMEDIATE transactions serialise the claims instead.)
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    window = parse_window(steering["calling_hours"])
    default_zone = get_zone(steering["time_zone"]) or get_zone(settings.TIME_ZONE)
    while True:
        claimed, held_back = _claim_batch(queryset, limit, claim, now, window, default_zone)
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


def _lock_broadcast(broadcast_id: int) -> dict | None:
    queryset = Broadcast.objects.filter(pk=broadcast_id)
    if connection.features.has_select_for_update:
        queryset = queryset.select_for_update(no_key=connection.features.has_select_for_no_key_update)
    return queryset.values("state", "start_at", "pace_per_minute", "pace_next_at", "calling_hours", "time_zone").first()


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


def _release(calls: list[ClaimedCall]) -> None:
    """Put claimed calls that were never handed to Exolve back in the queue."""
    if not calls:
        return
    try:
        for call in calls:
            Call.objects.filter(pk=call.pk, claimed_by=call.claim, state=CallState.SENDING).update(
                state=CallState.QUEUED, claimed_by="", claimed_at=None
            )
    except Exception:  # the database itself may be why we stopped: the sweep covers it
        logger.exception("Could not give %d unsent call(s) back to the queue", len(calls))


def _drain(results: queue.SimpleQueue, timeout: float | None = None, at_least: int = 1) -> list:
    """Everything in the queue so far; with a `timeout`, wait up to that long for `at_least` items."""
    finished = []
    if timeout is not None:
        deadline = time.monotonic() + max(timeout, 0.0)
        while len(finished) < at_least:
            try:
                finished.append(results.get(timeout=max(deadline - time.monotonic(), 0.0)))
            except queue.Empty:
                break
    while True:
        try:
            finished.append(results.get_nowait())
        except queue.Empty:
            return finished


def _claim_batch(queryset, limit, claim, now, window, default_zone) -> tuple[list[ClaimedCall] | None, bool]:
    """One attempt: (the calls taken, whether some were held back for a later look).

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
        )[:limit]
    )
    sendable, gone, missing = [], [], []
    later: dict[datetime, list[int]] = {}  # outside calling hours: pk by next opening
    for pk, source, destination, zone_name, vm_id, exolve_id, missing_since in rows:
        if vm_id is None or not exolve_id:
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
    if gone:
        Call.objects.filter(pk__in=gone, state=CallState.QUEUED).update(
            state=CallState.REJECTED, error=gettext(VOICE_MESSAGE_DELETED)
        )
    if missing:
        Call.objects.filter(pk__in=missing, state=CallState.QUEUED).update(
            state=CallState.REJECTED, error=gettext(VOICE_MESSAGE_MISSING)
        )
    for opening, pks in later.items():  # the window closed while they waited: wait again
        Call.objects.filter(pk__in=pks, state=CallState.QUEUED).update(not_before=opening)
    sendable, held_back = _skip_unreachable(sendable, now)
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


def _skip_unreachable(sendable: list[ClaimedCall], now) -> tuple[list[ClaimedCall], bool]:
    """Leave out (as skipped, with the reason) numbers on the stop list or over their limits.

    Checked here again because a number may be added, or called elsewhere, after the
    broadcast was recorded. One query for the stop list; with per-number limits, one to
    hold the numbers (stop_list.hold_numbers) and one to count their calls. Calls whose
    number another claim holds right now, and a second call to a number in the same
    batch, stay queued for a later look (then they are counted with the others): the
    second value says whether any was held back.
    """
    if not sendable:
        return sendable, False
    destinations = [call.destination for call in sendable]
    reasons = stop_list.blocked(destinations)
    held_back = False
    if limits.limits_set():
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
        reasons.update(limits.over_limits(counted, now=now))
    if not reasons:
        return sendable, held_back
    skipped: dict[str, list[int]] = {}
    for call in sendable:
        if call.destination in reasons:
            skipped.setdefault(reasons[call.destination], []).append(call.pk)
    for reason, pks in skipped.items():
        Call.objects.filter(pk__in=pks, state=CallState.QUEUED).update(state=CallState.SKIPPED, error=gettext(reason))
    return [call for call in sendable if call.destination not in reasons], held_back


def send_one(client, call: ClaimedCall) -> SendResult:
    """Make one MakeVoiceMessage request and say what became of it (no database access)."""
    try:
        call_id = client.make_voice_message(call.source, call.destination, call.service_id)
    except errors.RateLimitedError:
        # Not carried out: back to the queue (the client already slowed every thread down).
        return SendResult(CallState.QUEUED)
    except REFUSALS as exc:
        return SendResult(CallState.REJECTED, explanation=exc.explanation, detail=str(exc))
    except errors.ExolveError as exc:
        if exc.may_have_reached:
            return SendResult(CallState.UNKNOWN, explanation=exc.explanation, detail=str(exc))
        # Certainly never arrived (the client already retried the connection).
        return SendResult(CallState.REJECTED, explanation=exc.explanation, detail=str(exc), suffix=NOT_SENT_SUFFIX)
    except Exception as exc:  # any surprise after the request may have left: unknown
        logger.exception("Unexpected error sending call %s", call.pk)
        return SendResult(CallState.UNKNOWN, explanation=UNEXPECTED, detail=type(exc).__name__)
    return SendResult(CallState.SENT, call_id=call_id)


def _changes(call: ClaimedCall, outcome: SendResult, now) -> dict:
    if outcome.state == CallState.SENT:
        return {
            "state": CallState.SENT,
            "call_id": outcome.call_id,
            "service_id": call.service_id,
            "sent_at": now,
            "next_refresh_at": now + timedelta(seconds=settings.EXOLVE_REFRESH_FIRST_DELAY),
            "error": "",
        }
    return {"state": outcome.state, "service_id": call.service_id, "error": outcome.error_text()}


def _write_sent(sent: list[tuple[ClaimedCall, SendResult]], sent_at, refresh_at) -> None:
    """Mark calls Exolve accepted as sent, with their call ids: one statement for all of them.

    Plain SQL, not the ORM's bulk_update, whose CASE expressions cost more CPU per call
    than the request to Exolve itself (bench/README.md). Keyed on the claim: even if a
    sweep marked a call unknown meanwhile the real outcome wins, and a call claimed by
    someone else is never touched.
    """
    quote = connection.ops.quote_name
    table, column = quote(Call._meta.db_table), {f.name: quote(f.column) for f in Call._meta.concrete_fields}
    adapt = connection.ops.adapt_datetimefield_value
    constants = [CallState.SENT, adapt(sent_at), adapt(refresh_at), ""]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One UPDATE joined to the rows' values, passed as four arrays: one round trip,
            # and one query text whatever the batch size (psycopg parses it once).
            cursor.execute(
                f"UPDATE {table} SET {column['state']} = %s, {column['sent_at']} = %s, "
                f"{column['next_refresh_at']} = %s, {column['error']} = %s, "
                f"{column['call_id']} = v.call_id, {column['service_id']} = v.service_id "
                f"FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS v(id, claim, call_id, service_id) "
                f"WHERE {table}.{column['id']} = v.id AND {table}.{column['claimed_by']} = v.claim",
                [
                    *constants,
                    [c.pk for c, _o in sent],
                    [c.claim for c, _o in sent],
                    [o.call_id for _c, o in sent],
                    [c.service_id for c, _o in sent],
                ],
            )
        else:  # SQLite: executemany of one UPDATE runs in C
            cursor.executemany(
                f"UPDATE {table} SET {column['state']} = %s, {column['sent_at']} = %s, "
                f"{column['next_refresh_at']} = %s, {column['error']} = %s, "
                f"{column['call_id']} = %s, {column['service_id']} = %s "
                f"WHERE {column['id']} = %s AND {column['claimed_by']} = %s",
                [(*constants, o.call_id, c.service_id, c.pk, c.claim) for c, o in sent],
            )


def record_outcomes(finished: list[tuple[ClaimedCall, SendResult]], now=None) -> None:
    """Write the outcomes of finished requests: one UPDATE per kind of outcome."""
    now = now or timezone.now()
    sent = [(call, outcome) for call, outcome in finished if outcome.state == CallState.SENT]
    others = [(call, outcome) for call, outcome in finished if outcome.state != CallState.SENT]
    if sent:
        _write_sent(sent, now, now + timedelta(seconds=settings.EXOLVE_REFRESH_FIRST_DELAY))
    requeued = [call for call, outcome in others if outcome.state == CallState.QUEUED]
    if requeued:  # refused as too many: given back, any worker may claim them again
        Call.objects.filter(
            pk__in=[call.pk for call in requeued], claimed_by__in={call.claim for call in requeued}
        ).update(state=CallState.QUEUED, claimed_by="", claimed_at=None)
    for call, outcome in others:  # refusals and unknowns are rare: one UPDATE each
        if outcome.state != CallState.QUEUED:
            Call.objects.filter(pk=call.pk, claimed_by=call.claim).update(**_changes(call, outcome, now))


_STOP = object()
# A claim whose calls' numbers another claim held looks again this much later.
HELD_BACK_RETRY = timedelta(seconds=0.05)
# A pace or start this close is waited for in the loop; a later one ends the task, which
# is enqueued again (deferred) for that time.
SHORT_WAIT_SECONDS = 5.0
# Results that came back are written at the latest this long after the first of them
# (with the next claim, usually sooner): a crash in between marks them "unknown".
WRITE_DELAY_SECONDS = 0.2
# How often a send loop looks whether its broadcast was paused or stopped meanwhile.
HALT_CHECK_SECONDS = 0.25
# How often a send loop says it is alive (Broadcast.sender_beat_at), so the safety net
# can tell a broadcast whose worker died from one that is being sent.
BEAT_SECONDS = 10


@contextmanager
def stop_on_signal(stop: threading.Event):
    """While sending, SIGTERM/SIGINT mean "stop claiming and finish what is in flight".

    Only in the main thread (where `db_worker` runs tasks). The worker's own handler is
    told about the first signal once the send loop has finished, so the worker exits
    after this task; a second signal does not cut the loop short (the requests in flight
    end within the read timeout, and their results are written).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signal.SIGTERM, signal.SIGINT]
    previous = {signum: signal.getsignal(signum) for signum in wanted}
    received: list[int] = []

    def handler(signum, frame):
        if not received:
            logger.warning("Received %s: no more calls are claimed; finishing those in flight", signum)
        received.append(signum)
        stop.set()

    for signum in wanted:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if received and callable(previous[received[0]]):
            previous[received[0]](received[0], None)


def send_queued_calls(
    broadcast_id: int | None = None,
    *,
    worker_id: str | None = None,
    max_in_flight: int | None = None,
    stop: threading.Event | None = None,
) -> SendSummary:
    """Send the queued calls of a broadcast (or all queued calls) until none is left.

    `max_in_flight` sender threads each take the next claimed call as soon as their
    request finishes, so the database work of this (calling) thread never holds a
    request back; it writes finished outcomes in batches and keeps a small reserve of
    claimed calls topped up. Safe to run in several processes at once.

    When `stop` is set (SIGTERM in a worker), no call is claimed any more, the claimed
    calls not yet handed to Exolve go back to the queue, and the requests in flight are
    waited for and written (`summary.stopped` is then True). Whatever ends the loop,
    every result that came back is written before it returns or raises.
    """
    sweep_stale_sending()
    stop = stop or threading.Event()
    # The process in the claim, so it shows which worker took (or lost) a call.
    worker_id = worker_id or f"{socket.gethostname()[:24]}-{os.getpid()}"
    slots = max(int(max_in_flight or settings.EXOLVE_MAX_IN_FLIGHT), 1)
    # Claimed but not yet sent: if the worker dies, these too become "unknown". As many
    # as the slots, so that a turn claims (and writes) about half of that at once: the
    # cost of a turn's transaction is shared by that many calls (bench/README.md).
    reserve_size = max(2, 2 * slots)
    client = get_client()
    summary = SendSummary()
    reserve: queue.SimpleQueue = queue.SimpleQueue()
    results: queue.SimpleQueue = queue.SimpleQueue()

    def sender():
        while (call := reserve.get()) is not _STOP:
            results.put((call, send_one(client, call)))

    target = in_current_language(sender)
    threads = [threading.Thread(target=target, name=f"exolve-send-{i}", daemon=True) for i in range(slots)]
    for thread in threads:
        thread.start()
    outstanding = 0  # claimed and not yet written back
    unwritten: list = []  # results that came back, not yet written
    unwritten_since = 0.0  # monotonic: when the oldest of them came back
    exhausted = False
    beat_at = checked_at = 0.0
    paced_until = 0.0  # monotonic: the broadcast's pace lets the next call go then
    with stop_on_signal(stop):
        try:
            while True:
                if stop.is_set() and not summary.stopped:
                    summary.stopped = True
                    # Not handed to Exolve yet: back to the queue, for this or another worker.
                    outstanding -= _set_aside(reserve, canceled=False)
                clock = time.monotonic()
                if broadcast_id is not None and clock - beat_at >= BEAT_SECONDS:
                    beat_at = clock
                    Broadcast.objects.filter(pk=broadcast_id).update(sender_beat_at=timezone.now())
                if broadcast_id is not None and not summary.halted and clock - checked_at >= HALT_CHECK_SECONDS:
                    # Between claims too: a stop or pause must not wait for the reserve to run low.
                    checked_at = clock
                    state = Broadcast.objects.filter(pk=broadcast_id).values_list("state", flat=True).first()
                    if state in (BroadcastState.PAUSED, BroadcastState.STOPPED):
                        summary.halted = state
                        outstanding -= _set_aside(reserve, canceled=state == BroadcastState.STOPPED)
                        exhausted = True
                pacing = clock < paced_until
                # Claim more only when the reserve runs low, so claims come in batches;
                # otherwise wait for requests to finish (as many as bring the reserve
                # low), for the pace, or for the results held back to be due for writing.
                may_claim = not exhausted and not summary.stopped and not pacing
                low_mark = slots + reserve_size // 4
                in_hand = outstanding - len(unwritten)  # in flight or in the reserve
                at_least = 1
                if may_claim and in_hand < low_mark:
                    timeout = None
                elif in_hand > 0:
                    at_least = in_hand - low_mark + 1 if may_claim else in_hand
                    timeout = WRITE_DELAY_SECONDS - (clock - unwritten_since) if unwritten else 1.0
                elif pacing:
                    timeout = min(1.0, paced_until - clock)
                else:
                    timeout = None
                came_back = _drain(results, timeout, at_least)
                if came_back and not unwritten:
                    unwritten_since = time.monotonic()
                unwritten += came_back
                in_hand = outstanding - len(unwritten)
                wanted = slots + reserve_size - in_hand if may_claim and in_hand < low_mark else 0
                # Results are written with the next claim, after a short delay, or when
                # nothing else is in flight: one transaction for many calls.
                write_due = unwritten and (
                    len(unwritten) == outstanding
                    or time.monotonic() - unwritten_since >= WRITE_DELAY_SECONDS
                    or summary.stopped
                    or exhausted
                )
                if write_due or wanted > 0:
                    # One short transaction per turn: write what finished, top up the reserve.
                    with transaction.atomic():
                        record_outcomes(unwritten)
                        got = claim_calls(broadcast_id, wanted, worker_id) if wanted > 0 else Claim([])
                    finished, unwritten = unwritten, []
                    for call in got.calls:
                        reserve.put(call)
                    outstanding += len(got.calls) - len(finished)
                    if _count(summary, finished):
                        exhausted = False  # calls given back after a 429 are still to send
                    if got.halted:
                        summary.halted = got.halted
                        outstanding -= _set_aside(reserve, canceled=got.halted == BroadcastState.STOPPED)
                        exhausted = True
                    elif wanted > 0 and not got.calls:
                        wait = (got.retry_at - timezone.now()).total_seconds() if got.retry_at else None
                        if wait is not None and wait <= SHORT_WAIT_SECONDS:
                            paced_until = time.monotonic() + max(wait, 0.0)
                        else:
                            exhausted = True
                            summary.retry_at = got.retry_at
                if (exhausted or summary.stopped) and outstanding == 0:
                    break
        finally:
            # Claimed calls no thread has taken yet were certainly not sent: give them
            # back. Requests already in flight complete, and their results are written,
            # whatever ended the loop (a crash, the database, an interrupt).
            _release(_drain(reserve))
            for _thread in threads:
                reserve.put(_STOP)
            for thread in threads:
                thread.join()
            _write_late_results(unwritten + _drain(results), summary)
    return summary


def _set_aside(reserve: queue.SimpleQueue, *, canceled: bool) -> int:
    """Take back the claimed calls no thread has sent: queued again, or canceled after a stop."""
    unsent = _drain(reserve)
    if canceled:
        for call in unsent:
            Call.objects.filter(pk=call.pk, claimed_by=call.claim, state=CallState.SENDING).update(
                state=CallState.CANCELED, claimed_by="", error=gettext(STOPPED_NOT_CALLED)
            )
    else:
        _release(unsent)
    return len(unsent)


def _count(summary: SendSummary, finished) -> int:
    """Add written outcomes to the summary; return how many calls went back to the queue."""
    requeued = 0
    for _call, outcome in finished:
        requeued += outcome.state == CallState.QUEUED
        summary.add("requeued" if outcome.state == CallState.QUEUED else outcome.state)
    return requeued


def _write_late_results(finished: list, summary: SendSummary) -> None:
    """Write the results that came back but were not written yet (the loop ended early)."""
    if not finished:
        return
    try:
        with transaction.atomic():
            record_outcomes(finished)
    except Exception:  # the sweep marks them unknown; say which, for the record
        logger.exception(
            "Could not write the outcome of %d call(s): %s",
            len(finished),
            ", ".join(f"{call.pk}={outcome.state}:{outcome.call_id or ''}" for call, outcome in finished),
        )
        raise
    _count(summary, finished)
