"""Times and dates as staff read them: zones by city and offset, one date format, a send button
that says when calls start when calling hours hold them back."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import formats, timezone, translation

from calls.plan_form import zone_choices
from calls.recording import new_token
from exolve_portal.roles import OPERATORS
from exolve_portal.zone_names import zone_label
from tests.factories import make_staff
from tests.factories_calls import SOURCE

MOSCOW = ZoneInfo("Europe/Moscow")


def test_zones_are_named_by_city_and_offset_in_russian():
    with translation.override("ru"):
        choices = dict(zone_choices())
        assert choices["Asia/Vladivostok"] == "Владивосток (UTC+10)"
        assert choices["Europe/Moscow"] == "Москва (UTC+3)"
        assert zone_label("Asia/Kathmandu") == "Kathmandu (UTC+5:45)"
        assert zone_label("America/New_York", datetime(2026, 1, 15, tzinfo=MOSCOW)) == "New York (UTC−5)"
        assert zone_label("") == ""


def test_one_format_per_kind_of_date():
    moment = datetime(2026, 12, 4, 9, 5, tzinfo=MOSCOW)
    with translation.override("ru"):
        shown = {formats.date_format(moment, kind) for kind in ("DATETIME_FORMAT", "SHORT_DATETIME_FORMAT")}
        assert shown == {"04.12.2026 09:05"}
        assert formats.date_format(moment, "DATE_FORMAT") == formats.date_format(moment, "SHORT_DATE_FORMAT")
    with translation.override("en"):
        assert formats.date_format(moment, "DATETIME_FORMAT") == "2026-12-04 09:05"


def closed_hours_now() -> tuple[str, str]:
    """Calling hours that are closed in Moscow now, and the local time they open (HH:00)."""
    hour = timezone.now().astimezone(MOSCOW).hour
    opens = hour + 2 if hour < 20 else 2
    return f"{opens:02d}:00-{opens + 1:02d}:00", f"{opens:02d}:00"


def test_the_send_button_says_when_calls_start_if_calling_hours_hold_them(client, voice_message, settings):
    settings.LANGUAGE_CODE = "ru"
    client.force_login(make_staff("оператор", role=OPERATORS))
    hours, opens = closed_hours_now()
    data = {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "token": new_token(),
        "basis": "contract",
        "numbers": "79991234561\n79991234562",
        "calling_hours": hours,
        "time_zone": "Europe/Moscow",
        "_preview": "1",
    }
    page = client.post(reverse("portal:send"), data, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert f"Отправить на 2 номера: звонки начнутся в {opens} по местному времени" in page
    assert "Отправить сейчас" not in page
    assert "Москва (UTC+3)" in page and "Europe/Moscow</" not in page


def test_the_send_button_says_now_when_calls_ring_at_once(client, voice_message, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(make_staff("operator", role=OPERATORS))
    data = {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "token": new_token(),
        "basis": "contract",
        "numbers": "79991234561",
        "_preview": "1",
    }
    page = client.post(reverse("portal:send"), data).content.decode()
    assert "Send now to 1 number" in page and "calls start at" not in page


def test_waiting_until_tomorrow_is_said_by_time(voice_message):
    from calls.planning import ZoneStart, delayed_start

    tomorrow = timezone.now() + timedelta(hours=20)
    row = ZoneStart("Europe/Moscow", 3, tomorrow, False)
    assert delayed_start([row]) == formats.time_format(tomorrow.astimezone(MOSCOW), "TIME_FORMAT")
    assert delayed_start([row, ZoneStart("Asia/Omsk", 1, timezone.now() - timedelta(seconds=1), False)]) == ""
