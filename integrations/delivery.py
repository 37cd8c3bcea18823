"""The webhook worker: posts due deliveries, signed, a few at a time, and writes what came of them.

`deliver_due(now)` claims due deliveries in batches (leasing them, so another worker
leaves them alone; a worker that dies lets the lease run out and another posts them
again: at least once, and the stable `webhook-id` lets receivers drop repeats), keeps
EXOLVE_WEBHOOK_IN_FLIGHT requests going (`threads.InFlight`) and writes the answers
in one transaction per turn. A failed attempt is tried again after a growing pause
(RETRY_DELAYS) for up to EXOLVE_WEBHOOK_RETRY_HOURS; an endpoint failing for that long,
or EXOLVE_WEBHOOK_DISABLE_AFTER attempts in a row, is switched off and its owner told.
Tests pass `now` to move time forward instead of waiting.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from exolve_portal.threads import InFlight

from . import addresses, notices, signing
from .models import Delivery, DeliveryState, Endpoint

logger = logging.getLogger(__name__)

# Pauses after the 1st, 2nd, ... failed attempt (the last repeats), as Standard Webhooks suggests.
RETRY_DELAYS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)
BATCH = 500
WRITE_EVERY = 0.5
LEASE = timedelta(minutes=5)
ANSWER_CHARS = 500


@dataclass(frozen=True, slots=True)
class Job:
    pk: int
    url: str
    endpoint_id: int
    message_id: str
    body: str
    secret: str
    created_at: datetime


@dataclass
class Summary:
    delivered: int = 0
    failed_attempts: int = 0
    gave_up: int = 0
    disabled: int = 0


def claim(now: datetime, limit: int = BATCH) -> list[Job]:
    """Take due deliveries of enabled endpoints, leased so another worker leaves them alone."""
    with transaction.atomic():
        due = Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(
            due.order_by("next_attempt_at").values_list(
                "pk", "endpoint__url", "endpoint_id", "event__message_id", "event__body", "endpoint__secret",
                "created_at",
            )[:limit]
        )  # fmt: skip
        if rows:
            Delivery.objects.filter(pk__in=[row[0] for row in rows]).update(next_attempt_at=now + LEASE)
    return [Job(*row) for row in rows]


def attempt(job: Job, timestamp: int, resolved=addresses.resolve) -> tuple[int | None, str]:
    """Post one delivery; (HTTP status or None, the start of the answer or why it failed). No database access."""
    body = job.body.encode()
    try:
        status, answer = addresses.post(
            job.url,
            body,
            signing.headers(job.secret, job.message_id, timestamp, job.body),
            settings.EXOLVE_WEBHOOK_TIMEOUT,
            resolved,
        )
    except addresses.Refused as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:ANSWER_CHARS]
    return status, answer[:ANSWER_CHARS]


def deliver_due(now: datetime | None = None, *, in_flight: int | None = None) -> Summary:
    """Post every delivery due now, writing each turn's answers together.

    `now` (tests) fixes the clock: what is due, the attempts' times and the signed
    `webhook-timestamp`. Without it each claim, write and signature reads the clock, so a
    long backlog is never signed with a stale time (receivers refuse those).
    """
    clock = (lambda: now) if now is not None else timezone.now
    summary = Summary()
    slots = max(int(in_flight or settings.EXOLVE_WEBHOOK_IN_FLIGHT), 1)
    outstanding, exhausted = 0, False
    # Answers are written 250 at a time (or every WRITE_EVERY seconds), and the next batch
    # is claimed while a whole one still waits for a thread: the threads never idle while
    # this thread waits for the database (a claim or a commit can take tens of ms).
    resolved = addresses.Resolved()  # each address looked up (and checked) once per 30 s of this run
    with InFlight(lambda job: attempt(job, int(clock().timestamp()), resolved), slots, name="webhooks") as pool:
        while True:
            if not exhausted and outstanding < max(BATCH, 2 * slots):
                jobs = claim(clock(), BATCH)
                exhausted = len(jobs) < BATCH
                for job in jobs:
                    pool.submit(job)
                outstanding += len(jobs)
            if not outstanding:
                break
            results = pool.drain(WRITE_EVERY, at_least=min(outstanding, BATCH // 2))
            if results:
                outstanding -= len(results)
                write(results, clock(), summary)
    return summary


def _failed(status: int | None) -> bool:
    return status is None or not 200 <= status < 300


def write(results: list[tuple[Job, tuple]], now: datetime, summary: Summary) -> None:
    """Write a turn's answers: successes grouped in a few UPDATEs, failures one by one (rare)."""
    succeeded = defaultdict(list)
    health = {}  # endpoint id -> True when any attempt of it succeeded this turn
    for job, outcome in results:
        status, answer = outcome if isinstance(outcome, tuple) else (None, type(outcome).__name__)
        health[job.endpoint_id] = health.get(job.endpoint_id, False) or not _failed(status)
        if _failed(status):
            _write_failure(job, status, answer, now, summary)
        else:
            succeeded[(status, answer)].append(job.pk)
    common = {"attempts": F("attempts") + 1, "last_attempt_at": now, "next_attempt_at": None}
    with transaction.atomic():
        for (status, answer), pks in succeeded.items():
            Delivery.objects.filter(pk__in=pks).update(
                state=DeliveryState.DELIVERED, delivered_at=now, last_status=status, last_answer=answer, **common
            )
            summary.delivered += len(pks)
        healthy = [pk for pk, ok in health.items() if ok]
        if healthy:
            Endpoint.objects.filter(pk__in=healthy).exclude(failures_in_row=0, failing_since=None).update(
                failures_in_row=0, failing_since=None
            )
    failing = defaultdict(int)
    for job, _outcome in results:
        if not health[job.endpoint_id]:
            failing[job.endpoint_id] += 1
    for endpoint_id, count in failing.items():
        summary.disabled += _count_failures(endpoint_id, count, now)


def _write_failure(job: Job, status: int | None, answer: str, now: datetime, summary: Summary) -> None:
    attempts = Delivery.objects.filter(pk=job.pk).values_list("attempts", flat=True).first() or 0
    give_up_at = job.created_at + timedelta(hours=settings.EXOLVE_WEBHOOK_RETRY_HOURS)
    delay = timedelta(seconds=RETRY_DELAYS[min(attempts, len(RETRY_DELAYS) - 1)])
    gave_up = now >= give_up_at
    Delivery.objects.filter(pk=job.pk).update(
        attempts=F("attempts") + 1,
        failures=F("failures") + 1,
        last_attempt_at=now,
        last_status=status,
        last_answer=answer,
        state=DeliveryState.FAILED if gave_up else DeliveryState.PENDING,
        next_attempt_at=None if gave_up else min(now + delay, give_up_at),
    )
    summary.failed_attempts += 1
    summary.gave_up += gave_up


def _count_failures(endpoint_id: int, count: int, now: datetime) -> int:
    """Add failed attempts to the endpoint's run; switch it off (once) when the run is too long. 1 if switched off."""
    Endpoint.objects.filter(pk=endpoint_id).update(failures_in_row=F("failures_in_row") + count)
    Endpoint.objects.filter(pk=endpoint_id, failing_since=None).update(failing_since=now)
    endpoint = Endpoint.objects.filter(pk=endpoint_id, enabled=True).first()
    if endpoint is None:
        return 0
    too_long = endpoint.failing_since <= now - timedelta(hours=settings.EXOLVE_WEBHOOK_RETRY_HOURS)
    too_many = endpoint.failures_in_row >= settings.EXOLVE_WEBHOOK_DISABLE_AFTER
    if not (too_long or too_many):
        return 0
    if not Endpoint.objects.filter(pk=endpoint_id, enabled=True).update(enabled=False):
        return 0  # another worker switched it off (and told the owner)
    logger.warning("Switched off webhook endpoint %s after %d failed attempts", endpoint_id, endpoint.failures_in_row)
    notices.endpoint_switched_off(endpoint, now)
    return 1


def next_due() -> datetime | None:
    """When the next delivery is due (None: nothing left to deliver)."""
    return Delivery.objects.filter(state=DeliveryState.PENDING, endpoint__enabled=True).aggregate(
        at=Min("next_attempt_at")
    )["at"]
