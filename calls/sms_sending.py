"""The worker's SMS sender: claims due follow-up SMS and hands them to Exolve, each exactly once.

The same discipline as the calls (calls/sending.py), with the same loop decisions
(`send_loop.SendLoop`) and the same threads (`threads.InFlight`):

- an SMS goes queued -> sending once (calls/sms_claims.py), so two workers never take it;
- SendSMS is not idempotent: an SMS whose outcome cannot be known (timeout, dropped
  connection, 5xx, a worker that died while sending) becomes "unknown", never re-sent;
- one Exolve refused as "too many requests" (429) was not sent: it goes back to the
  queue, and is sent later, once;
- a refusal (a city sender, a trial account's unconfirmed number...) is "refused", with
  Exolve's reason; outcomes are written only where the SMS is still this claim's.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from exolve_portal.exolve import errors
from exolve_portal.exolve_connection import get_client
from exolve_portal.threads import InFlight

from . import events
from .lifecycle import BroadcastState
from .models import Broadcast, SmsFollowUp, SmsState
from .send_loop import SendLoop, stop_on_signal
from .sending import mark_stale_unknown
from .sms_claims import STOPPED_NOT_SENT, ClaimedSms, SmsClaim, claim_sms

logger = logging.getLogger(__name__)

WORKER_STOPPED = _(
    "The worker stopped while sending the SMS; it is not known whether it was sent. Check before sending again."
)
UNEXPECTED = _("An unexpected error happened while sending the SMS; it is not known whether it was sent.")


@dataclass(frozen=True)
class SmsResult:
    state: str
    message_id: str = ""
    raw: dict | None = None
    explanation: str = ""
    detail: str = ""

    def error_text(self) -> str:
        if not self.explanation:
            return ""
        return f"{gettext(self.explanation)} ({self.detail})" if self.detail else gettext(self.explanation)


@dataclass
class SmsSummary:
    counts: dict
    stopped: bool = False
    halted: str = ""
    retry_at: datetime | None = None


def send_one_sms(client, sms: ClaimedSms) -> SmsResult:
    """One SendSMS request and what became of it (no database access)."""
    try:
        sent = client.send_sms(sms.sender, sms.destination, sms.text)
    except errors.RateLimitedError:
        return SmsResult(SmsState.QUEUED)  # not carried out: sent later, once
    except errors.ExolveError as exc:
        details = errors.details_from_body(exc.body)
        detail = f"{exc}; {details}" if details and details != exc.message else str(exc)
        state = SmsState.UNKNOWN if exc.may_have_reached else SmsState.REFUSED
        return SmsResult(state, raw={"error": exc.body[:2000]}, explanation=exc.explanation, detail=detail)
    except Exception as exc:  # any surprise after the request may have left: unknown
        logger.exception("Unexpected error sending SMS %s", sms.pk)
        return SmsResult(SmsState.UNKNOWN, explanation=UNEXPECTED, detail=type(exc).__name__)
    return SmsResult(SmsState.SENT, message_id=sent.message_id, raw=sent.raw)


def sweep_stale_sms(stale_after: float | None = None) -> int:
    """SMS left "sending" by a worker that died become "unknown" (never re-sent)."""
    sending = SmsFollowUp.objects.filter(state=SmsState.SENDING)
    swept = mark_stale_unknown(sending, SmsState.UNKNOWN, WORKER_STOPPED, stale_after)
    if swept:
        events.on_commit(events.sms_finished, sms_ids=[pk for pk, _broadcast in swept])
    return len(swept)


def record_sms_outcomes(finished: list[tuple[ClaimedSms, SmsResult]]) -> int:
    """Write what came back (keyed on the claim); returns how many went back to the queue."""
    now, requeued, final = timezone.now(), [], []
    for sms, result in finished:
        if isinstance(result, Exception):  # cannot happen (send_one_sms catches all): unknown
            result = SmsResult(SmsState.UNKNOWN, explanation=UNEXPECTED, detail=type(result).__name__)
        mine = SmsFollowUp.objects.filter(pk=sms.pk, claimed_by=sms.claim)
        if result.state == SmsState.QUEUED:
            requeued.append(sms.pk)
            mine.update(state=SmsState.QUEUED, claimed_by="", claimed_at=None)
        elif result.state == SmsState.SENT:
            if mine.update(state=SmsState.SENT, message_id=result.message_id, raw=result.raw, sent_at=now, error=""):
                final.append(sms.pk)
        elif mine.update(state=result.state, raw=result.raw, error=result.error_text()):
            final.append(sms.pk)
    if final:
        events.on_commit(events.sms_finished, sms_ids=final)
    return len(requeued)


def _give_back(sms_list: list[ClaimedSms], *, canceled: bool = False) -> None:
    for sms in sms_list:
        mine = SmsFollowUp.objects.filter(pk=sms.pk, claimed_by=sms.claim, state=SmsState.SENDING)
        if canceled:
            mine.update(state=SmsState.CANCELED, claimed_by="", error=gettext(STOPPED_NOT_SENT))
        else:
            mine.update(state=SmsState.QUEUED, claimed_by="", claimed_at=None)


def send_followup_sms(broadcast_id: int, *, worker_id=None, max_in_flight=None, stop=None) -> SmsSummary:
    """Send the broadcast's due follow-up SMS until none is due; safe to run in several processes."""
    sweep_stale_sms()
    stop = stop or threading.Event()
    worker_id = worker_id or f"{socket.gethostname()[:24]}-{os.getpid()}"
    loop = SendLoop(int(max_in_flight or settings.EXOLVE_MAX_IN_FLIGHT), steered=True)
    summary = SmsSummary(counts={})
    pool = InFlight(functools.partial(send_one_sms, get_client()), loop.slots, name="exolve-sms")
    with stop_on_signal(stop):
        try:
            while not loop.done:
                if stop.is_set() and not loop.stopped:
                    loop.stopping(set_aside=_set_aside(pool, canceled=False))
                turn = loop.decide(time.monotonic())
                if turn.check_halt and (halted := _halted(broadcast_id)):
                    loop.halt(halted, set_aside=_set_aside(pool, canceled=halted == BroadcastState.STOPPED))
                    continue
                loop.came_back(pool.drain(turn.wait_for, turn.at_least), time.monotonic())
                wanted = loop.to_claim(turn)
                if wanted > 0 or loop.write_due(time.monotonic()):
                    _write_and_claim(loop, pool, summary, broadcast_id, wanted, worker_id)
        finally:
            pool.close(give_back=_give_back)
            late = loop.unwritten + pool.drain()
            if late:
                with transaction.atomic():
                    record_sms_outcomes(late)
                _count(summary, late)
    summary.stopped, summary.halted, summary.retry_at = loop.stopped, loop.halted, loop.retry_at
    return summary


def _write_and_claim(loop, pool, summary, broadcast_id, wanted, worker_id) -> None:
    with transaction.atomic():
        requeued = record_sms_outcomes(loop.unwritten)
        got = claim_sms(broadcast_id, wanted, worker_id) if wanted > 0 else SmsClaim([])
    _count(summary, loop.unwritten)
    for sms in got.sms:
        pool.submit(sms)
    loop.written(claimed=len(got.sms), requeued=requeued)
    if got.halted:
        loop.halt(got.halted, set_aside=_set_aside(pool, canceled=got.halted == BroadcastState.STOPPED))
    elif wanted > 0 and not got.sms:
        retry_in = (got.retry_at - timezone.now()).total_seconds() if got.retry_at else None
        loop.nothing_claimed(retry_in, got.retry_at, time.monotonic())


def _count(summary: SmsSummary, finished) -> None:
    for _sms, result in finished:
        state = getattr(result, "state", SmsState.UNKNOWN)
        summary.counts[state] = summary.counts.get(state, 0) + 1


def _halted(broadcast_id: int) -> str:
    state = Broadcast.objects.filter(pk=broadcast_id).values_list("state", flat=True).first()
    return state if state in (BroadcastState.PAUSED, BroadcastState.STOPPED) else ""


def _set_aside(pool: InFlight, *, canceled: bool) -> int:
    unsent = pool.take_back()
    _give_back(unsent, canceled=canceled)
    return len(unsent)
