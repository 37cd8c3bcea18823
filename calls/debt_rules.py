"""The debt-reminder preset: the figures of the law, in one place.

Federal law 230-FZ of 3 July 2016, article 7 part 5 (voice and text messages sent on the
creditor's initiative; the wording in force since 1 February 2024): none between 22:00
and 08:00 on working days nor between 20:00 and 09:00 on weekends and public holidays,
in the debtor's local time; at most 2 a day, 4 a week and 16 a month. (Person-to-person
calls, part 3, have 1/2/8: outside this tool.) docs/compliance.md cites it for staff.

A broadcast whose purpose is a debt reminder rings within these windows (narrower if
staff chose so, never wider: plan_rules, and the claim again) and within these counts,
counted over every debt reminder to the number, retries included (calls/limits.py).
"""

from __future__ import annotations

from datetime import time

from .lifecycle import Window

WORKING_DAYS = Window(time(8), time(22))
REST_DAYS = Window(time(9), time(20))  # weekends and public holidays

PER_DAY = 2
PER_WEEK = 4
PER_MONTH = 16
