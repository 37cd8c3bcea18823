"""Page counts for long lists: exact up to a limit, the planner's estimate beyond it.

`COUNT(*)` over a million calls costs more than everything else on the page together
(bench/README.md: 111 ms of a 200 ms calls table at 1,000,000 calls), and grows with
the table. So a list first counts at most `EXACT_COUNT_LIMIT + 1` rows (a bounded
query); only when there are more does it use PostgreSQL's estimate of the full count,
and says "about" (`paginator.estimated`). Other databases count exactly.
"""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

EXACT_COUNT_LIMIT = 10_000


def _queryset_of(object_list) -> QuerySet | None:
    """The queryset behind what a paginator was given: a queryset, or django-tables2's
    rows (`BoundRows.data` is the table's data, whose `.data` is the queryset)."""
    candidate = object_list
    for _depth in range(3):
        if isinstance(candidate, QuerySet):
            return candidate
        candidate = getattr(candidate, "data", None)
    return None


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of how many rows `queryset` returns (EXPLAIN, no execution)."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def about(count: int) -> int:
    """Rounded to two significant digits: an estimate is not precise to the unit."""
    digits = len(str(count))
    return round(count, -(digits - 2)) if digits > 2 else count


class EstimatingPaginator(Paginator):
    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = _queryset_of(self.object_list)
        if queryset is None:
            return super().count
        bounded = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if bounded <= EXACT_COUNT_LIMIT:
            return bounded
        estimate = planner_estimate(queryset)
        if estimate is None:
            return queryset.count()
        self.estimated = True
        return about(max(estimate, EXACT_COUNT_LIMIT + 1))
