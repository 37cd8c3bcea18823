"""One format per kind of date in Russian (FORMAT_MODULE_PATH): a page never mixes "4 декабря 2026 г." with "04.12.2026"."""

DATE_FORMAT = "d.m.Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "d.m.Y H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
MONTH_DAY_FORMAT = "j E"
YEAR_MONTH_FORMAT = "F Y"
