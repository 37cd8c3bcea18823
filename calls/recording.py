"""Recording a broadcast: the request's part of sending, and deliberate resends.

The request only records calls and enqueues work (`tasks.enqueue_sending`, on commit);
workers send them (`sending.send_queued_calls`). Nothing is recorded twice:

- a form submitted twice carries one token, and one token makes one broadcast;
- a resend marks the old calls resent in the transaction that records the new ones.

A resend rings with the plan of the broadcast it repeats, from now (calls/resend_plan.py).

Each call gets the time it may ring first (`not_before`): the broadcast's start, and
the calling hours in the callee's local time (calls/lifecycle.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from audiences import stop_list
from audiences.consent import WITHDRAWN
from audiences.phones import InvalidNumber, normalize
from audiences.sources import source_refusal
from audiences.upload_columns import MAX_DETAIL_CHARS, MAX_DETAIL_COLUMNS

from . import audience_recipients, tasks
from .lifecycle import get_zone, zone_of_number
from .models import Broadcast, Call, CallState, Purpose, basis_label, is_resendable, resendable_q
from .plan_form import SendPlan
from .plan_rules import START_TOLERANCE, PlanRefused, check_plan
from .resend_plan import resend_plans
from .steering import split_resendable
from .windows import Windows


class SendRefused(Exception):
    """The broadcast cannot be made; `str()` says why in plain words."""


# --- Recording a broadcast ------------------------------------------------------


def new_token() -> str:
    """A fresh idempotency token for one send form."""
    return uuid.uuid4().hex


def check_voice_message(voice_message) -> None:
    """Raise SendRefused when `voice_message` cannot be sent now."""
    if voice_message is None or voice_message.pk is None:
        raise SendRefused(gettext("The voice message does not exist (it may have been deleted)."))
    if getattr(voice_message, "missing_since", None) is not None:
        raise SendRefused(
            gettext("The voice message no longer exists at Exolve. Sync voice messages or create it again.")
        )
    if not voice_message.exolve_id:
        raise SendRefused(gettext("The voice message has no Exolve id yet."))


def create_broadcast(
    voice_message,
    source: str,
    destinations: list[str],
    user,
    token: str,
    *,
    invalid_numbers=(),
    duplicate_numbers=(),
    plan: SendPlan | None = None,
    zones: dict[str, str] | None = None,
    name: str = "",
    details: dict[str, dict] | None = None,
    contacts: dict[str, int] | None = None,
    audiences: dict | None = None,
) -> Broadcast:
    """Record one broadcast with one queued call per destination and enqueue its sending.

    Idempotent on `token`: a second call with the same token returns the broadcast the
    first one made and records nothing (`broadcast.created_now` tells which happened).
    `destinations` are normalised again (and deduplicated) so no caller can queue a
    malformed number. `plan` says when and how fast (default: now, the default calling
    hours, no pace); `zones` gives callees' time zones read from an uploaded list, and
    `details` what it said of each person ({number: {"name": ..., header: cell}}).
    `contacts` ({number: contact id}, calls/audience_recipients.py) are the numbers taken from
    contact lists: their calls keep the contact and what its record says, and ring only with a
    consent in force for the purpose; `audiences` is what the broadcast keeps of its lists.
    """
    check_voice_message(voice_message)
    if refusal := source_refusal(source):
        raise SendRefused(refusal)
    numbers = _normalized(destinations, audience_recipients.stored_numbers(contacts))
    if not numbers:
        raise SendRefused(gettext("There are no valid numbers to call."))
    if not token:
        raise SendRefused(gettext("The form has expired; open it again."))

    existing = Broadcast.objects.filter(token=token).first()
    if existing is not None:
        existing.created_now = False
        return existing
    requested_by = user if getattr(user, "pk", None) else None
    skipped = {"invalid_numbers": [list(i) for i in invalid_numbers], "duplicate_numbers": list(duplicate_numbers)}
    try:
        broadcast = _record_broadcast(
            voice_message, source, numbers, requested_by, token, **skipped,
            plan=plan, zones=zones, name=name, details=details, people=(contacts or {}, audiences or {}),
        )  # fmt: skip
    except IntegrityError:
        # The same form, submitted twice at the same moment: the other request won.
        existing = Broadcast.objects.filter(token=token).first()
        if existing is None:
            raise
        existing.created_now = False
        return existing
    return broadcast


def _normalized(destinations, stored=frozenset()) -> list[str]:
    """Each destination normalised, once, in order; SendRefused naming the first that is no number.

    `stored`: contacts' numbers, normalised when the contacts were saved, taken as they are."""
    numbers = {}
    for raw in destinations:
        if raw in stored:
            numbers.setdefault(raw, None)
            continue
        try:
            numbers.setdefault(normalize(raw), None)
        except InvalidNumber as exc:
            raise SendRefused(gettext("%(number)s: %(reason)s") % {"number": raw, "reason": exc}) from exc
    return list(numbers)


@dataclass
class Resend:
    """What a resend did: the broadcasts it recorded, and the calls already sent again before."""

    broadcasts: list
    already_resent: list

    @property
    def queued(self) -> int:
        return sum(broadcast.call_count for broadcast in self.broadcasts)


def resend_calls(calls, user) -> Resend:
    """Deliberately send `calls` (unknown, rejected, no answer, busy) again, as new calls, each at most once.

    One new broadcast per broadcast the calls came from (and voice message, source), with
    that broadcast's plan from now (calls/resend_plan.py: calling hours the resender may not
    use become the portal's; any other rule broken refuses); the old calls are marked resent in
    the same transaction, by a conditional UPDATE, so a second submit of the same form
    (Back, a double click, a colleague at the same moment) queues nothing. A person may
    send again only calls of broadcasts they may steer (`steering.may_steer`: the sender,
    or a Manager); `user` None is the portal itself.
    """
    candidates = [call for call in calls if is_resendable(call)]
    if user is not None and split_resendable(user, candidates)[1]:
        raise SendRefused(
            gettext("You may send again only calls of broadcasts you sent; ask a Manager for the others.")
        )
    for voice_message in {call.voice_message_id: call.voice_message for call in candidates}.values():
        check_voice_message(voice_message)
    for source in sorted({call.source for call in candidates}):
        if refusal := source_refusal(source):  # disabled since the broadcast was sent
            raise SendRefused(refusal)
    plans = resend_plans(candidates, user)  # refused before anything is marked resent
    refusals = [plan.refusal for plan in plans.values() if plan.refusal]
    if refusals:
        raise SendRefused(refusals[0])
    broadcasts = []
    with transaction.atomic():
        fresh = _claim_for_resend([call.pk for call in candidates])
        groups: dict[tuple, list[Call]] = {}
        for call in candidates:
            if call.pk in fresh:
                groups.setdefault((call.broadcast_id, call.voice_message_id, call.source), []).append(call)
        for (origin, _vm_id, source), group in groups.items():
            plan = plans[origin].plan
            broadcasts.append(_create_resend(group[0].voice_message, source, group, user, plan))
    return Resend(broadcasts, [call for call in candidates if call.pk not in fresh])


def _claim_for_resend(pks: list[int]) -> set[int]:
    """Mark the calls resent that nobody resent yet; return their pks. Inside a transaction."""
    queryset = Call.objects.filter(resendable_q(), pk__in=pks, resent_at__isnull=True)
    if connection.features.has_select_for_update:
        # PostgreSQL: a concurrent resend waits here, then finds these rows resent.
        queryset = queryset.select_for_update()
    fresh = set(queryset.values_list("pk", flat=True))
    marked = Call.objects.filter(pk__in=fresh, resent_at__isnull=True).update(resent_at=timezone.now())
    if marked != len(fresh):  # cannot happen under the row locks; refuse rather than guess
        raise SendRefused(gettext("Someone else is sending these calls again right now; look again in a moment."))
    return fresh


def _create_resend(voice_message, source, old_calls, user, plan: SendPlan) -> Broadcast:
    requested_by = user if getattr(user, "pk", None) else None
    resend_of = {}
    for old in old_calls:
        resend_of.setdefault(old.destination, old)  # one new call per number
    broadcast = _record_broadcast(
        voice_message, source, list(resend_of), requested_by, new_token(), resend_of=resend_of, plan=plan
    )
    broadcast.call_count = len(resend_of)
    return broadcast


def callee_zone(number: str, zones: dict[str, str] | None, default: str) -> tuple[str, str]:
    """(the zone stored on the call, the zone its calling hours use): number, list, broadcast."""
    known = zone_of_number(number) or (zones or {}).get(number, "")
    return known, known or default


def _record_broadcast(
    voice_message,
    source,
    numbers,
    requested_by,
    token,
    *,
    resend_of=None,
    invalid_numbers=(),
    duplicate_numbers=(),
    plan: SendPlan | None = None,
    zones: dict[str, str] | None = None,
    name: str = "",
    details: dict[str, dict] | None = None,
    people: tuple[dict, dict] = ({}, {}),
) -> Broadcast:
    """Write a broadcast, one queued call per number and its audit entry; enqueue sending on commit.

    `people`: ({number: contact id} of the numbers from contact lists, what to keep of the lists)."""
    plan, window = _checked_plan(plan or SendPlan(), requested_by)
    now = timezone.now()
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            name=(name or "")[:200],
            voice_message=voice_message,
            voice_message_name=voice_message.name,
            service_id=voice_message.exolve_id,
            source=source,
            created_by=requested_by,
            token=token,
            invalid_numbers=invalid_numbers,
            duplicate_numbers=duplicate_numbers,
            audiences=people[1],
            **plan.broadcast_fields(now),
        )
        openings = _Openings(window, broadcast.start_at or now)
        calls = _queued_calls(broadcast, numbers, resend_of or {}, zones, openings, details or {}, people[0])
        Call.objects.bulk_create(calls, batch_size=500)
        if requested_by is not None:
            _log_sending(broadcast, requested_by, len(numbers), plan)
        first = openings.first(default=now)
        transaction.on_commit(lambda: tasks.enqueue_sending(broadcast.pk, len(numbers), at=first))
    broadcast.created_now = True
    return broadcast


def _checked_plan(plan: SendPlan, requested_by) -> tuple[SendPlan, Windows]:
    """The plan with its defaults, and its calling hours; SendRefused when out of bounds for `requested_by`."""
    try:
        # Whatever path the plan came by (a page, a command, a crafted request): the same bounds.
        window = check_plan(plan, requested_by, late=START_TOLERANCE)
    except PlanRefused as exc:
        raise SendRefused(str(exc)) from exc
    return plan.filled(), window


class _Openings:
    """Per callee zone, the first time its calls may ring after `start` (computed once per zone)."""

    def __init__(self, window: Windows, start: datetime):
        self.window = window
        self.start = start
        self.by_zone: dict[str, datetime] = {}

    def of(self, zone_name: str) -> datetime:
        if zone_name not in self.by_zone:
            zone = get_zone(zone_name) or get_zone(settings.TIME_ZONE)
            self.by_zone[zone_name] = self.window.next_opening(self.start, zone)
        return self.by_zone[zone_name]

    def first(self, default: datetime) -> datetime:
        return min(self.by_zone.values(), default=default)


def _queued_calls(
    broadcast: Broadcast, numbers, resend_of: dict, zones, openings: _Openings, details: dict, contacts: dict
) -> list[Call]:
    """One call per number, each with its callee's zone, first ringing time and details; stop-listed ones skipped,
    and those from a contact list whose consent for the purpose is no longer in force."""
    blocked = stop_list.blocked(numbers)
    contacts = {**{n: old.contact_id for n, old in resend_of.items() if old.needs_consent}, **contacts}
    records = audience_recipients.contact_details(contacts.values())  # as the contacts' records say now
    gone = audience_recipients.consent_gone(contacts.values(), broadcast.purpose)
    for number, contact_id in contacts.items():
        if contact_id in gone and number not in blocked:
            blocked[number] = WITHDRAWN
    voice_message = broadcast.voice_message
    calls = []
    for number in numbers:
        known, effective = callee_zone(number, zones, broadcast.time_zone)
        contact_id = contacts.get(number)
        calls.append(
            Call(
                broadcast=broadcast,
                voice_message=voice_message,
                service_id=voice_message.exolve_id,
                source=broadcast.source,
                destination=number,
                requested_by=broadcast.created_by,
                resend_of=resend_of.get(number),
                time_zone=known,
                details=records.get(contact_id) or _details_of(number, details, resend_of),
                contact_id=contact_id if contact_id in records else None,  # deleted since: the number stays
                needs_consent=contact_id is not None,
                not_before=openings.of(effective),
                # On the stop list: recorded, never called, with the reason.
                state=CallState.SKIPPED if number in blocked else CallState.QUEUED,
                error=gettext(blocked[number]) if number in blocked else "",
            )
        )
    return calls


def _details_of(number: str, details: dict, resend_of: dict) -> dict:
    """What the list said of the person (a resend keeps what the first call had); bounded again."""
    if number in resend_of:
        return resend_of[number].details or {}
    item = details.get(number)
    if not isinstance(item, dict):
        return {}
    kept = list(item.items())[:MAX_DETAIL_COLUMNS]
    return {str(key)[:MAX_DETAIL_CHARS]: str(value)[:MAX_DETAIL_CHARS] for key, value in kept}


def _log_sending(broadcast: Broadcast, requested_by, count: int, plan: SendPlan) -> None:
    """The audit trail in the admin shows who sent what, next to message edits."""
    LogEntry.objects.log_actions(
        requested_by.pk,
        [broadcast],
        ADDITION,
        change_message=ngettext(
            "Sent to %(count)d number from %(source)s; purpose: %(purpose)s; basis: %(basis)s",
            "Sent to %(count)d numbers from %(source)s; purpose: %(purpose)s; basis: %(basis)s",
            count,
        )
        % {
            "count": count,
            "source": broadcast.source,
            "purpose": Purpose(plan.purpose).label,
            "basis": basis_label(plan.basis),
        },
        single_object=True,
    )
