"""Who of one or several contact lists a broadcast calls, and who not, and why.

`list_recipients(contact_lists, purpose)` is the one place this is decided: the send page,
the command, the admin's "Send to these lists…" (all through the send form) and, later,
the schedules and the API call it. A contact is called only when its number is valid, not
on the stop list, has a consent in force for the broadcast's purpose (whatever the
broadcast's basis: a list is the portal's own record of who agreed to what) and is not
over the per-number limits. A contact in several of the lists is called once.

To record a broadcast to them: `recording.create_broadcast(voice_message, source,
list(found.to_call), user, token, plan=..., contacts=found.to_call, audiences=found.record())`.
The recipients are fixed when the broadcast is recorded: each call keeps its contact
(`Call.contact`) and what the contact's record said (name, other fields) in its details,
and is marked `needs_consent`. The recording checks the consent once more
(`consent_gone`), and the claim once more again in its own query
(`consent_in_force_expression`): a consent withdrawn, or a number put on the stop list,
after recording means the call is not made.

Memory and time are linear in the lists' size, read in chunks of `CHUNK` contacts
(values only, no model instances); a send takes at most `MAX_RECIPIENTS` contacts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import BooleanField, Case, Exists, OuterRef, Value, When
from django.utils.translation import gettext_noop as _

from audiences import stop_list
from audiences.consent import NO_CONSENT, WITHDRAWN
from audiences.contact_models import Consent, Contact, ContactList, Membership
from audiences.upload_columns import MAX_DETAIL_CHARS, MAX_DETAIL_COLUMNS, NAME_KEY

from .limits import over_limits
from .models import Purpose

CHUNK = 900  # contacts per query (SQLite's limit on query parameters)
# The most contacts one send takes from its lists (the draft of a preview holds them all).
MAX_RECIPIENTS = 100_000
# Contacts named on a preview, of those called and of those left out.
SAMPLE = 200

INVALID = _("Not called: the contact's number is not a valid number; correct it on the contact.")
CONSENT_GONE = _(
    "Not called: the contact's consent for this purpose was withdrawn after the broadcast was recorded "
    "(or the contact was deleted)."
)

# Why a contact is left out, in the preview's order.
NOT_CALLED = ("invalid", "stop_list", "withdrawn", "no_consent", "over_limit")
_STORED_NUMBER = re.compile(r"7\d{10}")


class TooManyRecipients(ValueError):
    """The lists hold more than MAX_RECIPIENTS contacts."""


@dataclass(frozen=True)
class LeftOut:
    number: str
    name: str
    why: str  # one of NOT_CALLED
    reason: str  # the reason recorded and shown (untranslated)


@dataclass
class Recipients:
    """What `list_recipients` decided.

    `to_call`: number -> contact id, ordered by number; `left_out`: number -> one of NOT_CALLED;
    `counts`: how many of each; `names`/`sample`: the first SAMPLE named, for a preview.
    """

    lists: list[dict] = field(default_factory=list)  # [{"id", "name"}] as they are now
    to_call: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    names: list[tuple[str, str]] = field(default_factory=list)  # (number, name) of the first to call
    zones: dict[str, str] = field(default_factory=dict)  # number -> the contact's zone, when it has one
    sample: list[LeftOut] = field(default_factory=list)

    def record(self) -> dict:
        """What the broadcast keeps of its lists (`Broadcast.audiences`), as they were at the preview:
        {"lists": [{"id", "name"}], "to_call": n, "left_out": {why: count}, "left_out_total": n}."""
        left = {why: self.counts[why] for why in NOT_CALLED if self.counts[why]}
        total = len(self.left_out)
        return {"lists": self.lists, "to_call": len(self.to_call), "left_out": left, "left_out_total": total}


def list_recipients(contact_lists: Iterable, purpose: str) -> Recipients:
    """Who of `contact_lists` (ContactList objects or ids) a broadcast of `purpose` calls, and who not, and why.

    Each contact once, by number; raises TooManyRecipients above MAX_RECIPIENTS contacts.
    A few indexed queries per CHUNK contacts: the consents, the stop list, the limits.
    """
    ids = sorted({getattr(item, "pk", item) for item in contact_lists})
    found = Recipients()
    lists = ContactList.objects.filter(pk__in=ids).order_by("name").values_list("pk", "name")
    found.lists = [{"id": pk, "name": name} for pk, name in lists]
    debt = purpose == Purpose.DEBT_REMINDER
    for chunk in _chunks(_contacts(ids)):
        _judge(chunk, purpose, debt, found)
    return found


def _contacts(ids: list[int]) -> Iterator[tuple[int, str, str, str]]:
    """(contact id, number, name, zone) of the lists' contacts, each once, by number (streamed)."""
    rows = (
        Membership.objects.filter(contact_list_id__in=ids)
        .order_by("contact__number", "contact_id")
        .values_list("contact_id", "contact__number", "contact__name", "contact__zone")
    )
    last, count = None, 0
    for contact_id, number, name, zone in rows.iterator(chunk_size=2000):
        if contact_id == last:
            continue  # in two of the lists
        last, count = contact_id, count + 1
        if count > MAX_RECIPIENTS:
            raise TooManyRecipients(MAX_RECIPIENTS)
        yield contact_id, number, name, zone


def _chunks(rows: Iterator) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _judge(chunk, purpose: str, debt: bool, found: Recipients) -> None:
    consent = consent_by_contact([row[0] for row in chunk], purpose)
    listed = stop_list.blocked(row[1] for row in chunk)
    why: dict[str, tuple[str, str]] = {}
    for contact_id, number, _name, _zone in chunk:
        if not _STORED_NUMBER.fullmatch(number):
            why[number] = ("invalid", INVALID)
        elif number in listed:
            why[number] = ("stop_list", listed[number])
        elif consent.get(contact_id) != "in_force":
            why[number] = ("withdrawn", WITHDRAWN) if consent.get(contact_id) else ("no_consent", NO_CONSENT)
    limited = over_limits([row[1] for row in chunk if row[1] not in why], debt=debt)
    why.update({number: ("over_limit", reason) for number, reason in limited.items()})
    for contact_id, number, name, zone in chunk:
        if number in why:
            kind, reason = why[number]
            found.left_out[number] = kind
            found.counts[kind] += 1
            if len(found.sample) < SAMPLE:
                found.sample.append(LeftOut(number, name, kind, reason))
        else:
            found.to_call[number] = contact_id
            if zone:
                found.zones[number] = zone
            if len(found.names) < SAMPLE:
                found.names.append((number, name))


def stored_numbers(contacts: dict[str, int] | None) -> set[str]:
    """Of a recording's {number: contact id}, the numbers in the stored (normalised) form: the recording takes
    them as they are instead of parsing each again (a contact's number was normalised when it was saved)."""
    return {number for number in contacts or () if isinstance(number, str) and _STORED_NUMBER.fullmatch(number)}


def consent_by_contact(contact_ids: list[int], purpose: str) -> dict[int, str]:
    """contact id -> "in_force" or "withdrawn" (a contact with no consent for `purpose` is absent); chunked."""
    found: dict[int, str] = {}
    for start in range(0, len(contact_ids), CHUNK):
        rows = Consent.objects.filter(contact_id__in=contact_ids[start : start + CHUNK], purpose=purpose).order_by()
        for contact_id, withdrawn_at in rows.values_list("contact_id", "withdrawn_at"):
            if withdrawn_at is None:
                found[contact_id] = "in_force"
            else:
                found.setdefault(contact_id, "withdrawn")
    return found


def consent_gone(contact_ids: Iterable[int], purpose: str) -> set[int]:
    """Of `contact_ids`, those without a consent in force for `purpose` now (the recording's check)."""
    ids = list(dict.fromkeys(contact_ids))
    in_force = consent_by_contact(ids, purpose)
    return {contact_id for contact_id in ids if in_force.get(contact_id) != "in_force"}


def contact_details(contact_ids: Iterable[int]) -> dict[int, dict]:
    """contact id -> {"name": ..., other field: value} as the contact's record says now (bounded as a call's)."""
    ids = list(dict.fromkeys(contact_ids))
    found = {}
    for start in range(0, len(ids), CHUNK):
        rows = Contact.objects.filter(pk__in=ids[start : start + CHUNK]).order_by().values_list("pk", "name", "extra")
        for pk, name, extra in rows:
            details = {NAME_KEY: name} if name else {}
            for key, value in (extra if isinstance(extra, dict) else {}).items():
                if len(details) >= MAX_DETAIL_COLUMNS:
                    break
                details.setdefault(str(key)[:MAX_DETAIL_CHARS], str(value)[:MAX_DETAIL_CHARS])
            found[pk] = details
    return found


def consent_in_force_expression(purpose: str):
    """For the claim's own query: True for a call that needs no consent, or whose contact has one in force for
    `purpose` (one indexed probe per row read, no query of its own)."""
    in_force = Consent.objects.filter(contact_id=OuterRef("contact_id"), purpose=purpose, withdrawn_at__isnull=True)
    return Case(
        When(needs_consent=False, then=Value(True)),
        default=Exists(in_force),
        output_field=BooleanField(),
    )
