"""Time zones as staff name them: the city and the offset ("Владивосток (UTC+10)"), not "Asia/Vladivostok".

Pages, forms and lists show `zone_label(name)`; what is stored and checked stays the
IANA name. A zone not named here is shown by its last part with the offset.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

CITIES = {
    "Europe/Kaliningrad": _("Kaliningrad"),
    "Europe/Moscow": _("Moscow"),
    "Europe/Samara": _("Samara"),
    "Europe/Volgograd": _("Volgograd"),
    "Europe/Saratov": _("Saratov"),
    "Europe/Ulyanovsk": _("Ulyanovsk"),
    "Europe/Astrakhan": _("Astrakhan"),
    "Europe/Kirov": _("Kirov"),
    "Asia/Yekaterinburg": _("Yekaterinburg"),
    "Asia/Omsk": _("Omsk"),
    "Asia/Novosibirsk": _("Novosibirsk"),
    "Asia/Barnaul": _("Barnaul"),
    "Asia/Tomsk": _("Tomsk"),
    "Asia/Novokuznetsk": _("Novokuznetsk"),
    "Asia/Krasnoyarsk": _("Krasnoyarsk"),
    "Asia/Irkutsk": _("Irkutsk"),
    "Asia/Chita": _("Chita"),
    "Asia/Yakutsk": _("Yakutsk"),
    "Asia/Khandyga": _("Khandyga"),
    "Asia/Vladivostok": _("Vladivostok"),
    "Asia/Ust-Nera": _("Ust-Nera"),
    "Asia/Magadan": _("Magadan"),
    "Asia/Sakhalin": _("Sakhalin"),
    "Asia/Srednekolymsk": _("Srednekolymsk"),
    "Asia/Kamchatka": _("Kamchatka"),
    "Asia/Anadyr": _("Anadyr"),
    "UTC": _("Coordinated Universal Time"),
}


def utc_offset(name: str, at: datetime | None = None) -> str:
    """ "UTC+10", "UTC+3:30", "UTC" for the zone `name` at `at` (now), "" for an unknown zone."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    minutes = int((at or timezone.now()).astimezone(zone).utcoffset().total_seconds() // 60)
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '−'}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(name: str | None, at: datetime | None = None) -> str:
    """The zone as a person names it: "Владивосток (UTC+10)"; "" for no zone."""
    if not name:
        return ""
    city = CITIES.get(name)
    shown = str(city) if city is not None else name.rsplit("/", 1)[-1].replace("_", " ")
    offset = utc_offset(name, at)
    if not offset or name == "UTC":
        return shown if name != "UTC" else gettext("%(city)s (UTC)") % {"city": shown}
    return gettext("%(city)s (%(offset)s)") % {"city": shown, "offset": offset}
