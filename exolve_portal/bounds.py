"""What ids and dates taken from a URL may be, and a 400 page for the ones nothing checked.

The portal's own filters check their values against these bounds (a form error or an
empty list). Django's admin takes some values from the URL unchecked (a lookup on any
field, "?action_time__year=", the pks of a bulk action): an id beyond 64 bits or a date
at the end of the calendar then fails deep inside (OverflowError while binding the
value or converting it to UTC; on PostgreSQL a DataError: out of range, or a NUL
character in text). `OutOfRangeMiddleware` turns those into the plain 400 page, never a 500.
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import DataError
from django.views.defaults import bad_request

logger = logging.getLogger(__name__)

# The largest primary key (BigAutoField, signed 64 bits): a larger id names nothing.
MAX_ID = 2**63 - 1
# Dates a filter accepts: calls exist in neither far end of the calendar, and converting
# 0001-01-01 or 9999-12-31 to UTC (or to the next day) leaves it.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def parse_id(value) -> int | None:
    """`value` as a primary key (1..MAX_ID), or None when it is not one."""
    text = str(value or "")
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


class OutOfRangeMiddleware:
    """A value from the request that no column or calendar can hold: the 400 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OverflowError, DataError)):
            # With its traceback: a value of the portal's own making would be a bug to fix.
            logger.warning("Refused a value that fits no column in %s %s", request.method, request.path, exc_info=True)
            return bad_request(request, exception)
        return None
