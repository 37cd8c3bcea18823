"""Sending through the API: the send page's checks and its recording, once per Idempotency-Key.

The plan is read by the send page's own form (calls/plan_form.PlanForm) and the broadcast is
recorded by the send page's own code (calls/recording.create_broadcast): no second path that
could ring anyone twice. What the API adds:

- the key: one `IdempotencyKey` row per (token, key), inserted in the transaction that records
  the broadcast. Two identical requests at the same moment: PostgreSQL makes the second insert
  wait for the first transaction, then refuses it (unique constraint); the second request reads
  the first's row and answers with the same broadcast. The broadcast's own token is derived from
  (token, key), a second guarantee.
- the body's SHA-256 on that row: the same key with another body is refused (422).
- per-number verdicts: valid, invalid (with the reason), duplicate, stop list, no consent.
  Numbers without consent for the purpose are left out when the basis is the recipients'
  consent; stop-listed numbers are recorded and never called, as on the send page.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, ngettext

from audiences.consent import consent_verdicts
from audiences.phones import ListRefused, parse_numbers
from audiences.sources import as_source, source_refusal
from audiences.stop_list import blocked
from calls.forms import sendable_voice_messages
from calls.models import Basis
from calls.outcomes import Outcome
from calls.plan_form import PLAN_FIELDS, PlanForm
from calls.recording import SendRefused, create_broadcast
from calls.send_recipients import TooManyRecipients, list_recipients, lists_named

from .audit import audit
from .models import IdempotencyKey
from .problems import invalid
from .reading import broadcast_out

MAX_KEY_LENGTH = 255


def body_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def broadcast_token(token, key: str) -> str:
    return "api-" + hashlib.sha256(f"{token.pk}:{key}".encode("utf-8", "surrogatepass")).hexdigest()[:60]


def checked_key(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise invalid(gettext("Send an “Idempotency-Key” header (any unique text, e.g. a UUID) with every send."))
    if len(key) > MAX_KEY_LENGTH:
        raise invalid(gettext("The Idempotency-Key is longer than %(max)d characters.") % {"max": MAX_KEY_LENGTH})
    return key


def send(token, key: str, body: dict) -> tuple[int, dict]:
    """(HTTP status, answer) of a send: 201 the first time, 200 with the same answer for a repeat."""
    key = checked_key(key)
    digest = body_digest(body)
    if (repeat := _repeat(token, key, digest)) is not None:
        return 200, repeat
    owner = token.created_by
    voice_message, source, plan = _checked(body, owner)
    audience = _audience(body.get("lists") or [], plan)
    parsed = _parsed(body.get("numbers") or [], audience is not None)
    verdicts, to_record = _verdicts(parsed, plan)
    stopped = sum(1 for v in verdicts if v["verdict"] == "stop_list")  # recorded, never called
    contacts = {}
    if audience is not None:
        verdicts, to_record, contacts = _with_audience(audience, verdicts, to_record)
    if not to_record:
        raise invalid(gettext("None of the numbers can be called."), verdicts)
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(token=token, key=key, body_digest=digest)
            broadcast = create_broadcast(
                voice_message,
                source,
                to_record,
                owner,
                broadcast_token(token, key),
                invalid_numbers=parsed.invalid,
                duplicate_numbers=parsed.duplicates,
                plan=plan,
                name=body.get("name") or "",
                contacts=contacts,
                audiences=audience.record() if audience is not None else None,
            )
            answer = {"broadcast": broadcast_out(broadcast, fresh_counts(len(to_record), stopped)), "numbers": verdicts}
            row.broadcast, row.answer = broadcast, answer
            row.save(update_fields=["broadcast", "answer"])
            count = len(to_record)
            what = ngettext("sent to %(count)d number", "sent to %(count)d numbers", count) % {"count": count}
            audit(token, broadcast, what)
    except IntegrityError:
        # The same key at the same moment: the other request recorded it (or its row is now visible).
        repeat = _repeat(token, key, digest)
        if repeat is None:
            raise
        return 200, repeat
    except SendRefused as exc:
        raise invalid(str(exc)) from exc
    return 201, answer


def fresh_counts(recorded: int, stopped: int) -> dict:
    """The counts of a broadcast just recorded (no query: every call is pending or, stop-listed, not called)."""
    counts = dict.fromkeys(Outcome.values, 0)
    counts.update(total=recorded, pending=recorded - stopped, not_called=stopped)
    return counts


def _repeat(token, key: str, digest: str) -> dict | None:
    row = IdempotencyKey.objects.filter(token=token, key=key).first()
    if row is None:
        return None
    if row.body_digest != digest:
        raise invalid(
            gettext(
                "This Idempotency-Key was already used for a different request (broadcast %(pk)s). "
                "Nothing was sent; use a new key for a new send."
            )
            % {"pk": row.broadcast_id or "—"}
        )
    return row.answer


def _checked(body: dict, owner):
    """The voice message, the source and the plan, checked as the send page checks them (Problem 422)."""
    errors = []
    voice_message = sendable_voice_messages().filter(pk=body.get("voice_message")).first()
    if voice_message is None:
        errors.append(
            {
                "field": "voice_message",
                "message": gettext(
                    "This voice message cannot be sent: it was deleted, or it no longer exists at Exolve."
                ),
            }
        )
    source = as_source(str(body.get("source") or ""))
    if refusal := source_refusal(source):
        errors.append({"field": "source", "message": str(refusal)})
    plan_data = {name: value for name, value in (body.get("plan") or {}).items() if value is not None}
    form = PlanForm({name: plan_data[name] for name in PLAN_FIELDS if name in plan_data}, user=owner)
    if not form.is_valid():
        for field, messages in form.errors.items():
            errors.extend({"field": f"plan.{field}", "message": message} for message in messages)
    if errors:
        raise invalid(gettext("Some values cannot be used; see “errors”."), errors)
    return voice_message, source, form.plan


def _parsed(numbers: list, with_lists: bool):
    if not numbers and not with_lists:
        raise invalid(gettext("Give at least one number or contact list."))
    if not numbers:
        return parse_numbers([])
    try:
        return parse_numbers([str(n) for n in numbers], limit=settings.EXOLVE_UPLOAD_MAX_ROWS)
    except ListRefused as exc:
        raise invalid(str(exc)) from exc


def _verdicts(parsed, plan) -> tuple[list[dict], list[str]]:
    """(a verdict per number given, the normalised numbers to record)."""
    stopped = blocked(parsed.valid)
    needs_consent = plan.basis == Basis.CONSENT
    refused = consent_verdicts([n for n in parsed.valid if n not in stopped], plan.purpose) if needs_consent else {}
    verdicts, to_record = [], []
    for number in parsed.valid:
        if number in stopped:
            verdicts.append({"number": number, "verdict": "stop_list", "reason": gettext(stopped[number])})
            to_record.append(number)  # recorded and never called, with the reason (as on the send page)
        elif number in refused:
            verdicts.append({"number": number, "verdict": "no_consent", "reason": gettext(refused[number])})
        else:
            verdicts.append({"number": number, "verdict": "valid", "reason": ""})
            to_record.append(number)
    verdicts += [{"number": raw, "verdict": "invalid", "reason": str(reason)} for raw, reason in parsed.invalid]
    verdicts += [
        {"number": number, "verdict": "duplicate", "reason": gettext("Given more than once: called once.")}
        for number in parsed.duplicates
    ]
    return verdicts, to_record


# A list's contact left out: its verdict in the answer (the preview's reasons, calls/audience_recipients.py).
_LEFT_OUT_VERDICTS = {
    "invalid": "invalid",
    "stop_list": "stop_list",
    "withdrawn": "no_consent",
    "no_consent": "no_consent",
    "over_limit": "over_limit",
}


def _audience(names: list, plan):
    """Who of the named lists the broadcast calls (the send page's own choice), or None without lists."""
    if not names:
        return None
    try:
        return list_recipients(lists_named(names), plan.purpose)
    except TooManyRecipients as exc:
        raise invalid(
            gettext("The chosen lists hold more than %(count)d contacts; send to fewer lists at a time.")
            % {"count": exc.args[0]}
        ) from exc
    except ValueError as exc:
        raise invalid(gettext("There is no contact list named %(names)s.") % {"names": exc}) from exc


def _with_audience(audience, verdicts: list[dict], to_record: list[str]):
    """The typed numbers' verdicts and the lists' together; a number in both counts as the list's contact."""
    words = _left_out_words()
    typed = set(to_record)
    for number, why in audience.left_out.items():
        if number not in typed:
            verdicts.append({"number": number, "verdict": _LEFT_OUT_VERDICTS[why], "reason": words[why]})
    for number in audience.to_call:
        if number not in typed:
            verdicts.append({"number": number, "verdict": "valid", "reason": ""})
    to_record = to_record + [number for number in audience.to_call if number not in typed]
    return verdicts, to_record, dict(audience.to_call)


def _left_out_words() -> dict[str, str]:
    return {
        "invalid": gettext("The contact's number is not a valid number; correct it on the contact."),
        "stop_list": gettext("On the stop list: not called."),
        "withdrawn": gettext("The contact's consent for this purpose was withdrawn."),
        "no_consent": gettext("The contact has no consent for this purpose."),
        "over_limit": gettext("Over the per-number limits: not called now."),
    }
