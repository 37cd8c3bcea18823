"""Refreshing call statistics from call/v1/GetInfo.

Calls that are not final are refreshed with backoff: first `EXOLVE_REFRESH_FIRST_DELAY`
seconds after sending, then each time after half the call's age (capped at
`EXOLVE_REFRESH_MAX_DELAY`), until a final status or `EXOLVE_REFRESH_MAX_AGE`.
Exolve requests run `EXOLVE_MAX_IN_FLIGHT` at a time (`threads.InFlight`); all database
writes happen in the calling thread, one UPDATE per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from exolve_portal.exolve import errors
from exolve_portal.exolve_connection import get_client
from exolve_portal.threads import InFlight

from . import events
from .models import FINAL_STATUSES, Call, CallState
from .retries import retries_for
from .sms_followups import followups_for

logger = logging.getLogger(__name__)

DUE_BATCH = 200


@dataclass
class RefreshSummary:
    refreshed: int = 0
    finished: int = 0
    failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (destination or call id, reason)
    retries: int = 0  # automatic retries created (calls/retries.py)
    retry_sends: dict = field(default_factory=dict)  # broadcast id -> when its first retry may ring
    sms_sends: dict = field(default_factory=dict)  # broadcast id -> when its first follow-up SMS may go

    def message(self) -> str:
        """What staff read after a refresh (admin, broadcast page, job page)."""
        return refreshed_message(self.refreshed, self.finished, self.failed)

    def merge(self, other: RefreshSummary) -> None:
        self.refreshed += other.refreshed
        self.finished += other.finished
        self.failed += other.failed
        self.errors.extend(other.errors)
        self.retries += other.retries
        for broadcast_id, at in other.retry_sends.items():
            self.retry_sends[broadcast_id] = min(self.retry_sends.get(broadcast_id, at), at)
        for broadcast_id, at in other.sms_sends.items():
            self.sms_sends[broadcast_id] = min(self.sms_sends.get(broadcast_id, at), at)


def next_refresh_time(sent_at: datetime | None, now: datetime) -> datetime | None:
    """When to look again at a call sent at `sent_at`; None once it is too old."""
    sent_at = sent_at or now
    age = (now - sent_at).total_seconds()
    if age >= settings.EXOLVE_REFRESH_MAX_AGE:
        return None
    delay = min(max(settings.EXOLVE_REFRESH_FIRST_DELAY, age / 2), settings.EXOLVE_REFRESH_MAX_DELAY)
    return now + timedelta(seconds=delay)


def changes_from_info(info, sent_at, now) -> dict:
    """The fields to write for a GetInfo answer (status kept exactly as received)."""
    final = info.status in FINAL_STATUSES
    return {
        "status": info.status,
        "created": info.created,
        "updated": info.updated,
        "started": info.started,
        "ended": info.ended,
        "duration": info.duration,
        "timeout": info.timeout,
        "direction": info.direction,
        "raw": info.raw,
        "refreshed_at": now,
        "error": "",
        "state": CallState.FINISHED if final else CallState.SENT,
        "next_refresh_at": None if final else next_refresh_time(sent_at, now),
    }


def changes_from_error(exc: Exception, sent_at, now) -> dict:
    """The fields to write when GetInfo failed: the reason, and when to try again."""
    if isinstance(exc, errors.ExolveError):
        text = f"{gettext(exc.explanation)} ({exc})"
    else:
        text = gettext("Unexpected error while refreshing statistics (%(error)s).") % {"error": type(exc).__name__}
    if errors.is_gone(exc):
        # The documented 404: Exolve has no statistics for this call and will not get
        # any. A final outcome, not a day of polling.
        return {"error": text, "refreshed_at": now, "next_refresh_at": None, "state": CallState.FINISHED}
    # An invalid call id will not become valid: stop. Everything else may pass.
    retry = not isinstance(exc, errors.ValidationError)
    return {
        "error": text,
        "refreshed_at": now,
        "next_refresh_at": next_refresh_time(sent_at, now) if retry else None,
    }


def refresh_calls(
    calls: Iterable[Call],
    *,
    max_in_flight: int | None = None,
    progress: Callable[[int], None] | None = None,
    leased: bool = False,
) -> RefreshSummary:
    """Refresh the statistics of `calls` (those without a call id are skipped).

    `leased`: the calls were taken by `claim_due_calls`; their lease is renewed while
    the batch lasts (a slow Exolve can make it outlast any fixed lease), so no other
    worker takes them again and asks Exolve twice.
    """
    slots = max(int(max_in_flight or settings.EXOLVE_MAX_IN_FLIGHT), 1)
    summary = RefreshSummary()
    asked = [c for c in calls if c.call_id]
    if not asked:
        return summary
    client = get_client()
    # Every request is handed over at once: a free thread takes the next one by itself
    # while this thread writes answers, so no slot waits for the database. Whatever ends
    # the batch, Exolve is asked nothing more (the requests already made finish); the
    # calls not asked stay leased until their lease runs out, then another refresh takes them.
    with InFlight(lambda call: client.get_call(call.call_id), min(slots, len(asked)), name="exolve-refresh") as pool:
        for call in asked:
            pool.submit(call)
        _collect(pool, {call.pk for call in asked}, summary, progress, leased)
    return summary


def _collect(pool: InFlight, not_done: set, summary: RefreshSummary, progress, leased: bool) -> None:
    """Write the answers as they come back, renewing the lease of the calls still out."""
    renewed = time.monotonic()
    while not_done:
        results = pool.drain(_lease_seconds() / 3)
        if leased and time.monotonic() - renewed >= _lease_seconds() / 3:
            renewed = time.monotonic()
            _renew_lease(list(not_done - {call.pk for call, _answer in results}))
        if not results:
            continue
        not_done -= {call.pk for call, _answer in results}
        now = timezone.now()
        with transaction.atomic():
            finals = [call for call, answer in results if _write(call, answer, now, summary)]
            # Final, or no longer refreshed (too old, gone at Exolve): the call's outcome will not change by itself.
            over = [call for call, _answer in results if call.state == CallState.FINISHED or not call.next_refresh_at]
            events.calls_became_final([call.pk for call in over], {call.broadcast_id for call in over} - {None})
            for retry in retries_for(finals, now):
                summary.retries += 1
                earliest = summary.retry_sends.get(retry.broadcast_id)
                summary.retry_sends[retry.broadcast_id] = min(earliest or retry.not_before, retry.not_before)
            # The people whose last attempt this was: their follow-up SMS (calls/sms_followups.py).
            for broadcast_id, at in followups_for(finals, now).items():
                summary.sms_sends[broadcast_id] = min(summary.sms_sends.get(broadcast_id, at), at)
        if progress:
            progress(len(results))


def _write(call, answer, now, summary) -> bool:
    """Write one answer (GetInfo's, or its error); True when the call just became final (it may deserve a retry)."""
    if not isinstance(answer, Exception):
        changes = changes_from_info(answer, call.sent_at, now)
        summary.refreshed += 1
        if changes["state"] == CallState.FINISHED:
            summary.finished += 1
    else:
        changes = changes_from_error(answer, call.sent_at, now)
        summary.failed += 1
        if changes.get("state") == CallState.FINISHED:
            summary.finished += 1
        summary.errors.append((call.destination or call.call_id, changes["error"]))
    was_final = call.state == CallState.FINISHED
    # Never move a call back out of a final local state by accident.
    updates = Call.objects.filter(pk=call.pk).exclude(state=CallState.REJECTED)
    became_final = bool(updates.update(**changes)) and changes.get("state") == CallState.FINISHED and not was_final
    for name, value in changes.items():
        setattr(call, name, value)
    return became_final


def claim_due_calls(limit: int = DUE_BATCH) -> list[Call]:
    """Take calls whose refresh is due, leasing them so another worker leaves them alone."""
    now = timezone.now()
    with transaction.atomic():
        queryset = Call.objects.filter(
            state=CallState.SENT, call_id__isnull=False, next_refresh_at__lte=now
        ).only(
            # What a refresh reads, and what a retry copies (calls/retries.py).
            "pk", "call_id", "sent_at", "destination", "next_refresh_at", "state", "broadcast_id", "attempt",
            "first_attempt_id", "voice_message_id", "service_id", "source", "requested_by_id", "time_zone",
            "contact_id", "needs_consent",
        )  # fmt: skip
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        calls = list(queryset.order_by("next_refresh_at")[:limit])
        if calls:
            Call.objects.filter(pk__in=[c.pk for c in calls]).update(
                next_refresh_at=now + timedelta(seconds=_lease_seconds())
            )
    return calls


def _lease_seconds() -> float:
    return float(settings.EXOLVE_REFRESH_LEASE)


def _renew_lease(pks: list[int]) -> None:
    """Push the lease of calls still being refreshed further out (only those still leased)."""
    now = timezone.now()
    Call.objects.filter(pk__in=pks, state=CallState.SENT, next_refresh_at__gt=now).update(
        next_refresh_at=now + timedelta(seconds=_lease_seconds())
    )


def refresh_due_calls(*, max_in_flight: int | None = None, limit: int | None = None) -> RefreshSummary:
    """Refresh every call whose refresh is due now, in leased batches."""
    summary = RefreshSummary()
    done = 0
    while limit is None or done < limit:
        batch = claim_due_calls(DUE_BATCH if limit is None else min(DUE_BATCH, limit - done))
        if not batch:
            break
        summary.merge(refresh_calls(batch, max_in_flight=max_in_flight, leased=True))
        done += len(batch)
    return summary


def next_due_time() -> datetime | None:
    """When the next automatic refresh is due (None: nothing left to refresh)."""
    return (
        Call.objects.filter(state=CallState.SENT, next_refresh_at__isnull=False)
        .order_by("next_refresh_at")
        .values_list("next_refresh_at", flat=True)
        .first()
    )


def refreshed_message(refreshed: int, finished: int, failed: int) -> str:
    return ngettext(
        "Refreshed %(count)d call, %(finished)d with a final status, %(failed)d failed.",
        "Refreshed %(count)d calls, %(finished)d with a final status, %(failed)d failed.",
        refreshed,
    ) % {"count": refreshed, "finished": finished, "failed": failed}
