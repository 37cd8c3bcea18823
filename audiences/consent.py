"""Consent as a record: giving it, withdrawing it (with the stop list), and who lacks it.

One function per action, called alike by the admin, the staff pages and the imports:
`record_consent`, `withdraw_consent`, and `consent_verdicts` for the sending work.
Withdrawing puts the number on the stop list in the same transaction; the reverse
(a number put on the stop list withdraws its contact's consents) is
`withdraw_for_stop_list`, which `stop_list.add` and the stop list's admin call.
Every change is in the audit trail (LogEntry).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from .contact_models import Consent, WithdrawalChannel
from .models import StopListReason

NO_CONSENT = _("Not called: no consent for this purpose.")
WITHDRAWN = _("Not called: the consent for this purpose was withdrawn.")
_CHUNK = 900  # numbers per query (SQLite's limit on query parameters)


def _staff(user):
    return user if getattr(user, "pk", None) else None


def audit(user, objects, flag, message) -> None:
    """Log `objects` in the audit trail in `user`'s name (nothing for a command run without one)."""
    if (by := _staff(user)) is not None and objects:
        LogEntry.objects.log_actions(by.pk, list(objects), flag, message, single_object=False)


def record_consent(contact, *, purpose, kind, given_at, source="", reference="", user=None) -> Consent:
    """A new consent in force for `contact` and `purpose` (the one in force before is left as it is).

    Raises ValueError when one is in force already: withdraw it first (history stays readable).
    """
    if Consent.objects.filter(contact=contact, purpose=purpose, withdrawn_at__isnull=True).exists():
        raise ValueError(purpose)
    consent = Consent.objects.create(
        contact=contact,
        purpose=purpose,
        kind=kind,
        given_at=given_at,
        source=source[:200],
        reference=reference[:500],
        entered_by=_staff(user),
    )
    audit(user, [consent], ADDITION, [{"added": {}}])
    return consent


def withdraw_consent(consent: Consent, *, channel: str, user=None, note: str = "") -> None:
    """Withdraw `consent` and put its number on the stop list, in one transaction, audited.

    The stop list then withdraws the contact's other consents too (channel "stop list"):
    a number on the stop list is not called for any purpose.
    """
    from . import stop_list  # stop_list calls back into this module

    with transaction.atomic():
        now = timezone.now()
        updated = Consent.objects.filter(pk=consent.pk, withdrawn_at__isnull=True).update(
            withdrawn_at=now, withdrawal_channel=channel, withdrawn_by=_staff(user)
        )
        if not updated:
            return  # withdrawn meanwhile
        consent.refresh_from_db()
        audit(user, [consent], CHANGE, [{"changed": {"fields": ["withdrawn_at", "withdrawal_channel"]}}])
        stop_list.add(
            [consent.contact.number],
            reason=StopListReason.ASKED,
            note=(note or f"consent withdrawn ({channel})")[:255],
            user=user,
        )


def withdraw_for_stop_list(numbers: Iterable[str], *, user=None) -> int:
    """The consents in force of the contacts of `numbers`, withdrawn through the stop list; returns how many.

    Called inside the transaction that puts the numbers on the stop list.
    """
    numbers = list(dict.fromkeys(numbers))
    now, by, count = timezone.now(), _staff(user), 0
    for start in range(0, len(numbers), _CHUNK):
        in_force = Consent.objects.filter(
            contact__number__in=numbers[start : start + _CHUNK], withdrawn_at__isnull=True
        )
        withdrawn = list(in_force.values_list("pk", flat=True))
        if not withdrawn:
            continue
        count += Consent.objects.filter(pk__in=withdrawn).update(
            withdrawn_at=now, withdrawal_channel=WithdrawalChannel.STOP_LIST, withdrawn_by=by
        )
        audit(user, Consent.objects.filter(pk__in=withdrawn), CHANGE, [{"changed": {"fields": ["withdrawn_at"]}}])
    return count


def consent_verdicts(numbers: Iterable[str], purpose: str) -> dict[str, str]:
    """The numbers of `numbers` that may not be called for `purpose` -> why (untranslated).

    No consent in force for the purpose: NO_CONSENT (no contact, or none ever given),
    or WITHDRAWN (given, then withdrawn). One indexed query per chunk of numbers.
    """
    numbers = list(dict.fromkeys(numbers))
    verdicts: dict[str, str] = {}
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        rows = Consent.objects.filter(contact__number__in=chunk, purpose=purpose).order_by()
        in_force, withdrawn = set(), set()
        for number, withdrawn_at in rows.values_list("contact__number", "withdrawn_at"):
            (withdrawn if withdrawn_at else in_force).add(number)
        for number in chunk:
            if number not in in_force:
                verdicts[number] = WITHDRAWN if number in withdrawn else NO_CONSENT
    return verdicts
