"""What the API answers about broadcasts, calls, voice messages and caller numbers.

Lists are bounded pages with an opaque cursor (the last row's id): a page costs the same at
the millionth call as at the first. Counts by outcome come from calls/outcomes.py, the one way
the portal counts a broadcast's calls.
"""

from __future__ import annotations

import base64
from datetime import datetime

from django.utils.translation import gettext

from audiences.sources import labels_of, source_numbers
from calls.forms import sendable_voice_messages
from calls.models import Broadcast, Call
from calls.outcomes import Outcome, outcome_counts, outcome_expression, outcome_q, status_of, with_outcome_counts
from calls.sms_followups import NO_SMS, with_sms_outcome

from .problems import invalid, not_found

DEFAULT_PAGE = 100
MAX_PAGE = 500


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(str(pk).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        value = int(text)
    except (ValueError, UnicodeDecodeError):
        value = -1
    if not 0 < value < 2**63:
        raise invalid(gettext("This cursor is not one the API gave; start again without it."))
    return value


def page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise invalid(gettext("“limit” is from 1 to %(max)d.") % {"max": MAX_PAGE})
    return limit


def broadcast_out(broadcast: Broadcast, counts: dict | None = None) -> dict:
    if counts is None:
        counts = outcome_counts(broadcast.calls.all())
    shown = status_of(broadcast, counts)
    return {
        "id": broadcast.pk,
        "name": broadcast.name,
        "state": shown.state,
        "voice_message": broadcast.voice_message_id,
        "voice_message_name": broadcast.voice_message_name,
        "source": broadcast.source,
        "purpose": broadcast.purpose,
        "basis": broadcast.basis,
        "created_at": _iso(broadcast.created_at),
        "start_at": _iso(broadcast.start_at),
        "counts": {"total": counts.get("total", 0), **{outcome: counts.get(outcome, 0) for outcome in Outcome.values}},
    }


def _annotated_counts(broadcast) -> dict:
    return {"total": broadcast.total, **{o: getattr(broadcast, f"outcome_{o}") for o in Outcome.values}}


def broadcasts_page(cursor: str | None, limit: int | None) -> dict:
    size = page_size(limit)
    queryset = with_outcome_counts(Broadcast.objects.order_by("-pk"))
    if (after := decode_cursor(cursor)) is not None:
        queryset = queryset.filter(pk__lt=after)
    rows = list(queryset[: size + 1])
    items = [broadcast_out(b, _annotated_counts(b)) for b in rows[:size]]
    return {"items": items, "next_cursor": encode_cursor(rows[size - 1].pk) if len(rows) > size else None}


def one_broadcast(pk: int) -> Broadcast:
    broadcast = Broadcast.objects.filter(pk=pk).first()
    if broadcast is None:
        raise not_found(gettext("There is no broadcast %(pk)s.") % {"pk": pk})
    return broadcast


def call_out(call: Call) -> dict:
    return {
        "id": call.pk,
        "broadcast": call.broadcast_id,
        "destination": call.destination,
        "source": call.source,
        "state": call.state,
        "outcome": getattr(call, "outcome", None) or _outcome_of(call),
        "status": call.status,
        "attempt": call.attempt,
        "queued_at": _iso(call.queued_at),
        "not_before": _iso(call.not_before),
        "sent_at": _iso(call.sent_at),
        "started": _iso(call.started),
        "ended": _iso(call.ended),
        "duration": call.duration,
        "error": call.error,
        "details": call.details or {},
        "contact": call.contact_id,
        "sms": _sms_of(call),
    }


def _sms_of(call: Call) -> dict:
    """The person's follow-up SMS (issue 25): "none", or its state, with the reason when refused or unknown."""
    state = getattr(call, "sms_state", None)
    return {"state": state or NO_SMS, "reason": getattr(call, "sms_reason", None) or ""}


def _outcome_of(call: Call) -> str:
    return Call.objects.filter(pk=call.pk).annotate(outcome=outcome_expression()).values_list("outcome", flat=True)[0]


def calls_page(broadcast_id, *, outcome, since, until, cursor, limit) -> dict:
    size = page_size(limit)
    queryset = with_sms_outcome(Call.objects.filter(broadcast_id=broadcast_id)).annotate(outcome=outcome_expression())
    queryset = queryset.order_by("pk")
    if outcome:
        if outcome not in Outcome.values:
            raise invalid(gettext("“outcome” is one of: %(values)s.") % {"values": ", ".join(Outcome.values)})
        queryset = queryset.filter(outcome_q(outcome))
    if since is not None:
        queryset = queryset.filter(sent_at__gte=since)
    if until is not None:
        queryset = queryset.filter(sent_at__lt=until)
    if (after := decode_cursor(cursor)) is not None:
        queryset = queryset.filter(pk__gt=after)
    rows = list(queryset[: size + 1])
    return {
        "items": [call_out(call) for call in rows[:size]],
        "next_cursor": encode_cursor(rows[size - 1].pk) if len(rows) > size else None,
    }


def one_call(pk: int) -> dict:
    call = with_sms_outcome(Call.objects.filter(pk=pk)).annotate(outcome=outcome_expression()).first()
    if call is None:
        raise not_found(gettext("There is no call %(pk)s.") % {"pk": pk})
    return call_out(call)


def voice_messages() -> list[dict]:
    rows = sendable_voice_messages()[:MAX_PAGE]
    return [{"id": vm.pk, "name": vm.name, "exolve_id": vm.exolve_id} for vm in rows]


def caller_numbers() -> list[dict]:
    numbers = source_numbers()[:MAX_PAGE]
    labels = labels_of(numbers)
    return [{"number": number, "label": labels.get(number, "")} for number in numbers]
