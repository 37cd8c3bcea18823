"""The per-number limits: how often one number may be called in a day, a week and a month.

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

from . import debt_rules
from .models import Call, CallState, Purpose

OVER_DAY_LIMIT = _("Not called: this number was already called as often as allowed today.")
OVER_WEEK_LIMIT = _("Not called: this number was already called as often as allowed this week.")
OVER_MONTH_LIMIT = _("Not called: this number was already called as often as allowed this month.")
OVER_DEBT_LIMIT = _(
    "Not called: this number already had as many debt reminders as the law allows (230-FZ: 2 a day, 4 a week, "
    "16 a month)."
)
# Calls that may have rung someone count against the limits.
_RANG = (CallState.SENDING, CallState.SENT, CallState.FINISHED, CallState.UNKNOWN)
_CHUNK = 900  # numbers per query (SQLite's limit on query parameters)
# PostgreSQL advisory locks on numbers use the two-key form with this first key (the
# one-key form is another space): "EXOL" in ASCII.
_NUMBER_LOCKS = 0x45584F4C
# Rolling windows, never looser than the calendar's: any calendar day lies within the
# 24 hours before its last call, any week within 7 days, any month within 31 days.
_SPANS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=31)}
_REASONS = {"day": OVER_DAY_LIMIT, "week": OVER_WEEK_LIMIT, "month": OVER_MONTH_LIMIT}


def _chunks(numbers: list[str]):
    for start in range(0, len(numbers), _CHUNK):
        yield numbers[start : start + _CHUNK]


def _portal_limits() -> dict[str, int]:
    return {
        "day": settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY,
        "week": settings.EXOLVE_MAX_CALLS_PER_NUMBER_WEEK,
        "month": settings.EXOLVE_MAX_CALLS_PER_NUMBER_MONTH,
    }


def over_limits(numbers: Iterable[str], *, now=None, debt: bool = False) -> dict[str, str]:
    """Numbers already called as often as EXOLVE_MAX_CALLS_PER_NUMBER_DAY / _WEEK / _MONTH allow -> the reason.

    Limits of 0 mean no limit. `debt`: for a debt reminder, also the law's counts of debt
    reminders to the number (calls/debt_rules.py), over every broadcast and retry. One
    grouped query per chunk of numbers through the (destination, claimed_at) index.
    """
    portal = {span: limit for span, limit in _portal_limits().items() if limit}
    law = {"day": debt_rules.PER_DAY, "week": debt_rules.PER_WEEK, "month": debt_rules.PER_MONTH} if debt else {}
    if not portal and not law:
        return {}
    now = now or timezone.now()
    longest = max(_SPANS[span] for span in (*portal, *law))
    counts = {f"p_{span}": Count("pk", filter=Q(claimed_at__gte=now - _SPANS[span])) for span in portal}
    debt_q = Q(broadcast__purpose=Purpose.DEBT_REMINDER)
    counts.update({f"d_{span}": Count("pk", filter=debt_q & Q(claimed_at__gte=now - _SPANS[span])) for span in law})
    found: dict[str, str] = {}
    for chunk in _chunks(list(dict.fromkeys(numbers))):
        rows = (
            Call.objects.filter(destination__in=chunk, state__in=_RANG, claimed_at__gte=now - longest)
            .values("destination")
            .annotate(**counts)
            .order_by()
        )
        for row in rows:
            reason = next((_REASONS[span] for span, limit in portal.items() if row[f"p_{span}"] >= limit), None)
            if reason is None and any(row[f"d_{span}"] >= limit for span, limit in law.items()):
                reason = OVER_DEBT_LIMIT
            if reason:
                found[row["destination"]] = reason
    return found


def limits_set() -> bool:
    return any(_portal_limits().values())


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
