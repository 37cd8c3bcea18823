"""CallerNumber: the local mirror of one number the Exolve application owns, and what Managers decide of it.

Exolve is the source of truth for the number and its facts (type, region, category, what
it may do); only `sync.py` writes those, through `CallerNumber.from_exolve`. Managers
decide, in the admin, whether staff may send from it (`enabled`) and record the label
the operator registered for it (the company name and category shown to the person
called, and since when): since 1 September 2025 (41-FZ amending 126-FZ) mass calls
from unlabelled numbers, or numbers not the company's own, are blocked.
"""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exolve_portal.exolve.owned_numbers import OwnedNumber
from exolve_portal.fields import staff_member

SYNC_PERMISSION = "caller_numbers.sync_caller_numbers"
CHANGE_PERMISSION = "caller_numbers.change_callernumber"
# The columns a sync writes from Exolve's answer (never what Managers decide).
EXOLVE_COLUMNS = ("kind", "type_name", "region", "category", "description", "can_call_out", "can_send_sms")


class Kind(models.TextChoices):
    MOBILE = "mobile", _("mobile")
    CITY = "city", _("city")
    TOLL_FREE = "8-800", _("8-800")
    OTHER = "other", _("other")


class CallerNumberQuerySet(models.QuerySet):
    def sendable(self):
        """Numbers staff may send from: enabled, still at Exolve, able to call out, labelled."""
        return self.filter(
            Q(enabled=True, gone_since__isnull=True, can_call_out=True, labelled_since__isnull=False)
            & ~Q(label_name="")
            & ~Q(label_category="")
        ).order_by("number")


class CallerNumber(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices, default=Kind.OTHER)
    type_name = models.CharField(_("Exolve type"), max_length=16, blank=True)
    region = models.CharField(_("region"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=200, blank=True)
    description = models.CharField(_("description at Exolve"), max_length=500, blank=True)
    can_call_out = models.BooleanField(_("can call out"), default=False)
    can_send_sms = models.BooleanField(_("can send SMS"), default=False)
    exolve_created_at = models.DateTimeField(_("bought"), null=True, blank=True)
    raw = models.JSONField(_("Exolve's answer"), default=dict, blank=True)
    first_seen_at = models.DateTimeField(_("first seen at Exolve"))
    last_seen_at = models.DateTimeField(_("last seen at Exolve"))
    gone_since = models.DateTimeField(
        _("gone from Exolve since"),
        null=True,
        blank=True,
        help_text=_("Exolve no longer lists this number: it cannot be used, and is kept for the history."),
    )
    enabled = models.BooleanField(
        _("staff may send from it"),
        default=False,
        help_text=_("Needs outgoing calls at Exolve and the operator's label below."),
    )
    label_name = models.CharField(
        _("label: company name"),
        max_length=200,
        blank=True,
        help_text=_("The name registered with the operator and shown to the person called, e.g. ООО Ромашка."),
    )
    label_category = models.CharField(
        _("label: category"),
        max_length=200,
        blank=True,
        help_text=_("The category registered with the operator, e.g. Доставка."),
    )
    labelled_since = models.DateField(_("labelled since"), null=True, blank=True)
    changed_by = staff_member(_("changed by"))
    changed_at = models.DateTimeField(_("changed"), null=True, blank=True)

    objects = CallerNumberQuerySet.as_manager()

    class Meta:
        verbose_name = _("caller number")
        verbose_name_plural = _("caller numbers")
        ordering = ["number"]
        permissions = [("sync_caller_numbers", _("Can sync caller numbers from Exolve"))]

    def __str__(self) -> str:
        return shown_number(self.number)

    @property
    def label(self) -> str:
        """ "ООО Ромашка, Доставка", or "" when no label is recorded."""
        return ", ".join(part for part in (self.label_name.strip(), self.label_category.strip()) if part)

    def clean(self):
        if self.enabled:
            problems = enabling_problems(self)
            if problems:
                raise ValidationError({"enabled": problems})

    @staticmethod
    def exolve_fields(owned: OwnedNumber) -> dict:
        """The columns Exolve's answer sets (the only way Exolve's facts reach a row)."""
        return {
            "kind": owned.kind or Kind.OTHER,
            "type_name": owned.type_name[:16],
            "region": owned.region_name[:200],
            "category": owned.category_name[:200],
            "description": owned.description[:500],
            "can_call_out": owned.options.outgoing_calls,
            "can_send_sms": owned.options.outgoing_sms,
        }


def enabling_problems(number: CallerNumber) -> list[str]:
    """Why `number` may not be enabled, in plain words (empty: it may)."""
    problems = []
    if number.gone_since:
        problems.append(_("Exolve no longer lists this number, so nobody can call from it."))
    elif not number.can_call_out:
        problems.append(
            _("Exolve does not allow outgoing calls from this number. Choose another number, or ask Exolve.")
        )
    if not (number.label_name.strip() and number.label_category.strip() and number.labelled_since):
        problems.append(
            _(
                "Record the label the operator registered for this number first: the company name, the category "
                "and since when. Calls from unlabelled numbers are blocked by the operators."
            )
        )
    return problems


def shown_number(number: str) -> str:
    """79161230016 as people write it, +7 916 123-00-16 (anything else as it is)."""
    try:
        parsed = phonenumbers.parse("+" + number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
