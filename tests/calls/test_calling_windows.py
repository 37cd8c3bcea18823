"""Calling windows by day type and the debt-reminder preset, with a frozen clock.

- The production calendar: the transferred working Saturday is a working day, the
  Monday made a day off is not.
- A debt reminder due on Saturday 08:30 local waits until 09:00 (08:30 would be inside
  the working days' window), one due at 20:30 on a public holiday until 08:00 of the
  next working day, for Kaliningrad, Moscow and Vladivostok landlines; also when the
  broadcast's stored windows were widened by hand (the claim keeps to the law).
- The preview names the right local time across a weekend.
- A debt reminder's windows cannot be widened on the page, the command or the recording,
  whoever sends; left empty, or as the form offered them, they are the law's.
- Moving a scheduled debt reminder's start to a Saturday 08:30 makes its calls wait until
  09:00; the broadcast page and the admin show both windows.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import formats, timezone

from calls import steering
from calls.models import Broadcast, CallState, Purpose
from calls.planning import delayed_start, zone_starts
from calls.recording import SendPlan, SendRefused, create_broadcast, new_token
from calls.sending import send_queued_calls
from calls.workdays import is_working_day
from tests.calls.test_broadcast_lifecycle import KALININGRAD_LANDLINE, MOSCOW_LANDLINE, VLADIVOSTOK_LANDLINE, Clock
from tests.factories_calls import MAKE, NO_ANSWER, SOURCE, finish_calls

pytestmark = pytest.mark.django_db

DEBT = SendPlan(basis="debt", purpose=Purpose.DEBT_REMINDER)
LANDLINES = {
    KALININGRAD_LANDLINE: "Europe/Kaliningrad",
    MOSCOW_LANDLINE: "Europe/Moscow",
    VLADIVOSTOK_LANDLINE: "Asia/Vladivostok",
}


def test_the_production_calendar_knows_transferred_days():
    assert is_working_day(date(2025, 11, 1))  # a Saturday made a working day
    assert not is_working_day(date(2025, 11, 3))  # the Monday given off for it
    assert not is_working_day(date(2025, 11, 4))  # National Unity Day
    assert not is_working_day(date(2025, 12, 6)) and is_working_day(date(2025, 12, 5))


def local(zone: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize("widened", [False, True], ids=["as recorded", "widened by hand"])
@pytest.mark.parametrize("number", LANDLINES)
@pytest.mark.parametrize(
    ("due", "opens"),
    [
        ((2025, 12, 6, 8, 30), (2025, 12, 6, 9, 0)),  # Saturday 08:30: the days of rest open at 09:00
        ((2025, 11, 4, 20, 30), (2025, 11, 5, 8, 0)),  # a public holiday 20:30: the next working day 08:00
    ],
    ids=["saturday 08:30", "holiday 20:30"],
)
def test_a_debt_reminder_waits_for_the_laws_window_in_the_callees_local_time(
    voice_message, dummy_tasks, sandbox, monkeypatch, number, due, opens, widened
):
    zone = LANDLINES[number]
    monkeypatch.setattr(timezone, "now", Clock(local(zone, *due)))
    broadcast = create_broadcast(voice_message, SOURCE, [number], None, new_token(), plan=DEBT)
    assert (broadcast.calling_hours, broadcast.calling_hours_rest) == ("08:00-22:00", "09:00-20:00")
    if widened:  # a row changed by hand, or by a bug: the claim still keeps to the law
        Broadcast.objects.filter(pk=broadcast.pk).update(calling_hours="", calling_hours_rest="")
        broadcast.calls.update(not_before=timezone.now())  # due now, as the stored hours would say

    send_queued_calls(broadcast.pk)

    call = broadcast.calls.get()
    assert sandbox.count(MAKE) == 0 and call.state == CallState.QUEUED
    assert call.time_zone == zone and call.not_before == local(zone, *opens)


def test_the_preview_names_the_local_time_across_a_weekend(monkeypatch):
    # Friday 21:30 in Moscow: 04:30 on Saturday in Vladivostok.
    monkeypatch.setattr(timezone, "now", Clock(local("Europe/Moscow", 2025, 12, 5, 21, 30)))
    plan = SendPlan(calling_hours="09:00-21:00", calling_hours_rest="11:00-18:00")

    rows = {row.zone: row for row in zone_starts([MOSCOW_LANDLINE, VLADIVOSTOK_LANDLINE], plan)}

    assert rows["Europe/Moscow"].local_start == local("Europe/Moscow", 2025, 12, 6, 11, 0)  # not 09:00
    assert rows["Asia/Vladivostok"].local_start == local("Asia/Vladivostok", 2025, 12, 6, 11, 0)
    assert delayed_start(list(rows.values())) == formats.time_format(time(11), "TIME_FORMAT")
    # On the Friday before the transferred working Saturday, Saturday opens at 09:00.
    monkeypatch.setattr(timezone, "now", Clock(local("Europe/Moscow", 2025, 10, 31, 21, 30)))
    (row,) = zone_starts([MOSCOW_LANDLINE], plan)
    assert row.local_start == local("Europe/Moscow", 2025, 11, 1, 9, 0)


WIDER = {
    "working days": ("calling_hours", "07:00-22:00", "--window"),
    "days of rest": ("calling_hours_rest", "08:30-20:00", "--calling-hours-weekend"),
    "any time": ("calling_hours_rest", "any", "--calling-hours-weekend"),
}


@pytest.mark.usefixtures("portal_hours")
@pytest.mark.parametrize("case", WIDER.values(), ids=WIDER.keys())
def test_a_debt_reminders_windows_cannot_be_widened_even_by_whoever_may_send_at_any_time(
    client, voice_message, manager_user, dummy_tasks, case
):
    field, hours, flag = case
    client.force_login(manager_user)
    data = {"voice_message": voice_message.pk, "source": SOURCE, "token": new_token(), "numbers": "79991234561"}
    page = client.post(reverse("portal:send"), {**data, "purpose": Purpose.DEBT_REMINDER, field: hours})
    assert "230-FZ" in " ".join(page.context["form"].errors[field])
    with pytest.raises(CommandError, match=f"{flag}: .*230-FZ"):
        call_command(
            "send_voicemessage", "--message", str(voice_message.pk), "--source", SOURCE, "--to", "79991234561",
            "--purpose", Purpose.DEBT_REMINDER, "--basis", "debt", flag, hours,
        )  # fmt: skip
    with pytest.raises(SendRefused, match="230-FZ"):
        create_broadcast(
            voice_message, SOURCE, ["79991234561"], manager_user, new_token(),
            plan=SendPlan(basis="debt", purpose=Purpose.DEBT_REMINDER, **{field: hours}),
        )  # fmt: skip
    assert not Broadcast.objects.exists()
    # Narrower is taken, and what is left empty is the law's.
    narrower = SendPlan(basis="debt", purpose=Purpose.DEBT_REMINDER, calling_hours="10:00-19:00")
    broadcast = create_broadcast(voice_message, SOURCE, ["79991234561"], manager_user, new_token(), plan=narrower)
    assert (broadcast.calling_hours, broadcast.calling_hours_rest) == ("10:00-19:00", "09:00-20:00")


@pytest.mark.usefixtures("portal_hours")
def test_a_debt_reminder_sent_with_the_hours_the_form_offered_gets_the_laws(client, voice_message, operator_user):
    client.force_login(operator_user)
    data = {"voice_message": voice_message.pk, "source": SOURCE, "token": new_token(), "numbers": "79991234561"}
    offered = {"calling_hours": "09:00-21:00", "calling_hours_rest": "09:00-21:00"}  # the portal's, every day
    page = client.post(reverse("portal:send"), {**data, **offered, "purpose": Purpose.DEBT_REMINDER, "basis": "debt"})
    assert not page.context["form"].errors
    plan = page.context["form"].plan
    assert (plan.calling_hours, plan.calling_hours_rest) == ("09:00-21:00", "09:00-20:00")  # narrower kept
    assert "09:00-20:00 on weekends and public holidays" in page.content.decode()


def test_moving_a_debt_reminder_to_a_saturday_morning_waits_for_the_days_of_rest(
    voice_message, operator_user, dummy_tasks, monkeypatch
):
    monkeypatch.setattr(timezone, "now", Clock(local("Europe/Moscow", 2025, 12, 3, 12, 0)))
    plan = SendPlan(basis="debt", purpose=Purpose.DEBT_REMINDER, start_at=local("Europe/Moscow", 2025, 12, 4, 12, 0))
    broadcast = create_broadcast(voice_message, SOURCE, [MOSCOW_LANDLINE], operator_user, new_token(), plan=plan)

    steering.move(broadcast, local("Europe/Moscow", 2025, 12, 6, 8, 30), operator_user)

    assert broadcast.calls.get().not_before == local("Europe/Moscow", 2025, 12, 6, 9, 0)


def test_the_broadcast_page_and_the_admin_show_both_windows(client, voice_message, admin_user):
    plan = SendPlan(calling_hours="09:00-21:00", calling_hours_rest="11:00-17:00")
    broadcast = create_broadcast(voice_message, SOURCE, ["79991234561"], admin_user, new_token(), plan=plan)
    client.force_login(admin_user)
    shown = "09:00-21:00 on working days, 11:00-17:00 on weekends and public holidays"
    for url in (
        reverse("portal:broadcast", args=[broadcast.pk]),
        reverse("admin:calls_broadcast_change", args=[broadcast.pk]),
    ):
        assert shown in client.get(url).content.decode()


def test_a_debt_reminders_retry_waits_for_the_days_of_rest_window(voice_message, dummy_tasks, sandbox, monkeypatch):
    monkeypatch.setattr(timezone, "now", Clock(local("Europe/Moscow", 2025, 12, 5, 21, 30)))  # a Friday
    plan = SendPlan(
        basis="debt", purpose=Purpose.DEBT_REMINDER, retries=1, retry_after_minutes=60, time_zone="Europe/Moscow"
    )
    broadcast = create_broadcast(voice_message, SOURCE, [NO_ANSWER], None, new_token(), plan=plan)
    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)

    # An hour later is Friday 22:30: the working days' window has closed; Saturday's opens at 09:00, not 08:00.
    assert broadcast.calls.get(attempt=2).not_before == local("Europe/Moscow", 2025, 12, 6, 9, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("portal", "weekend", "expected"),
    [
        ("10:00-19:00", "", ("10:00-19:00", "")),  # narrower than the law on both day types: the team's
        ("09:00-21:00", "", ("09:00-21:00", "09:00-20:00")),  # rest days: 21:00 is past the law's 20:00
        ("07:00-21:00", "10:00-18:00", ("08:00-22:00", "10:00-18:00")),  # working days start too early
        ("any", "", ("08:00-22:00", "09:00-20:00")),
    ],
)
def test_a_debt_reminder_keeps_to_the_portals_hours_where_they_are_narrower_than_the_law(
    voice_message, dummy_tasks, sandbox, settings, portal, weekend, expected
):
    settings.EXOLVE_CALLING_HOURS, settings.EXOLVE_CALLING_HOURS_WEEKEND = portal, weekend
    broadcast = create_broadcast(voice_message, SOURCE, [MOSCOW_LANDLINE], None, new_token(), plan=DEBT)
    assert (broadcast.calling_hours, broadcast.calling_hours_rest) == expected
