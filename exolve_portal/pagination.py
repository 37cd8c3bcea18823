"""Page counts for long lists: exact up to a limit, the planner's estimate beyond it.

`COUNT(*)` over a million calls costs more than everything else on the page together
(bench/README.md: 111 ms of a 200 ms calls table at 1,000,000 calls), and grows with
the table. So on PostgreSQL a list counts at most `EXACT_COUNT_LIMIT + 1` rows (a
bounded query) and asks the planner for its estimate (EXPLAIN, nothing executed);
when there are more rows than the limit it shows the estimate and says "about"
(`paginator.estimated`). Other databases (SQLite: a single team's trial) count exactly.
"""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

EXACT_COUNT_LIMIT = 10_000
# Rows on a page of an admin list (Django's list_per_page). The large lists set their
# list_max_show_all to it: "Show all" is never offered, whatever `?all=` says.
ADMIN_PAGE = 100


def _queryset_of(object_list) -> QuerySet | None:
    """The queryset behind what a paginator was given: a queryset, or django-tables2's
    rows (`BoundRows.data` is the table's data, whose `.data` is the queryset)."""
    candidate = object_list
    for _depth in range(3):
        if isinstance(candidate, QuerySet):
            return candidate
        candidate = getattr(candidate, "data", None)
    return None


def planner_estimate(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of how many rows `queryset` returns (EXPLAIN, no execution)."""
    output = queryset.order_by().explain(format="json")
    if not output:
        return 0  # a query that cannot match anything (an id beyond 64 bits) is not even planned
    return int(json.loads(output)[0]["Plan"]["Plan Rows"])


def about(count: int) -> int:
    """Rounded to two significant digits: an estimate is not precise to the unit."""
    digits = len(str(count))
    return round(count, -(digits - 2)) if digits > 2 else count


class EstimatingPaginator(Paginator):
    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = _queryset_of(self.object_list)
        if queryset is None or connections[queryset.db].vendor != "postgresql":
            return super().count
        # Both queries every time, so a page costs the same queries at any size.
        estimate = planner_estimate(queryset)
        bounded = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if bounded <= EXACT_COUNT_LIMIT:
            return bounded
        self.estimated = True
        return about(max(estimate, EXACT_COUNT_LIMIT + 1))
