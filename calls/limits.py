"""The per-number limits: how often one number may be called in a day and in a week.

They count the calls that may have rung someone, so they live with the calls; the stop
list itself is audiences.stop_list. Both are checked when a preview is built, when a
broadcast is recorded and again when a worker claims a call.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from .models import Call, CallState

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


def over_limits(numbers: Iterable[str], *, now=None) -> dict[str, str]:
    """Numbers already called as often as EXOLVE_MAX_CALLS_PER_NUMBER_DAY / _WEEK allow -> the reason.

    Limits of 0 mean no limit.
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
            if per_day and row["day"] >= per_day:
                found[row["destination"]] = OVER_DAY_LIMIT
            elif per_week and row["week"] >= per_week:
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
