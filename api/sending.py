"""Recording a send accepted through the API: the send page's checks and its recording.

The plan is read by the send page's own form (calls/plan_form.PlanForm) and the broadcast is
recorded by the send page's own code (calls/recording.create_broadcast): no second path that
could ring anyone. What the API adds is a verdict per number: valid, invalid (with the
reason), duplicate, stop list, no consent, over limit. Numbers without consent for the purpose
are left out when the basis is the recipients' consent; stop-listed numbers are recorded and
never called, as on the send page.

Runs in a worker (api/recording.py), in the transaction that marks the send recorded.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.utils.translation import gettext, ngettext

from audiences.consent import consent_verdicts
from audiences.phones import ListRefused, parse_numbers
from audiences.sources import as_source, source_refusal
from audiences.stop_list import blocked
from calls.forms import sendable_voice_messages
from calls.models import Basis
from calls.outcomes import Outcome
from calls.permissions import SEND_PERMISSION
from calls.plan_form import PLAN_FIELDS, PlanForm
from calls.recording import SendRefused, create_broadcast
from calls.send_recipients import TooManyRecipients, list_recipients, lists_named

from .audit import audit
from .problems import forbidden, invalid
from .reading import broadcast_out


def broadcast_token(token, key: str) -> str:
    return "api-" + hashlib.sha256(f"{token.pk}:{key}".encode("utf-8", "surrogatepass")).hexdigest()[:60]


def record(token, key: str, body: dict):
    """(the broadcast, the answer: the broadcast and a verdict per number); Problem when refused."""
    owner = token.created_by
    if owner is None or not owner.is_active or not owner.has_perm(SEND_PERMISSION):
        raise forbidden(gettext("The person who created this token may no longer send voice messages."))
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
    except SendRefused as exc:
        raise invalid(str(exc)) from exc
    count = len(to_record)
    audit(token, broadcast, ngettext("sent to %(count)d number", "sent to %(count)d numbers", count) % {"count": count})
    answer = {"broadcast": broadcast_out(broadcast, fresh_counts(count, stopped)), "numbers": verdicts}
    return broadcast, answer


def fresh_counts(recorded: int, stopped: int) -> dict:
    """The counts of a broadcast just recorded (no query: every call is pending or, stop-listed, not called)."""
    counts = dict.fromkeys(Outcome.values, 0)
    counts.update(total=recorded, pending=recorded - stopped, not_called=stopped)
    return counts


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
