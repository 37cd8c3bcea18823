"""The integrations app listens to calls/events.py and api/events.py: events stored, the webhook
queue woken, notices sent."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.dispatch import receiver

from api import events as api_events
from calls import events

from . import recording, tasks
from .models import AnswerCount, EventKind

logger = logging.getLogger(__name__)


@receiver(events.calls_finished)
def _calls_finished(sender, call_ids, **kwargs):
    if recording.record_calls_finished(call_ids):
        tasks.wake_delivery()


def _broadcast_event(kind: str, broadcast_id: int, **extra) -> None:
    with transaction.atomic():
        event = recording.record_broadcast(kind, broadcast_id, **extra)
    if event is None:
        return
    if event.deliveries.exists():
        tasks.wake_delivery()
    tasks.enqueue_notices(event.pk)


@receiver(api_events.send_finished)
def _send_finished(sender, send_id, **kwargs):
    if recording.record_send_finished(send_id):
        tasks.wake_delivery()


@receiver(events.sms_finished)
def _sms_finished(sender, sms_ids, **kwargs):
    if recording.record_sms_finished(sms_ids):
        tasks.wake_delivery()


@receiver(events.broadcast_finished)
def _broadcast_finished(sender, broadcast_id, **kwargs):
    _broadcast_event(EventKind.BROADCAST_FINISHED, broadcast_id)


@receiver(events.broadcast_stopped)
def _broadcast_stopped(sender, broadcast_id, user_id=None, **kwargs):
    _broadcast_event(EventKind.BROADCAST_STOPPED, broadcast_id)


@receiver(events.broadcast_failed)
def _broadcast_failed(sender, broadcast_id, reason, **kwargs):
    _broadcast_event(EventKind.BROADCAST_FAILED, broadcast_id, reason=reason)


@receiver(events.exolve_answers)
def _exolve_answers(sender, kind, count, **kwargs):
    """Count Exolve's refusals, 429s and unknowns in the database: every worker adds to one counter."""
    if not AnswerCount.objects.filter(kind=kind).update(count=F("count") + count):
        AnswerCount.objects.get_or_create(kind=kind, defaults={"count": 0})
        AnswerCount.objects.filter(kind=kind).update(count=F("count") + count)
