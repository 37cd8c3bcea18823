"""SMS claims: queued follow-up SMS move to "sending" for one worker, each exactly once.

The same discipline as the calls' claims (calls/claims.py): the broadcast's row is locked
first, so a stop that committed is seen by every later claim (its SMS are canceled, none
is sent after it); a conditional UPDATE moves queued -> sending once. Before that, each
SMS is checked again: outside the callee's calling window it waits for the next opening;
a number on the stop list, a contact without consent in force for the broadcast's purpose,
or a sender that may not send SMS (a city or 8-800 number) is refused with the reason, and
nothing is sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from audiences import stop_list
from audiences.consent import consent_verdicts
from audiences.contact_models import Contact

from . import events
from .lifecycle import BroadcastState, get_zone
from .models import Broadcast, SmsFollowUp, SmsState
from .sms_plan import sender_refusal
from .windows import claim_windows

STOPPED_NOT_SENT = _("Not sent: the broadcast was stopped.")
ON_STOP_LIST = _("Not sent: the number is on the stop list.")
NO_CONSENT = _("Not sent: this contact has no consent in force for the broadcast's purpose.")


@dataclass(frozen=True)
class ClaimedSms:
    pk: int
    sender: str
    destination: str
    text: str
    claim: str


@dataclass
class SmsClaim:
    sms: list
    halted: str = ""
    retry_at: datetime | None = None


def claim_sms(broadcast_id: int, limit: int, worker_id: str) -> SmsClaim:
    """Move up to `limit` of the broadcast's due SMS to "sending" for this worker. Inside a transaction."""
    queryset = Broadcast.objects.filter(pk=broadcast_id)
    if connection.features.has_select_for_update:
        queryset = queryset.select_for_update(no_key=connection.features.has_select_for_no_key_update)
    broadcast = queryset.only(
        "state", "sms_text", "calling_hours", "calling_hours_rest", "purpose", "time_zone"
    ).first()
    if broadcast is None or limit <= 0:
        return SmsClaim([])
    waiting = SmsFollowUp.objects.filter(broadcast_id=broadcast_id, state=SmsState.QUEUED)
    if broadcast.state == BroadcastState.STOPPED:
        waiting.update(state=SmsState.CANCELED, error=gettext(STOPPED_NOT_SENT))
        return SmsClaim([], halted=broadcast.state)
    if broadcast.state == BroadcastState.PAUSED:
        return SmsClaim([], halted=broadcast.state)
    now = timezone.now()
    due = waiting.filter(not_before__lte=now)
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    rows = list(due.order_by("not_before").values_list("pk", "sender", "destination", "time_zone")[:limit])
    if not rows:
        first = waiting.order_by("not_before").values_list("not_before", flat=True).first()
        return SmsClaim([], retry_at=first)
    rows = _in_window(rows, broadcast, now)
    refusals = _refusals(rows, broadcast.purpose)
    for reason, pks in refusals.items():
        SmsFollowUp.objects.filter(pk__in=pks, state=SmsState.QUEUED).update(
            state=SmsState.REFUSED, error=gettext(reason)
        )
    refused = {pk for pks in refusals.values() for pk in pks}
    if refused:
        events.on_commit(events.sms_finished, sms_ids=sorted(refused))
    claim = f"{worker_id[:40]}:{uuid.uuid4().hex[:16]}"
    sendable = [row for row in rows if row[0] not in refused]
    pks = [row[0] for row in sendable]
    taken = SmsFollowUp.objects.filter(pk__in=pks, state=SmsState.QUEUED).update(
        state=SmsState.SENDING, claimed_at=now, claimed_by=claim
    )
    if taken != len(pks):
        ours = set(SmsFollowUp.objects.filter(pk__in=pks, claimed_by=claim).values_list("pk", flat=True))
        sendable = [row for row in sendable if row[0] in ours]
    if not sendable:  # all of this batch wait for their window or were refused: look again then
        first = waiting.order_by("not_before").values_list("not_before", flat=True).first()
        return SmsClaim([], retry_at=first)
    text = broadcast.sms_text
    return SmsClaim([ClaimedSms(pk, sender, destination, text, claim) for pk, sender, destination, _z in sendable])


def _in_window(rows: list, broadcast, now) -> list:
    """The rows inside the callee's calling window now; the others wait for their next opening."""
    window = claim_windows(broadcast.calling_hours, broadcast.calling_hours_rest, broadcast.purpose)
    if window.any_time:
        return rows
    default_zone = get_zone(broadcast.time_zone) or get_zone(settings.TIME_ZONE)
    kept, later = [], {}
    for row in rows:
        opening = window.next_opening(now, get_zone(row[3]) or default_zone)
        if opening > now:
            later.setdefault(opening, []).append(row[0])
        else:
            kept.append(row)
    for opening, pks in later.items():
        SmsFollowUp.objects.filter(pk__in=pks, state=SmsState.QUEUED).update(not_before=opening)
    return kept


def _refusals(rows: list, purpose: str) -> dict[str, list[int]]:
    """{reason: pks} of the SMS that may not be sent: stop list, a contact without consent, the sender."""
    destinations = [row[2] for row in rows]
    listed = stop_list.blocked(destinations)
    contacts = set(Contact.objects.filter(number__in=destinations).values_list("number", flat=True))
    without_consent = consent_verdicts(sorted(contacts), purpose) if contacts else {}
    senders = {row[1]: sender_refusal(row[1]) for row in rows}
    refusals: dict[str, list[int]] = {}
    for pk, sender, destination, _zone in rows:
        if destination in listed:
            reason = ON_STOP_LIST
        elif destination in without_consent:
            reason = NO_CONSENT
        else:
            reason = senders[sender]
        if reason:
            refusals.setdefault(reason, []).append(pk)
    return refusals
