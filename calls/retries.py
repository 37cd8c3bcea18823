"""Automatic retries: call again those who did not answer or were busy, N more times, M minutes apart.

A retry is a new call of the same broadcast to the same number, linked to the first
attempt, created only once Exolve's final status is known, and never for unknown,
rejected, canceled or skipped calls, nor after the broadcast was stopped. It waits
`retry_after_minutes`, then for calling hours (its `not_before`). Each attempt exists
once: the constraint `calls_one_call_per_attempt` (first attempt, attempt number) and an
insert that ignores conflicts make a second refresh of the same call, in this worker
or another, create nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from .lifecycle import BroadcastState, get_zone
from .models import RETRY_STATUSES, Broadcast, Call, CallState
from .windows import broadcast_windows


def retry_statuses(broadcast: Broadcast) -> tuple[str, ...]:
    return (*RETRY_STATUSES, "failed") if broadcast.retry_failed else RETRY_STATUSES


def deserves_retry(call: Call, broadcast: Broadcast) -> bool:
    """Whether this final attempt is followed by another (its broadcast not stopped)."""
    return call.attempt <= broadcast.retries and call.status in retry_statuses(broadcast)


def retries_for(finished: list[Call], now) -> list[Call]:
    """Create the next attempt of each call in `finished` (just final) that deserves one.

    Returns the retries created now (none already there are created again).
    """
    candidates = [call for call in finished if call.state == CallState.FINISHED and call.broadcast_id]
    if not candidates:
        return []
    broadcasts = Broadcast.objects.in_bulk({call.broadcast_id for call in candidates})
    wanted = []
    for call in candidates:
        broadcast = broadcasts.get(call.broadcast_id)
        if broadcast is None or broadcast.state == BroadcastState.STOPPED:
            continue
        if not deserves_retry(call, broadcast):
            continue
        zone = get_zone(call.time_zone or broadcast.time_zone) or get_zone(settings.TIME_ZONE)
        after = now + timedelta(minutes=broadcast.retry_after_minutes)
        wanted.append(
            Call(
                broadcast_id=call.broadcast_id,
                voice_message_id=call.voice_message_id,
                service_id=call.service_id,
                source=call.source,
                destination=call.destination,
                requested_by_id=call.requested_by_id,
                time_zone=call.time_zone,
                details=call.details,
                # A person from a list stays one: each attempt is claimed only with the consent in force.
                contact_id=call.contact_id,
                needs_consent=call.needs_consent,
                attempt=call.attempt + 1,
                first_attempt_id=call.first_attempt_id or call.pk,
                not_before=broadcast_windows(broadcast).next_opening(after, zone),
            )
        )
    if not wanted:
        return []
    Call.objects.bulk_create(wanted, ignore_conflicts=True)
    # Which of them this refresh created (ignore_conflicts gives no primary keys back).
    keys = {(c.first_attempt_id, c.attempt) for c in wanted}
    return [
        c
        for c in Call.objects.filter(
            first_attempt_id__in={k[0] for k in keys}, attempt__in={k[1] for k in keys}, queued_at__gte=now
        )
        if (c.first_attempt_id, c.attempt) in keys
    ]
