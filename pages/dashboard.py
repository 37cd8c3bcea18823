"""The numbers on the dashboard, each a single aggregate query whatever the number of calls.

Days are local days in the current time zone (settings.TIME_ZONE): "today" for staff
in Moscow starts at midnight in Moscow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from calls.lifecycle import status
from calls.models import RESENDABLE_STATUSES, Broadcast, Call, CallState
from calls.outcomes import FINAL_OUTCOMES, Outcome, outcome_expression

CHART_DAYS = 30
LATEST_BROADCASTS = 10
# How long the totals of days before yesterday are reused (they hardly change any more).
SETTLED_DAYS_CACHE_SECONDS = 300
# Yesterday's calls may still get their statistics (for up to a day): its totals are
# reused for a minute only.
YESTERDAY_CACHE_SECONDS = 60
# Today's for a few seconds: visits in a row (several staff, a reload) share one count,
# so the page's time does not follow today's volume; a new call shows within seconds.
TODAY_CACHE_SECONDS = 10

# Colours of the chart's stacks, one per outcome (kept readable on light and dark themes).
OUTCOME_COLOURS = {
    Outcome.COMPLETED: "#2e8540",
    Outcome.NO_ANSWER: "#e0a100",
    Outcome.BUSY: "#d9661f",
    Outcome.FAILED: "#c0392b",
    Outcome.UNKNOWN: "#7f8c8d",
    Outcome.PENDING: "#3b7dd8",
    Outcome.NOT_CALLED: "#b8b8b8",
}


def local_midnight(day: date) -> datetime:
    """The aware datetime at which `day` starts in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


@dataclass
class PeriodStats:
    key: str
    label: str
    first_day: date
    counts: dict[str, int]
    average_duration: float | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def answer_rate(self) -> float | None:
        """Answered calls as a share (0..1) of the calls with a final outcome; None before any."""
        final = sum(self.counts[o] for o in FINAL_OUTCOMES)
        return self.counts[Outcome.COMPLETED] / final if final else None

    @property
    def average_seconds(self) -> int | None:
        return None if self.average_duration is None else round(self.average_duration)

    @property
    def answer_percent(self) -> int | None:
        rate = self.answer_rate
        return None if rate is None else round(rate * 100)


def period_stats(today: date | None = None, totals: dict[date, DayTotals] | None = None) -> list[PeriodStats]:
    """Today, this week (from Monday) and the last 30 days: counts per outcome, answer rate, average duration.

    Summed from the per-day totals (no query of its own when `totals` is given). The
    average duration is over answered (completed) calls that have a duration.
    """
    today = today or timezone.localdate()
    totals = totals if totals is not None else day_totals(today=today)
    periods = [
        ("today", _("Today"), today),
        ("week", _("This week"), today - timedelta(days=today.weekday())),
        ("month", _("Last 30 days"), today - timedelta(days=CHART_DAYS - 1)),
    ]
    result = []
    for key, label, first in periods:
        days = [day for day in totals.values() if day.day >= first]
        timed = sum(day.completed_timed for day in days)
        result.append(
            PeriodStats(
                key=key,
                label=label,
                first_day=first,
                counts={o: sum(day.counts[o] for day in days) for o in Outcome.values},
                average_duration=sum(day.completed_seconds for day in days) / timed if timed else None,
            )
        )
    return result


def outcome_rows(periods: list[PeriodStats]) -> list[tuple]:
    """(outcome, label, colour, [(period, count), ...]) per outcome: the breakdown table's rows."""
    return [
        (outcome, Outcome(outcome).label, OUTCOME_COLOURS[outcome], [(p, p.counts[outcome]) for p in periods])
        for outcome in Outcome.values
    ]


# --- The chart ------------------------------------------------------------------


@dataclass
class Segment:
    outcome: str
    label: str
    count: int
    y: float
    height: float
    colour: str


@dataclass
class Bar:
    day: date
    label: str  # the day as staff read it
    axis_label: str  # short, under the bar
    total: int
    x: float
    width: float
    counts: dict[str, int]
    segments: list[Segment] = field(default_factory=list)
    show_label: bool = False

    @property
    def centre(self) -> float:
        return round(self.x + self.width / 2, 2)

    @property
    def description(self) -> str:
        """The bar in words (the SVG <title>: a tooltip and what screen readers say)."""
        parts = [f"{Outcome(o).label}: {n}" for o, n in self.counts.items() if n]
        return f"{self.label}: {self.total}" + (f" ({', '.join(parts)})" if parts else "")


@dataclass
class Chart:
    width: int
    height: int
    plot_left: int
    plot_top: int
    plot_bottom: int
    maximum: int
    bars: list[Bar]
    ticks: list[tuple[int, float]]  # (value, y)
    legend: list[tuple[str, str, str]]  # (outcome, label, colour)

    @property
    def total(self) -> int:
        return sum(bar.total for bar in self.bars)

    @property
    def plot_right(self) -> int:
        return self.width - 8

    @property
    def plot_height(self) -> int:
        return self.plot_bottom - self.plot_top

    @property
    def tick_label_x(self) -> int:
        return self.plot_left - 6


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at or above `value` (an axis that reads well)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


@dataclass
class DayTotals:
    """One local day: calls per outcome, and the durations of its answered calls."""

    day: date
    counts: dict[str, int]
    completed_seconds: int = 0
    completed_timed: int = 0  # answered calls that have a duration


def day_totals(days: int = CHART_DAYS, today: date | None = None) -> dict[date, DayTotals]:
    """Per local day of the last `days` days (every day present): outcomes and durations.

    Counted in one query, and only what the cache does not hold: days before yesterday
    for a few minutes (their calls are final: statistics stop being refreshed after a
    day), yesterday for a minute (its last calls may still be refreshed), today for a
    few seconds. A visit's time then follows neither the table nor today's volume.
    """
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    yesterday = today - timedelta(days=1)
    settled_key, yesterday_key, today_key = _cache_keys(first, today)
    settled, recent, current = cache.get(settled_key), cache.get(yesterday_key), cache.get(today_key)
    if settled is None:
        count_from = first
    elif recent is None:
        count_from = yesterday
    else:
        count_from = today if current is None else None
    fresh = _count_days(count_from, today) if count_from else {}
    if settled is None:
        settled = {day: totals for day, totals in fresh.items() if day < yesterday}
        cache.set(settled_key, settled, SETTLED_DAYS_CACHE_SECONDS)
    if recent is None:
        recent = {yesterday: fresh[yesterday]} if yesterday in fresh else {}
        cache.set(yesterday_key, recent, YESTERDAY_CACHE_SECONDS)
    if current is None:
        current = fresh[today]
        cache.set(today_key, current, TODAY_CACHE_SECONDS)
    return {**settled, **recent, today: current}


def _cache_keys(first: date, today: date) -> tuple[str, str, str]:
    zone = timezone.get_current_timezone_name()
    yesterday = today - timedelta(days=1)
    return (
        f"calls:dashboard:days:{zone}:{first}:{yesterday - timedelta(days=1)}",
        f"calls:dashboard:yesterday:{zone}:{yesterday}",
        f"calls:dashboard:today:{zone}:{today}",
    )


def forget_today(today: date | None = None) -> None:
    """Count today again on the next visit (as when its few seconds are over)."""
    today = today or timezone.localdate()
    cache.delete(_cache_keys(today - timedelta(days=CHART_DAYS - 1), today)[2])


def _count_days(first: date, last: date) -> dict[date, DayTotals]:
    """Count the calls queued between local midnights of `first` and the end of `last`. One query.

    Days are buckets between local midnights computed here, so they follow the time
    zone (and its clock changes) on every backend in plain SQL. (TruncDate with a time
    zone is a Python function per row on SQLite: six times slower at 100,000 calls.)
    """
    day_numbers = list(range((last - first).days + 1))
    day_index = Case(
        *[When(queued_at__gte=local_midnight(first + timedelta(days=n)), then=Value(n)) for n in reversed(day_numbers)],
        default=Value(-1),
        output_field=IntegerField(),
    )
    rows = (
        Call.objects.filter(queued_at__gte=local_midnight(first))
        .annotate(day_index=day_index, outcome=outcome_expression())
        .values("day_index", "outcome")
        .annotate(count=Count("pk"), seconds=Sum("duration"), timed=Count("duration"))
        .order_by()
    )
    result = {
        first + timedelta(days=n): DayTotals(first + timedelta(days=n), dict.fromkeys(Outcome.values, 0))
        for n in day_numbers
    }
    for row in rows:
        if 0 <= row["day_index"] < len(day_numbers):
            totals = result[first + timedelta(days=row["day_index"])]
            totals.counts[row["outcome"]] += row["count"]
            if row["outcome"] == Outcome.COMPLETED:
                totals.completed_seconds += row["seconds"] or 0
                totals.completed_timed += row["timed"]
    return result


def daily_counts(
    days: int = CHART_DAYS, today: date | None = None, totals: dict[date, DayTotals] | None = None
) -> dict[date, dict[str, int]]:
    """Calls per local day and outcome for the last `days` days (every day present)."""
    totals = totals if totals is not None else day_totals(days, today)
    return {day: day_totals_.counts for day, day_totals_ in sorted(totals.items())}


def build_chart(per_day: dict[date, dict[str, int]], *, width: int = 760, height: int = 260) -> Chart:
    """Lay out a stacked bar chart (one bar per day) as coordinates for an inline SVG."""
    days = sorted(per_day)
    # Gridlines every `step` calls, a round number, so every axis label is a whole one.
    tallest = max([sum(c.values()) for c in per_day.values()] + [1])
    step = _nice_ceiling(math.ceil(tallest / 4))
    maximum = step * math.ceil(tallest / step)
    # Room on the left for the longest axis label (about 7 px per digit at 11 px).
    plot_left, plot_top, plot_bottom = 16 + 7 * len(str(maximum)), 12, height - 34
    plot_width = width - 8 - plot_left
    plot_height = plot_bottom - plot_top
    slot = plot_width / max(len(days), 1)
    bars = []
    label_every = max(1, round(len(days) / 10))
    for index, day in enumerate(days):
        counts = per_day[day]
        bar = Bar(
            day=day,
            label=formats.date_format(day, "SHORT_DATE_FORMAT"),
            axis_label=formats.date_format(day, "j M"),
            total=sum(counts.values()),
            x=round(plot_left + index * slot + slot * 0.15, 2),
            width=round(slot * 0.7, 2),
            counts=counts,
            # Every few days, counted back from today so the last bar is always labelled.
            show_label=(len(days) - 1 - index) % label_every == 0,
        )
        bottom = float(plot_bottom)
        for outcome in Outcome.values:
            count = counts.get(outcome, 0)
            if not count:
                continue
            segment_height = count / maximum * plot_height
            bottom -= segment_height
            bar.segments.append(
                Segment(
                    outcome=outcome,
                    label=str(Outcome(outcome).label),
                    count=count,
                    y=round(bottom, 2),
                    height=round(segment_height, 2),
                    colour=OUTCOME_COLOURS[outcome],
                )
            )
        bars.append(bar)
    ticks = [(step * n, round(plot_bottom - plot_height * step * n / maximum, 2)) for n in range(maximum // step + 1)]
    legend = [(o, str(Outcome(o).label), OUTCOME_COLOURS[o]) for o in Outcome.values]
    return Chart(width, height, plot_left, plot_top, plot_bottom, maximum, bars, ticks, legend)


# --- Broadcasts -----------------------------------------------------------------


def progress_percent(done: int, total: int) -> int:
    """Whole percent done, rounded down: 100 only when everything is done."""
    return 100 if not total else done * 100 // total


def latest_broadcasts(limit: int = LATEST_BROADCASTS) -> list[Broadcast]:
    """The newest broadcasts, each with `total`, `done`, `percent` and `outcome_<outcome>` counts.

    Two queries whatever the number of calls: the broadcasts, then their calls
    counted per broadcast and outcome.
    """
    broadcasts = list(
        Broadcast.objects.select_related("created_by")
        .defer("invalid_numbers", "duplicate_numbers")
        .order_by("-created_at", "-pk")[:limit]
    )
    counts: dict[int, dict[str, int]] = {b.pk: dict.fromkeys(Outcome.values, 0) for b in broadcasts}
    rows = (
        Call.objects.filter(broadcast_id__in=list(counts))
        .annotate(outcome=outcome_expression())
        .values("broadcast_id", "outcome")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["broadcast_id"]][row["outcome"]] += row["count"]
    for broadcast in broadcasts:
        by_outcome = counts[broadcast.pk]
        for outcome, count in by_outcome.items():
            setattr(broadcast, f"outcome_{outcome}", count)
        broadcast.total = sum(by_outcome.values())
        broadcast.pending = by_outcome[Outcome.PENDING]
        broadcast.done = broadcast.total - broadcast.pending
        broadcast.percent = progress_percent(broadcast.done, broadcast.total)
        broadcast.status = status(broadcast.state, broadcast.pending, by_outcome[Outcome.NOT_CALLED])
    return broadcasts


def broadcast_counts(broadcast: Broadcast) -> dict:
    """A broadcast's counts per local state and per outcome, in one grouped query."""
    states = dict.fromkeys(CallState.values, 0)
    outcomes = dict.fromkeys(Outcome.values, 0)
    rows = (
        Call.objects.filter(broadcast=broadcast)
        .annotate(outcome=outcome_expression())
        .values("state", "outcome")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + row["count"]
        outcomes[row["outcome"]] += row["count"]
    total = sum(outcomes.values())
    pending = outcomes[Outcome.PENDING]
    return {
        "total": total,
        "pending": pending,
        "not_called": outcomes[Outcome.NOT_CALLED],
        "done": total - pending,
        "percent": progress_percent(total - pending, total),
        "states": [(label, state, states[state]) for state, label in CallState.choices],
        "outcomes": [(label, outcome, outcomes[outcome]) for outcome, label in Outcome.choices],
    }


def last_attempts(queryset):
    """The calls of `queryset` that are a person's last attempt (no later attempt of the same first call)."""
    later = Call.objects.filter(
        first_attempt_id=Coalesce(OuterRef("first_attempt_id"), OuterRef("pk")), attempt__gt=OuterRef("attempt")
    )
    return queryset.filter(~Exists(later))


def attempt_outcomes(broadcast: Broadcast) -> dict:
    """Outcomes per person (their last attempt) and per attempt number: two grouped queries.

    `people`: [(label, outcome, count)]; `attempts`: [(attempt, [count per outcome], total)],
    the outcome columns in `Outcome.choices` order.
    """
    calls = Call.objects.filter(broadcast=broadcast)
    people = dict.fromkeys(Outcome.values, 0)
    rows = last_attempts(calls).annotate(outcome=outcome_expression()).values("outcome").annotate(n=Count("pk"))
    for row in rows.order_by():
        people[row["outcome"]] += row["n"]
    per_attempt: dict[int, dict[str, int]] = {}
    rows = calls.annotate(outcome=outcome_expression()).values("attempt", "outcome").annotate(n=Count("pk"))
    for row in rows.order_by():
        per_attempt.setdefault(row["attempt"], dict.fromkeys(Outcome.values, 0))[row["outcome"]] += row["n"]
    return {
        "people": [(label, outcome, people[outcome]) for outcome, label in Outcome.choices],
        "people_total": sum(people.values()),
        "attempts": [
            (attempt, [counts[outcome] for outcome in Outcome.values], sum(counts.values()))
            for attempt, counts in sorted(per_attempt.items())
        ],
        "outcome_labels": [(outcome, label) for outcome, label in Outcome.choices],
    }


def resend_no_answer_busy(broadcast: Broadcast):
    """The broadcast's calls staff may send again from its page: no answer or busy, a person's
    last attempt, not resent yet (`recording.resend_calls` makes each resend happen once)."""
    calls = Call.objects.filter(
        broadcast=broadcast, state=CallState.FINISHED, status__in=RESENDABLE_STATUSES, resent_at__isnull=True
    )
    return last_attempts(calls)
