"""Which caller numbers staff may send from, as they see them, and the refusal for any other.

One place for the send page, the admin's send, the command and the recording (and its
resends), so they all agree:
- `EXOLVE_SOURCE_NUMBERS`, when set, is an override: exactly those numbers (an engineer's
  special case; they are shown with their label when one is recorded);
- otherwise the numbers a Manager enabled in the admin ("Caller numbers": mirrored from
  Exolve, able to call out, with the operator's label recorded);
- in sandbox mode with none enabled, the sandbox's own numbers, so it can be tried at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Exists, OuterRef, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caller_numbers.models import CallerNumber
from exolve_portal.exolve import sandbox_account

from .phones import InvalidNumber, display_number, normalize

# What a form says of a number that is not among the choices (a crafted POST, one disabled meanwhile).
SOURCE_NOT_ENABLED = gettext_lazy(
    "Calls from this number are not enabled. Choose another number, or ask a Manager to enable it "
    "(with its operator label) in the admin, under Caller numbers."
)


def source_numbers() -> list[str]:
    """The numbers staff may send from, in the 11-digit form Exolve takes."""
    override = [str(n).strip() for n in settings.EXOLVE_SOURCE_NUMBERS if str(n).strip()]
    if override:
        return override
    enabled = list(CallerNumber.objects.sendable().values_list("number", flat=True))
    if not enabled and settings.EXOLVE_SANDBOX:
        return list(sandbox_account.SANDBOX_SOURCE_NUMBERS)
    return enabled


def source_enabled_q() -> dict:
    """Expressions for a row with a `source`: whether a Manager enabled that number, and whether any
    number is enabled (the sandbox's own are offered when none is). Read in the row's own query."""
    return {
        "source_enabled": Exists(CallerNumber.objects.sendable().filter(number=OuterRef("source"))),
        "any_source_enabled": Exists(CallerNumber.objects.sendable()),
    }


def still_allowed(row: dict) -> bool:
    """Whether the row's `source` may still ring, from what `source_enabled_q` read: `source_numbers`'
    rule without another query."""
    override = [str(n).strip() for n in settings.EXOLVE_SOURCE_NUMBERS if str(n).strip()]
    if override:
        return row["source"] in override
    if row["source_enabled"]:
        return True
    sandbox_fallback = settings.EXOLVE_SANDBOX and not row["any_source_enabled"]
    return sandbox_fallback and row["source"] in sandbox_account.SANDBOX_SOURCE_NUMBERS


def source_choices() -> list[tuple[str, str]]:
    """(number, what staff read: "+7 495 123-45-67 — ООО Ромашка, Доставка") for each number they may use."""
    numbers = source_numbers()
    labels = labels_of(numbers)
    return [(number, shown_with_label(number, labels.get(number, ""))) for number in numbers]


def labels_of(numbers) -> dict[str, str]:
    """{number: its recorded operator label} for those of `numbers` that have one."""
    rows = CallerNumber.objects.filter(number__in=list(numbers)).only("number", "label_name", "label_category")
    return {row.number: row.label for row in rows if row.label}


def with_source_label(queryset):
    """`queryset` (of rows with a `source`) with the source's recorded operator label, in the same query.

    Read it with `source_label(row)`.
    """
    numbers = CallerNumber.objects.filter(number=OuterRef("source"))
    return queryset.annotate(
        source_label_name=Subquery(numbers.values("label_name")[:1]),
        source_label_category=Subquery(numbers.values("label_category")[:1]),
    )


def source_label(row) -> str:
    """ "ООО Ромашка, Доставка" from a row of `with_source_label`; "" without a label."""
    parts = (getattr(row, "source_label_name", None), getattr(row, "source_label_category", None))
    return ", ".join(part.strip() for part in parts if part and part.strip())


def shown_with_label(number: str, label: str) -> str:
    shown = display_number(number)
    return f"{shown} — {label}" if label else shown


def as_source(text: str) -> str:
    """A caller number as an engineer or another system types it ("+7 (495) 123-45-67") in the
    stored form; anything that is no number is kept as typed (and refused by `source_refusal`)."""
    try:
        return normalize(text)
    except InvalidNumber:
        return str(text).strip()


def source_refusal(number: str) -> str:
    """Why staff may not send from `number`, in plain words with what to do; "" when they may."""
    if number in source_numbers():
        return ""
    shown = display_number(number)
    if settings.EXOLVE_SOURCE_NUMBERS:
        return _(
            "%(number)s is not one of the caller numbers the portal is set up with (EXOLVE_SOURCE_NUMBERS). "
            "Choose one of those, or ask the administrator."
        ) % {"number": shown}
    if CallerNumber.objects.filter(number=number).exists():
        return f"{shown}: {SOURCE_NOT_ENABLED}"
    return _(
        "%(number)s is not one of the team's caller numbers. Choose one of the enabled numbers; a Manager "
        "enables numbers in the admin, under Caller numbers (after a sync from Exolve)."
    ) % {"number": shown}


def source_help() -> str:
    """The command's help for --source: the numbers it takes now."""
    try:
        choices = source_choices()
    except DatabaseError:  # `help` before the first migrate
        choices = []
    if not choices:
        return _("The caller number. None is enabled yet: a Manager enables them in the admin, under Caller numbers.")
    shown = "; ".join(f"{number} ({label})" for number, label in choices)
    return _("The caller number, one of: %(numbers)s.") % {"numbers": shown}
