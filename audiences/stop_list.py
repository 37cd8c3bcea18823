"""The stop list (do-not-call): who must not be called, and why.

Checked three times: when a preview is built (the numbers are listed), when a broadcast
is recorded (the calls are recorded as skipped, with the reason) and again when a worker
claims a call (a number added after recording is still not called). Each check is one
indexed query per list or claim batch. The per-number limits, which count calls, are
calls.limits.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.admin.models import ADDITION, LogEntry
from django.db import connection, transaction
from django.utils.translation import gettext_noop as _

from .consent import withdraw_for_stop_list
from .models import StopListEntry, StopListReason

ON_STOP_LIST = _("Not called: the number is on the stop list.")
_CHUNK = 900  # numbers per query (SQLite's limit on query parameters)


def _chunks(numbers: list[str]):
    for start in range(0, len(numbers), _CHUNK):
        yield numbers[start : start + _CHUNK]


def blocked(numbers: Iterable[str]) -> dict[str, str]:
    """The numbers of `numbers` on the stop list -> the reason to record (untranslated)."""
    numbers = list(dict.fromkeys(numbers))
    found: dict[str, str] = {}
    for chunk in _chunks(numbers):
        for number in _listed(chunk):
            found[number] = ON_STOP_LIST
    return found


def _listed(numbers: list[str]) -> list[str]:
    """Those of `numbers` on the stop list: one indexed query."""
    if connection.vendor != "postgresql":
        return list(StopListEntry.objects.filter(number__in=numbers).order_by().values_list("number", flat=True))
    # The same query PostgreSQL makes of an IN list, with the numbers as one array: the
    # ORM would prepare each value on its own, and a worker runs this on every claim.
    quote = connection.ops.quote_name
    table, column = quote(StopListEntry._meta.db_table), quote(StopListEntry._meta.get_field("number").column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} = ANY(%s)", [numbers])
        return [row[0] for row in cursor.fetchall()]


def add(numbers: Iterable[str], *, reason: str = StopListReason.ASKED, note: str = "", user=None) -> int:
    """Put `numbers` (already normalised) on the stop list; returns how many were new. Audited.

    The consents of their contacts are withdrawn (channel "stop list") in the same transaction.
    """
    numbers = list(dict.fromkeys(numbers))
    with transaction.atomic():
        added = _add(numbers, reason=reason, note=note, user=user)
        withdraw_for_stop_list(numbers, user=user)
    return added


def _add(numbers: list[str], *, reason: str, note: str, user) -> int:
    existing = set()
    for chunk in _chunks(numbers):
        existing |= set(StopListEntry.objects.filter(number__in=chunk).order_by().values_list("number", flat=True))
    by = user if getattr(user, "pk", None) else None
    new = [StopListEntry(number=n, reason=reason, note=note[:255], added_by=by) for n in numbers if n not in existing]
    created = StopListEntry.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    if by is not None and new:
        # Every addition in the audit trail (an import of thousands too), one query per chunk.
        for chunk in _chunks([e.number for e in new]):
            entries = list(StopListEntry.objects.filter(number__in=chunk, added_by=by))
            LogEntry.objects.log_actions(by.pk, entries, ADDITION, [{"added": {}}], single_object=False)
    return len(created)
