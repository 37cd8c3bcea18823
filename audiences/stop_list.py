"""The stop list (do-not-call) and the per-number limits: who must not be called, and why.

Both are checked three times: when a preview is built (the numbers are listed), when a
broadcast is recorded (the calls are recorded as skipped, with the reason) and again
when a worker claims a call (a number added, or a limit reached, after recording is
still not called). Each check is one indexed query per list or claim batch.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from .models import Call, CallState, StopListEntry, StopListReason

ON_STOP_LIST = _("Not called: the number is on the stop list.")
OVER_DAY_LIMIT = _("Not called: this number was already called as often as allowed today.")
OVER_WEEK_LIMIT = _("Not called: this number was already called as often as allowed this week.")
# Calls that may have rung someone count against the limits.
_RANG = (CallState.SENDING, CallState.SENT, CallState.FINISHED, CallState.UNKNOWN)
_CHUNK = 900  # numbers per query (SQLite's limit on query parameters)
# PostgreSQL advisory locks on numbers use the two-key form with this first key (the
# one-key form is another space): "EXOL" in ASCII.
_NUMBER_LOCKS = 0x45584F4C


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


def over_limits(numbers: Iterable[str], *, now=None, extra: dict[str, int] | None = None) -> dict[str, str]:
    """Numbers already called as often as EXOLVE_MAX_CALLS_PER_NUMBER_DAY / _WEEK allow -> the reason.

    `extra`: calls about to be made to each number in the same batch (a claim of several
    calls to one number counts them all). Limits of 0 mean no limit.
    """
    per_day, per_week = settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY, settings.EXOLVE_MAX_CALLS_PER_NUMBER_WEEK
    if not per_day and not per_week:
        return {}
    now = now or timezone.now()
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    numbers = list(dict.fromkeys(numbers))
    found: dict[str, str] = {}
    for chunk in _chunks(numbers):
        since = week_ago if per_week else day_ago
        rows = (
            Call.objects.filter(destination__in=chunk, state__in=_RANG, claimed_at__gte=since)
            .values("destination")
            .annotate(day=Count("pk", filter=Q(claimed_at__gte=day_ago)), week=Count("pk"))
            .order_by()
        )
        for row in rows:
            before = (extra or {}).get(row["destination"], 0)
            if per_day and row["day"] + before >= per_day:
                found[row["destination"]] = OVER_DAY_LIMIT
            elif per_week and row["week"] + before >= per_week:
                found[row["destination"]] = OVER_WEEK_LIMIT
    return found


def limits_set() -> bool:
    return bool(settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY or settings.EXOLVE_MAX_CALLS_PER_NUMBER_WEEK)


def hold_numbers(numbers: Iterable[str]) -> set[str]:
    """Hold `numbers` until the transaction ends, so that no other claim counts them meanwhile.

    Returns those another transaction holds (busy: leave their calls for a later look).
    A claim holds its numbers before it counts their calls, and keeps them until the calls
    it took ("sending") are committed: a claim for another broadcast that counts the same
    number afterwards sees them. On PostgreSQL a transaction-scoped advisory lock per
    number, tried without waiting (two claims can never wait for each other); SQLite
    needs none, its claims run one after the other (IMMEDIATE transactions).
    """
    if connection.vendor != "postgresql":
        return set()
    numbers = sorted(set(numbers))
    if not numbers:
        return set()
    # Two numbers that share a key are held together: harmless, one waits a turn.
    keys = [zlib.crc32(number.encode()) - 2**31 for number in numbers]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n FROM unnest(%s::text[], %s::integer[]) AS v(n, k) "
            "WHERE NOT pg_try_advisory_xact_lock(%s::integer, k)",
            [numbers, keys, _NUMBER_LOCKS],
        )
        return {row[0] for row in cursor.fetchall()}


def add(numbers: Iterable[str], *, reason: str = StopListReason.ASKED, note: str = "", user=None) -> int:
    """Put `numbers` (already normalised) on the stop list; returns how many were new. Audited."""
    numbers = list(dict.fromkeys(numbers))
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
