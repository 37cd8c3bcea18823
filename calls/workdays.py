"""Working days and days of rest as the Russian production calendar has them.

From the `holidays` library (country RU): weekends, public holidays, days off moved to
weekdays, and Saturdays made working days by a transfer (2025-11-01). Calling windows
(calls/windows.py) judge each moment by its own local date's type.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=16)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


@lru_cache(maxsize=1024)
def is_working_day(day: date) -> bool:
    """Whether `day` is a working day in Russia (the claim asks once per date, then reads the cache)."""
    return _calendar(day.year).is_working_day(day)
