"""Turning the calls app's (and the API's) events into stored events, their webhook deliveries and notices.

Each event is stored once whatever repeats it (`Event.key` is unique), with the body
every attempt sends; each endpoint subscribed to its kind gets one delivery. Nothing is
stored for call events no endpoint wants. The work of delivering and e-mailing is left
to the webhook queue's tasks (integrations/tasks.py), so the sender never waits for it.
"""

from __future__ import annotations

import json
from collections import Counter

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from api.models import ApiSend, SendState
from calls.models import Broadcast, Call, SmsFollowUp, SmsState
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
    calls = Call.objects.filter(pk__in=call_ids).annotate(outcome=outcome_expression())
    return _record_each(EventKind.CALL_FINISHED, call_ids, calls, call_data)


def record_sms_finished(sms_ids: list[int]) -> list[Event]:
    """One `sms.finished` event per follow-up SMS in a final state (for endpoints that want them)."""
    rows = SmsFollowUp.objects.filter(pk__in=sms_ids).exclude(state__in=(SmsState.QUEUED, SmsState.SENDING))
    return _record_each(EventKind.SMS_FINISHED, sms_ids, rows, sms_data)


def _record_each(kind: str, ids: list[int], rows, data_of) -> list[Event]:
    """An event of `kind` per row of `rows` (not read when no endpoint wants it), keyed "kind:pk"."""
    endpoints = _wanting(kind)
    if not endpoints or not ids:
        return []
    events = [
        Event(kind=kind, key=f"{kind}:{row.pk}", broadcast_id=row.broadcast_id, body=_body(kind, data_of(row)))
        for row in rows
    ]
    return _store(events, endpoints)


def sms_data(sms: SmsFollowUp) -> dict:
    """The person's SMS: "state" sent, refused or unknown (Exolve's delivery reports are not read)."""
    return {
        "sms_id": sms.pk,
        "broadcast_id": sms.broadcast_id,
        "call_id": sms.call_id,
        "number": sms.destination,
        "sender": sms.sender,
        "state": sms.state,
        "reason": sms.error,
        "exolve_message_id": sms.message_id,
        "sent_at": sms.sent_at,
    }


def record_send_finished(send_id: int) -> list[Event]:
    """A `send.finished` event for an API send recorded or refused (for endpoints that want them)."""
    sends = ApiSend.objects.filter(pk=send_id).exclude(state=SendState.ACCEPTED)
    return _record_each(EventKind.SEND_FINISHED, [send_id], sends, send_data)


def send_data(send: ApiSend) -> dict:
    """The send's outcome: its broadcast and how many numbers got each verdict, or the problem."""
    answer = send.answer or {}
    problem = answer.get("problem")
    return {
        "send_id": send.pk,
        "key": send.key,
        "state": send.state,
        "broadcast_id": send.broadcast_id,
        "verdicts": dict(Counter(number["verdict"] for number in answer.get("numbers", []))),
        "problem": {"title": problem.get("title"), "detail": problem.get("detail")} if problem else None,
        "recorded_at": send.recorded_at,
    }


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
