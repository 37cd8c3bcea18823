"""Follow-up SMS: created once a person's last attempt is final, and read per person.

`followups_for(finished, now)` runs in the statistics refresh's transaction, right after
the retries (calls/retries.py): a call that just became final and will not be called
again (no retry left, or its outcome is not retried), whose outcome the broadcast's
`sms_on` names, gets its person's SMS, unless the broadcast was stopped. The row waits
for the callee's calling window (`not_before`). At most one per person per broadcast:
the constraint `calls_one_sms_per_person` and an insert that ignores conflicts.

`sms_outcome(call)` and `with_sms_outcome(calls)` are the one way the pages, the exports,
the API and the webhooks read a person's SMS: none, waiting, sent, refused (with the
reason), unknown or not sent (stopped). Exolve's delivery statuses (messaging/v1/GetList)
are unknown, so "sent" is the last word; SendSMS's answer is kept as received (`raw`).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Count, OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from .lifecycle import BroadcastState, get_zone
from .models import Broadcast, Call, CallState, SmsFollowUp, SmsState
from .outcomes import FAILED_STATUSES
from .retries import deserves_retry
from .sms_plan import outcomes_of
from .windows import broadcast_windows

NO_SMS = "none"
SMS_WORDS = {
    NO_SMS: _("no SMS"),
    SmsState.QUEUED: _("SMS waiting"),
    SmsState.SENDING: _("SMS sending"),
    SmsState.SENT: _("SMS sent"),
    SmsState.REFUSED: _("SMS refused"),
    SmsState.UNKNOWN: _("SMS unknown"),
    SmsState.CANCELED: _("SMS not sent (stopped)"),
}


def final_outcome(status: str) -> str:
    """The outcome words `sms_on` uses for a final Exolve status; "" for the others."""
    if status in ("no_answer", "busy"):
        return status
    return "failed" if status in FAILED_STATUSES else ""


def followups_for(finished: list[Call], now: datetime) -> dict[int, datetime]:
    """Create the SMS of the people whose last attempt just became final; {broadcast id: earliest send time}."""
    candidates = [c for c in finished if c.state == CallState.FINISHED and c.broadcast_id]
    if not candidates:
        return {}
    broadcasts = Broadcast.objects.exclude(sms_text="").in_bulk({c.broadcast_id for c in candidates})
    wanted = []
    for call in candidates:
        broadcast = broadcasts.get(call.broadcast_id)
        if broadcast is None or broadcast.state == BroadcastState.STOPPED or not broadcast.sms_sender:
            continue
        if final_outcome(call.status) not in outcomes_of(broadcast.sms_on) or deserves_retry(call, broadcast):
            continue
        zone = get_zone(call.time_zone or broadcast.time_zone) or get_zone(settings.TIME_ZONE)
        wanted.append(
            SmsFollowUp(
                broadcast_id=broadcast.pk,
                call_id=call.pk,
                destination=call.destination,
                sender=broadcast.sms_sender,
                time_zone=call.time_zone,
                not_before=broadcast_windows(broadcast).next_opening(now, zone),
            )
        )
    if not wanted:
        return {}
    SmsFollowUp.objects.bulk_create(wanted, ignore_conflicts=True)
    earliest: dict[int, datetime] = {}
    for sms in wanted:
        earliest[sms.broadcast_id] = min(earliest.get(sms.broadcast_id, sms.not_before), sms.not_before)
    return earliest


def sms_outcome(call: Call) -> dict:
    """The person's SMS in this call's broadcast: {"state", "label", "reason", "message_id", "sent_at"}.

    "state" is "none" (no SMS for this person), or an SmsState value; "reason" says why
    it was refused, canceled or is unknown. For the API and the webhooks (issue 24).
    """
    sms = None
    if call.broadcast_id:
        sms = SmsFollowUp.objects.filter(broadcast_id=call.broadcast_id, destination=call.destination).first()
    return outcome_of(sms)


def outcome_of(sms: SmsFollowUp | None) -> dict:
    if sms is None:
        return {"state": NO_SMS, "label": str(SMS_WORDS[NO_SMS]), "reason": "", "message_id": "", "sent_at": None}
    return {
        "state": sms.state,
        "label": str(SMS_WORDS.get(sms.state, sms.state)),
        "reason": sms.error,
        "message_id": sms.message_id,
        "sent_at": sms.sent_at,
    }


def with_sms_outcome(calls):
    """`calls` annotated with `sms_state` (None: no SMS) and `sms_reason`, in the same query."""
    person = SmsFollowUp.objects.filter(broadcast_id=OuterRef("broadcast_id"), destination=OuterRef("destination"))
    return calls.annotate(
        sms_state=Subquery(person.values("state")[:1]), sms_reason=Subquery(person.values("error")[:1])
    )


def sms_label(state: str | None, reason: str = "") -> str:
    """What staff read of a person's SMS: "SMS sent", "SMS refused: <reason>", ... ("" when none)."""
    if not state:
        return ""
    word = str(SMS_WORDS.get(state, state))
    return f"{word}: {reason}" if reason and state in (SmsState.REFUSED, SmsState.UNKNOWN) else word


def sms_counts(broadcast) -> dict[str, int]:
    """How many of the broadcast's SMS are in each state (one query)."""
    counts = {state: 0 for state in SmsState.values}
    rows = SmsFollowUp.objects.filter(broadcast=broadcast).order_by().values("state").annotate(n=Count("pk"))
    for row in rows:
        counts[row["state"]] = row["n"]
    return counts
