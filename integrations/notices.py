"""E-mail notices to staff: a broadcast finished, was stopped or cannot continue; an endpoint switched off.

Sent through Django's e-mail (EMAIL_URL; the console on the embedded defaults) by the
webhook queue's worker, never by the sender. The portal keeps no language per person,
so notices are written in the portal's language (LANGUAGE_CODE). Each event's notices
go out once: the event is marked before the mail is sent (`Event.noticed_at`).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.translation import gettext

from calls import events
from calls.models import Broadcast
from calls.outcomes import labelled, outcome_counts

from .models import Event, EventKind, NoticeSubscription

logger = logging.getLogger(__name__)


def _subject(kind: str, name: str) -> str:
    return {
        EventKind.BROADCAST_FINISHED: gettext("Broadcast “%(name)s” has finished"),
        EventKind.BROADCAST_STOPPED: gettext("Broadcast “%(name)s” was stopped"),
        EventKind.BROADCAST_FAILED: gettext("Broadcast “%(name)s” cannot continue"),
    }[kind] % {"name": name}


def _reason(reason: str) -> str:
    if reason == events.ACCOUNT_BLOCKED:
        return gettext("Exolve refused the calls: the account is blocked or not active. Ask the administrator.")
    if reason == events.KEY_REFUSED:
        return gettext(
            "Exolve refused the portal's API key. Ask the administrator to check the EXOLVE_API_KEY setting."
        )
    return ""


def broadcast_text(event: Event, broadcast: Broadcast) -> tuple[str, str]:
    """The subject and body of a broadcast's notice, in the active language."""
    name = broadcast.name or broadcast.voice_message_name or str(broadcast.pk)
    lines = [_subject(event.kind, name) + "."]
    if event.kind == EventKind.BROADCAST_FAILED:
        lines.append(_reason(broadcast_reason(event)))
    counts = outcome_counts(broadcast.calls.all())
    lines += ["", gettext("Calls: %(count)d.") % {"count": counts["total"]}]
    lines += [f"{label}: {count}" for label, _outcome, count in labelled(counts) if count]
    return _subject(event.kind, name), "\n".join(lines) + "\n"


def broadcast_reason(event: Event) -> str:
    return json.loads(event.body).get("data", {}).get("reason", "")


def recipients(broadcast: Broadcast) -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    wanted = set(NoticeSubscription.objects.values_list("user_id", flat=True))
    if broadcast.created_by_id:
        wanted.add(broadcast.created_by_id)
    return sorted(set(users.filter(pk__in=wanted).values_list("email", flat=True)))


def send_notices(event_id: int) -> int:
    """E-mail the broadcast's sender and the subscribers about event `event_id`, once. How many were written to."""
    if not Event.objects.filter(pk=event_id, noticed_at=None).update(noticed_at=timezone.now()):
        return 0
    event = Event.objects.get(pk=event_id)
    broadcast = Broadcast.objects.filter(pk=event.broadcast_id).first()
    if broadcast is None:
        return 0
    failed = Event.objects.filter(key=f"{EventKind.BROADCAST_FAILED}:{broadcast.pk}").exists()
    if event.kind == EventKind.BROADCAST_FINISHED and failed:
        return 0  # its people were told it cannot continue: "finished" (every call refused) would only confuse
    to = recipients(broadcast)
    if not to:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = broadcast_text(event, broadcast)
    try:
        send_mail(subject, body, None, to)
    except Exception:  # a mail server down must not stop the webhook worker
        logger.exception("Could not e-mail the notice of event %s", event_id)
        return 0
    return len(to)


def switched_off_reason() -> str:
    return gettext(
        "Switched off: every attempt to deliver failed for too long. Check the receiver, then tick “enabled” again."
    )


def endpoint_switched_off(endpoint, now) -> None:
    """Tell the endpoint's owner (if they have an address) that it was switched off."""
    with translation.override(settings.LANGUAGE_CODE):
        reason = switched_off_reason()
        type(endpoint).objects.filter(pk=endpoint.pk).update(disabled_reason=reason)
        owner = endpoint.owner
        if owner is None or not owner.email:
            return
        subject = gettext("Webhook endpoint “%(name)s” was switched off") % {"name": endpoint.name}
        body = "\n".join(
            [
                subject + ".",
                gettext("Address: %(url)s") % {"url": endpoint.url},
                gettext("Failed attempts in a row: %(count)d.") % {"count": endpoint.failures_in_row},
                reason,
            ]
        )
    try:
        send_mail(subject, body + "\n", None, [owner.email])
    except Exception:
        logger.exception("Could not e-mail the owner of webhook endpoint %s", endpoint.pk)
