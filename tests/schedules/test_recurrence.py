"""The recurrence maths: which dates a schedule runs on, and at what moment (no database)."""

from datetime import UTC, date, datetime, time

from schedules.recurrence import Rule


def rule(recurrence, **fields):
    values = {"recurrence": recurrence, "time": time(10, 0), "zone": "Europe/Moscow", "starts_on": date(2025, 1, 1)}
    values.update(fields)
    return Rule(**values)


def test_daily_runs_every_date_between_its_first_and_last_day():
    days = list(rule("daily", starts_on=date(2026, 12, 30), until=date(2027, 1, 2)).dates(date(2026, 12, 1)))
    assert days == [date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)]


def test_working_days_follow_the_production_calendar_with_its_transferred_working_day():
    days = list(rule("workdays").dates(date(2025, 10, 30), date(2025, 11, 6)))
    # Saturday 1 November 2025 was made a working day; Monday 3 November moved off; 4 November a holiday.
    assert days == [date(2025, 10, 30), date(2025, 10, 31), date(2025, 11, 1), date(2025, 11, 5), date(2025, 11, 6)]
    # The New Year holidays have no run at all.
    assert list(rule("workdays").dates(date(2026, 1, 1), date(2026, 1, 11))) == []


def test_weekly_runs_on_the_chosen_days_only():
    days = list(rule("weekly", weekdays=(0, 3)).dates(date(2026, 12, 1), date(2026, 12, 14)))
    assert days == [date(2026, 12, 3), date(2026, 12, 7), date(2026, 12, 10), date(2026, 12, 14)]
    assert [day.weekday() for day in days] == [3, 0, 3, 0]


def test_monthly_on_day_31_runs_on_the_last_day_of_shorter_months():
    days = list(rule("monthly", month_day=31).dates(date(2026, 1, 1), date(2026, 6, 30)))
    assert days == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31),
                    date(2026, 6, 30)]  # fmt: skip
    assert list(rule("monthly", month_day=31).dates(date(2028, 2, 1), date(2028, 2, 29))) == [date(2028, 2, 29)]


def test_a_run_happens_at_its_local_time_and_the_walk_is_bounded():
    moscow = rule("daily")
    assert moscow.moment(date(2026, 12, 7)) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    at = moscow.next_after(datetime(2026, 12, 7, 7, 0, 1, tzinfo=UTC), limit=2)
    assert at == [datetime(2026, 12, 8, 7, 0, tzinfo=UTC), datetime(2026, 12, 9, 7, 0, tzinfo=UTC)]
    # A rule that matches no date (weekly with no day) ends its walk instead of looping.
    assert rule("weekly", weekdays=()).next_after(datetime(2026, 12, 7, tzinfo=UTC)) == []
    # Moments between two instants: the run dates whose moments fall inside.
    assert moscow.between(datetime(2026, 12, 7, 8, tzinfo=UTC), datetime(2026, 12, 9, 7, tzinfo=UTC)) == [
        date(2026, 12, 8),
        date(2026, 12, 9),
    ]
