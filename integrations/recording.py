"""Turning the calls app's events into stored events, their webhook deliveries and notices.

Each event is stored once whatever repeats it (`Event.key` is unique), with the body
every attempt sends; each endpoint subscribed to its kind gets one delivery. Nothing is
stored for call events no endpoint wants. The work of delivering and e-mailing is left
to the webhook queue's tasks (integrations/tasks.py), so the sender never waits for it.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from calls.models import Broadcast, Call
from calls.outcomes import outcome_counts, outcome_expression, status_of

from .models import Delivery, Endpoint, Event, EventKind


def _body(kind: str, data: dict) -> str:
    message = {"type": kind, "timestamp": timezone.now().isoformat(), "data": data}
    return json.dumps(message, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _wanting(kind: str) -> list[Endpoint]:
    return [endpoint for endpoint in Endpoint.objects.filter(enabled=True) if endpoint.wants(kind)]


def call_data(call: Call) -> dict:
    return {
        "call_id": call.pk,
        "broadcast_id": call.broadcast_id,
        "number": call.destination,
        "outcome": call.outcome,
        "exolve_status": call.status,
        "exolve_call_id": call.call_id,
        "attempt": call.attempt,
        "sent_at": call.sent_at,
        "ended_at": call.ended,
        "duration": call.duration,
    }


def broadcast_data(broadcast: Broadcast, **extra) -> dict:
    counts = outcome_counts(broadcast.calls.all())
    return {
        "broadcast_id": broadcast.pk,
        "name": broadcast.name,
        "state": status_of(broadcast, counts).state,
        "created_at": broadcast.created_at,
        "counts": counts,
        **extra,
    }


def record_calls_finished(call_ids: list[int]) -> list[Event]:
    """One `call.finished` event per call (for endpoints that want them); the events stored."""
    endpoints = _wanting(EventKind.CALL_FINISHED)
    if not endpoints or not call_ids:
        return []
    calls = Call.objects.filter(pk__in=call_ids).annotate(outcome=outcome_expression())
    events = [
        Event(
            kind=EventKind.CALL_FINISHED,
            key=f"call.finished:{call.pk}",
            broadcast_id=call.broadcast_id,
            body=_body(EventKind.CALL_FINISHED, call_data(call)),
        )
        for call in calls
    ]
    return _store(events, endpoints)


def record_broadcast(kind: str, broadcast_id: int, **extra) -> Event | None:
    """The broadcast's event (once: a repeat finds it stored and returns None); None for a broadcast gone."""
    broadcast = Broadcast.objects.filter(pk=broadcast_id).first()
    if broadcast is None or Event.objects.filter(key=f"{kind}:{broadcast_id}").exists():
        return None
    event = Event(kind=kind, key=f"{kind}:{broadcast_id}", broadcast_id=broadcast_id)
    event.body = _body(kind, broadcast_data(broadcast, **extra))
    stored = _store([event], _wanting(kind))
    return stored[0] if stored else None


def _store(events: list[Event], endpoints: list[Endpoint]) -> list[Event]:
    """Insert the events not stored yet and one delivery per (event, endpoint); the events this call inserted."""
    keys = [event.key for event in events]
    before = set(Event.objects.filter(key__in=keys).values_list("key", flat=True))
    Event.objects.bulk_create([e for e in events if e.key not in before], ignore_conflicts=True)
    stored = list(Event.objects.filter(key__in=set(keys) - before))
    now = timezone.now()
    Delivery.objects.bulk_create(
        [Delivery(event=event, endpoint=endpoint, next_attempt_at=now) for event in stored for endpoint in endpoints],
        ignore_conflicts=True,
    )
    return stored
