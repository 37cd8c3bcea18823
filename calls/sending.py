"""The worker's sender: claims queued calls and hands them to Exolve, each exactly once.

A worker task (`tasks.send_broadcast`) runs `send_queued_calls`, which claims queued
calls a few at a time (`claims.claim_calls`) and keeps `EXOLVE_MAX_IN_FLIGHT` requests
in flight (`threads.InFlight`); `send_loop.SendLoop` decides each turn how many to
claim, how long to wait and when to write, and this module carries it out:

- a call goes queued -> sending exactly once (`claims.py`), so a task that runs again,
  or two workers on one broadcast, never take the same call;
- a call whose outcome cannot be known (timeout, dropped connection, 5xx, a worker that
  died while sending) becomes "unknown" and is never re-sent by itself;
- a call Exolve refused as "too many requests" (429) was not made: it goes back to the
  queue and is sent later, once, while the worker's client slows down for everyone;
- outcomes are written only where the call is still this claim's.

All database work happens in the calling thread; the sender threads only talk to Exolve.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from exolve_portal.exolve import errors
from exolve_portal.exolve_connection import get_client
from exolve_portal.threads import InFlight

from . import events
from .claims import Claim, ClaimedCall, claim_calls
from .lifecycle import STOPPED_NOT_CALLED, BroadcastState
from .models import Broadcast, Call, CallState
from .send_loop import SendLoop, stop_on_signal

logger = logging.getLogger(__name__)

# Plain-language reasons stored on calls (translated when written).
WORKER_STOPPED = _(
    "The worker stopped while sending; it is not known whether the person was called. Check before sending again."
)
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
class SendResult:
    """What became of one request. Texts are translated when written, in the writing thread."""

    state: str
    call_id: str | None = None
    explanation: str = ""
    detail: str = ""
    suffix: str = ""
    # The broadcast cannot continue (events.ACCOUNT_BLOCKED, events.KEY_REFUSED), or "".
    blocking: str = ""

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
    sending = Call.objects.filter(state=CallState.SENDING)
    swept = mark_stale_unknown(sending, CallState.UNKNOWN, WORKER_STOPPED, stale_after)
    events.calls_became_final([pk for pk, _broadcast in swept], {broadcast for _pk, broadcast in swept})
    return len(swept)


def mark_stale_unknown(sending, unknown_state: str, reason: str, stale_after: float | None = None) -> list[tuple]:
    """Rows of `sending` (calls or SMS being sent) claimed longer ago than the setting by a worker
    that died become `unknown_state` with `reason`: they may have reached Exolve, so they are
    never sent again. Returns (pk, broadcast id) of each row swept, for the events.

    Few rows (what dead workers held in flight); a row swept by two processes at once is told
    twice, and the events' unique keys keep one."""
    seconds = settings.EXOLVE_SENDING_CALL_UNKNOWN_AFTER if stale_after is None else stale_after
    stale = list(
        sending.filter(claimed_at__lte=timezone.now() - timedelta(seconds=seconds)).values_list("pk", "broadcast_id")
    )
    if not stale:
        return []
    sending.filter(pk__in=[pk for pk, _broadcast in stale]).update(state=unknown_state, error=gettext(reason))
    logger.warning("Marked %d %s left sending by a stopped worker as unknown", len(stale), sending.model.__name__)
    return stale


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


def send_one(client, call: ClaimedCall) -> SendResult:
    """Make one MakeVoiceMessage request and say what became of it (no database access)."""
    try:
        call_id = client.make_voice_message(call.source, call.destination, call.service_id)
    except errors.RateLimitedError:
        # Not carried out: back to the queue (the client already slowed every thread down).
        return SendResult(CallState.QUEUED)
    except REFUSALS as exc:
        return SendResult(CallState.REJECTED, explanation=exc.explanation, detail=str(exc), blocking=_blocking(exc))
    except errors.ExolveError as exc:
        if exc.may_have_reached:
            return SendResult(CallState.UNKNOWN, explanation=exc.explanation, detail=str(exc))
        # Certainly never arrived (the client already retried the connection).
        return SendResult(CallState.REJECTED, explanation=exc.explanation, detail=str(exc), suffix=NOT_SENT_SUFFIX)
    except Exception as exc:  # any surprise after the request may have left: unknown
        logger.exception("Unexpected error sending call %s", call.pk)
        return SendResult(CallState.UNKNOWN, explanation=UNEXPECTED, detail=type(exc).__name__)
    return SendResult(CallState.SENT, call_id=call_id)


def _blocking(exc: Exception) -> str:
    if isinstance(exc, errors.AccountStatusError):
        return events.ACCOUNT_BLOCKED
    if isinstance(exc, errors.AuthenticationError):
        return events.KEY_REFUSED
    return ""


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
    final = []
    for call, outcome in others:  # refusals and unknowns are rare: one UPDATE each
        if outcome.state != CallState.QUEUED:
            if Call.objects.filter(pk=call.pk, claimed_by=call.claim).update(**_changes(call, outcome, now)):
                final.append((call, outcome))
    if requeued or final:
        _tell(final, requeued=len(requeued))


def _tell(final: list[tuple[ClaimedCall, SendResult]], *, requeued: int) -> None:
    """Tell listeners (events.py) of refusals, unknowns and 429s: the rare outcomes, never a sent call."""
    if requeued:
        events.on_commit(events.exolve_answers, kind="rate_limited", count=requeued)
    if not final:
        return
    for kind, state in (("refused", CallState.REJECTED), ("unknown", CallState.UNKNOWN)):
        if count := sum(outcome.state == state for _call, outcome in final):
            events.on_commit(events.exolve_answers, kind=kind, count=count)
    pks = [call.pk for call, _outcome in final]
    broadcasts = dict(Call.objects.filter(pk__in=pks).values_list("pk", "broadcast_id"))
    blocked = {
        (broadcasts[call.pk], outcome.blocking)
        for call, outcome in final
        if outcome.blocking and broadcasts.get(call.pk)
    }
    for broadcast_id, reason in blocked:  # once per broadcast and turn, however many calls were refused
        events.on_commit(events.broadcast_failed, broadcast_id=broadcast_id, reason=reason)
    events.calls_became_final(pks, {b for b in broadcasts.values() if b})


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
    claimed calls topped up (`SendLoop` decides when). Safe to run in several processes.

    When `stop` is set (SIGTERM in a worker), no call is claimed any more, the claimed
    calls not yet handed to Exolve go back to the queue, and the requests in flight are
    waited for and written (`summary.stopped` is then True). Whatever ends the loop,
    every result that came back is written before it returns or raises.
    """
    sweep_stale_sending()
    stop = stop or threading.Event()
    # The process in the claim, so it shows which worker took (or lost) a call.
    worker_id = worker_id or f"{socket.gethostname()[:24]}-{os.getpid()}"
    loop = SendLoop(int(max_in_flight or settings.EXOLVE_MAX_IN_FLIGHT), steered=broadcast_id is not None)
    summary = SendSummary()
    # The pool's queue of calls no thread has taken yet is the loop's reserve.
    pool = InFlight(functools.partial(send_one, get_client()), loop.slots, name="exolve-send")
    with stop_on_signal(stop):
        try:
            while not loop.done:
                if stop.is_set() and not loop.stopped:
                    # Not handed to Exolve yet: back to the queue, for this or another worker.
                    loop.stopping(set_aside=_set_aside(pool, canceled=False))
                turn = loop.decide(time.monotonic())
                if turn.beat:
                    Broadcast.objects.filter(pk=broadcast_id).update(sender_beat_at=timezone.now())
                if turn.check_halt and (halted := _halted_by_staff(broadcast_id)):
                    loop.halt(halted, set_aside=_set_aside(pool, canceled=halted == BroadcastState.STOPPED))
                    continue
                loop.came_back(pool.drain(turn.wait_for, turn.at_least), time.monotonic())
                wanted = loop.to_claim(turn)
                if wanted > 0 or loop.write_due(time.monotonic()):
                    _write_and_claim(loop, pool, summary, broadcast_id, wanted, worker_id)
        finally:
            # Claimed calls no thread has taken yet were certainly not sent: give them
            # back. Requests already in flight complete, and their results are written,
            # whatever ended the loop (a crash, the database, an interrupt).
            pool.close(give_back=_release)
            _write_late_results(loop.unwritten + pool.drain(), summary)
    summary.stopped, summary.halted, summary.retry_at = loop.stopped, loop.halted, loop.retry_at
    return summary


def _write_and_claim(loop: SendLoop, pool: InFlight, summary: SendSummary, broadcast_id, wanted, worker_id) -> None:
    """One short transaction per turn: write what finished, top up the reserve."""
    with transaction.atomic():
        record_outcomes(loop.unwritten)
        got = claim_calls(broadcast_id, wanted, worker_id) if wanted > 0 else Claim([])
    for call in got.calls:
        pool.submit(call)
    loop.written(claimed=len(got.calls), requeued=_count(summary, loop.unwritten))
    if got.halted:
        loop.halt(got.halted, set_aside=_set_aside(pool, canceled=got.halted == BroadcastState.STOPPED))
    elif wanted > 0 and not got.calls:
        retry_in = (got.retry_at - timezone.now()).total_seconds() if got.retry_at else None
        loop.nothing_claimed(retry_in, got.retry_at, time.monotonic())


def _halted_by_staff(broadcast_id: int) -> str:
    """The broadcast's state if staff paused or stopped it, else ""."""
    state = Broadcast.objects.filter(pk=broadcast_id).values_list("state", flat=True).first()
    return state if state in (BroadcastState.PAUSED, BroadcastState.STOPPED) else ""


def _set_aside(pool: InFlight, *, canceled: bool) -> int:
    """Take back the claimed calls no thread has sent: queued again, or canceled after a stop."""
    unsent = pool.take_back()
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
