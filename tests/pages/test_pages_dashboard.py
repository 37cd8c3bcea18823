"""The dashboard: counts per local day and outcome, answer rate, the chart, latest broadcasts."""

import re
from datetime import timedelta

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from calls.models import Call
from calls.outcomes import Outcome, outcome_expression, outcome_q
from pages import dashboard
from tests.pages_helpers import OUTCOME_CASES, bulk_calls, count_queries, make_broadcast

pytestmark = pytest.mark.django_db


def test_each_state_and_status_has_one_outcome(db):
    bulk_calls(len(OUTCOME_CASES))
    expected = {f"7999{i:07d}": case[3] for i, case in enumerate(OUTCOME_CASES)}
    annotated = dict(Call.objects.annotate(outcome=outcome_expression()).values_list("destination", "outcome"))
    assert annotated == expected
    for outcome in Outcome.values:
        filtered = set(Call.objects.filter(outcome_q(outcome)).values_list("destination", flat=True))
        assert filtered == {number for number, value in expected.items() if value == outcome}, outcome


def test_outcomes_add_up_to_all_calls(db):
    bulk_calls(100)
    counts = Call.objects.aggregate(**{o: Count("pk", filter=outcome_q(o)) for o in Outcome.values})
    assert sum(counts.values()) == 100


def test_today_and_this_week_follow_the_local_time_zone(db, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    with timezone.override("Europe/Moscow"):
        today = timezone.localdate()
        midnight = dashboard.local_midnight(today)
        bulk_calls(1, when=midnight + timedelta(minutes=30), status="completed", state="finished", destination="1")
        # 23:30 Moscow yesterday is 20:30 UTC: not today, whatever UTC says.
        bulk_calls(1, when=midnight - timedelta(minutes=30), status="busy", state="finished", destination="2")
        bulk_calls(1, when=midnight - timedelta(days=40), status="completed", state="finished", destination="3")
        today_stats, week, month = dashboard.period_stats(today)
    assert today_stats.total == 1 and today_stats.counts["completed"] == 1
    assert week.total == (1 if today.weekday() == 0 else 2)
    assert month.total == 2
    assert month.answer_percent == 50  # 1 completed of 2 with a final outcome
    assert month.average_seconds == 30


def test_answer_rate_ignores_calls_without_a_final_outcome(db):
    bulk_calls(1, state="finished", status="completed", destination="1")
    bulk_calls(3, state="queued", status="", call_id=None, destination="9")
    month = dashboard.period_stats()[2]
    assert month.counts["pending"] == 3
    assert month.answer_percent == 100


def test_no_calls_shows_no_rate_instead_of_dividing_by_zero(operator_page_client):
    response = operator_page_client.get(reverse("portal:dashboard"))
    assert response.status_code == 200
    assert response.context["month"].answer_rate is None
    assert "Nothing has been sent yet." in response.content.decode()


def test_chart_has_one_bar_per_day_with_counts_per_outcome(db):
    now = timezone.now()
    bulk_calls(26, when=now, spread_days=13)  # two calls a day on 13 days
    per_day = dashboard.daily_counts()
    assert len(per_day) == dashboard.CHART_DAYS
    assert sum(sum(c.values()) for c in per_day.values()) == 26
    assert per_day[timezone.localdate()] and sum(per_day[timezone.localdate()].values()) == 2
    chart = dashboard.build_chart(per_day)
    assert len(chart.bars) == dashboard.CHART_DAYS and chart.total == 26
    tallest = max(chart.bars, key=lambda bar: bar.total)
    # Stacked segments fill the bar's height exactly, within the plot.
    assert round(sum(s.height for s in tallest.segments), 1) == round(
        tallest.total / chart.maximum * (chart.plot_bottom - chart.plot_top), 1
    )
    assert all(chart.plot_top <= s.y <= chart.plot_bottom for bar in chart.bars for s in bar.segments)


def test_dashboard_page_shows_numbers_chart_and_broadcasts(operator_page_client, operator_user):
    broadcast = make_broadcast(name="Clinic reminder", user=operator_user)
    bulk_calls(len(OUTCOME_CASES), broadcast=broadcast)
    response = operator_page_client.get(reverse("portal:dashboard"))
    page = response.content.decode()
    assert response.context["today"].total == len(OUTCOME_CASES)
    assert 'id="calls-chart"' in page and 'role="img"' in page
    assert "<title>" in page  # each bar says its numbers in words
    assert 'id="calls-chart-data"' in page  # the same numbers as a table, no JavaScript needed
    assert "Clinic reminder" in page
    assert reverse("portal:broadcast", args=[broadcast.pk]) in page
    row = next(b for b in response.context["broadcasts"] if b.pk == broadcast.pk)
    pending = sum(1 for case in OUTCOME_CASES if case[3] == "pending")
    assert row.total == len(OUTCOME_CASES) and row.pending == pending
    assert row.done == len(OUTCOME_CASES) - pending


def test_chart_coordinates_are_not_localised(operator_page_client, settings):
    """In Russian a decimal comma would break the SVG: coordinates stay plain numbers."""
    bulk_calls(7, spread_days=7)
    settings.LANGUAGE_CODE = "ru"
    page = operator_page_client.get(reverse("portal:dashboard"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    start = page.index('<svg id="calls-chart"')
    svg = page[start : page.index("</svg>", start)]
    values = re.findall(r' (?:x|y|width|height)="([^"]*)"', svg)
    assert len(values) > 100
    for value in values:
        float(value)  # raises on "12,5"


def test_dashboard_queries_do_not_grow_with_rows(operator_page_client, django_assert_max_num_queries):
    url = reverse("portal:dashboard")
    broadcast = make_broadcast()
    bulk_calls(10, broadcast=broadcast, spread_days=10)
    _response, small = count_queries(operator_page_client, url)
    for n in range(12):
        bulk_calls(20, broadcast=make_broadcast(name=f"B{n}"), spread_days=30)
    dashboard.cache.clear()  # both visits cold: the same queries, whatever the rows
    _response, large = count_queries(operator_page_client, url)
    assert large == small
    with django_assert_max_num_queries(12):
        operator_page_client.get(url)


def test_chart_days_are_local_days(db):
    with timezone.override("Europe/Moscow"):
        today = timezone.localdate()
        midnight = dashboard.local_midnight(today)
        bulk_calls(1, when=midnight + timedelta(minutes=30), destination="1")
        bulk_calls(2, when=midnight - timedelta(minutes=30), destination="2")  # 23:30 in Moscow
        per_day = dashboard.daily_counts(today=today)
    assert sum(per_day[today].values()) == 1
    assert sum(per_day[today - timedelta(days=1)].values()) == 2


def test_todays_calls_show_at_once_while_settled_days_come_from_the_cache(db, django_assert_num_queries):
    now = timezone.now()
    bulk_calls(2, when=now - timedelta(days=5), status="completed", state="finished", destination="1")
    assert dashboard.period_stats()[2].total == 2  # fills the cache of settled days

    bulk_calls(1, when=now, status="busy", state="finished", destination="2")
    bulk_calls(1, when=now - timedelta(days=5), status="busy", state="finished", destination="3")
    with django_assert_num_queries(0):  # within today's few seconds: nothing is counted
        assert dashboard.period_stats()[0].counts["busy"] == 0
    dashboard.forget_today()  # the few seconds are over
    with django_assert_num_queries(1):
        today_stats, _week, month = dashboard.period_stats()

    assert today_stats.counts["busy"] == 1  # today is counted again after its few seconds
    assert month.total == 3  # the late arrival five days ago waits for the cache to expire
    dashboard.cache.clear()
    assert dashboard.period_stats()[2].total == 4


def test_yesterday_is_reused_for_a_minute_only_and_today_never(db, django_assert_num_queries, settings):
    now = timezone.localtime()
    yesterday = now - timedelta(days=1)
    bulk_calls(1, when=yesterday, status="completed", state="finished", destination="1")
    dashboard.day_totals()  # fills both caches

    bulk_calls(1, when=yesterday, status="busy", state="finished", destination="2")
    bulk_calls(1, when=now, status="busy", state="finished", destination="3")
    dashboard.forget_today()
    with django_assert_num_queries(1):  # today only
        totals = dashboard.day_totals()
    assert sum(totals[now.date()].counts.values()) == 1
    assert sum(totals[yesterday.date()].counts.values()) == 1  # the second one waits for the minute

    dashboard.cache.clear()  # the minute is over
    assert sum(dashboard.day_totals()[yesterday.date()].counts.values()) == 2
    assert dashboard.YESTERDAY_CACHE_SECONDS <= 60
    assert dashboard.TODAY_CACHE_SECONDS <= 10
