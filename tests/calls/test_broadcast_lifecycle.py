"""Broadcasts under control: stop, pause and resume, schedule, calling hours and pace.

Through `calls.steering` (what the pages, the admin and the commands call) and the real
send loop, against the sandbox; the clock is frozen where calling hours matter.
"""

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from calls import steering
from calls.lifecycle import BroadcastState, TransitionRefused, Window, parse_window, zone_of_number
from calls.models import Broadcast, CallState
from calls.recording import SendPlan, create_broadcast
from calls.sending import send_queued_calls
from tests.factories import SENDER_PERMS, make_staff
from tests.factories_calls import MAKE, SOURCE, queue, rung

pytestmark = pytest.mark.django_db

MOSCOW_LANDLINE = "74951234560"
NOVOSIBIRSK_LANDLINE = "73831234560"
VLADIVOSTOK_LANDLINE = "74232123450"
KALININGRAD_LANDLINE = "74012123450"
MOBILE = "79991234560"


class Clock:
    def __init__(self, moment):
        self.moment = moment

    def __call__(self):
        return self.moment


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, frozen at 16:30 in Moscow on a Tuesday (13:30 UTC)."""
    frozen = Clock(datetime(2026, 12, 1, 13, 30, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


# --- calling hours in the callee's local time -------------------------------------------------


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        (MOSCOW_LANDLINE, "Europe/Moscow"),
        (NOVOSIBIRSK_LANDLINE, "Asia/Novosibirsk"),
        (VLADIVOSTOK_LANDLINE, "Asia/Vladivostok"),
        (KALININGRAD_LANDLINE, "Europe/Kaliningrad"),  # phonenumbers says Bucharest, which keeps summer time
        (MOBILE, ""),  # a mobile number gives all eleven zones: not known
    ],
)
def test_the_zone_comes_from_the_number_only_when_the_plan_gives_one(number, zone):
    assert zone_of_number(number) == zone


@pytest.mark.parametrize(
    ("zone", "opens_at_utc"),
    [
        ("Europe/Kaliningrad", datetime(2026, 12, 1, 13, 30, tzinfo=UTC)),  # 15:30 there: now
        ("Europe/Moscow", datetime(2026, 12, 1, 13, 30, tzinfo=UTC)),  # 16:30: now
        ("Asia/Novosibirsk", datetime(2026, 12, 1, 13, 30, tzinfo=UTC)),  # 20:30: now
        ("Asia/Vladivostok", datetime(2026, 12, 1, 23, 0, tzinfo=UTC)),  # 23:30: tomorrow 09:00 there
    ],
)
def test_the_window_opens_in_the_callees_local_time(zone, opens_at_utc):
    now = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
    assert Window(time(9), time(21)).next_opening(now, ZoneInfo(zone)) == opens_at_utc


def test_an_overnight_window_and_any_time():
    overnight = parse_window("22:00-06:00")
    assert overnight.contains(time(23)) and overnight.contains(time(5)) and not overnight.contains(time(12))
    assert parse_window("any").any_time and parse_window("").contains(time(3))
    with pytest.raises(ValueError):
        parse_window("nine to five")


def test_calls_outside_calling_hours_wait_unclaimed_and_go_when_the_window_opens(
    voice_message, dummy_tasks, sandbox, clock
):
    numbers = [MOSCOW_LANDLINE, NOVOSIBIRSK_LANDLINE, VLADIVOSTOK_LANDLINE, KALININGRAD_LANDLINE]
    broadcast = create_broadcast(
        voice_message, SOURCE, numbers, None, "hours", plan=SendPlan(calling_hours="09:00-21:00")
    )

    summary = send_queued_calls(broadcast.pk)

    assert set(rung(sandbox)) == {MOSCOW_LANDLINE, NOVOSIBIRSK_LANDLINE, KALININGRAD_LANDLINE}
    waiting = broadcast.calls.get(destination=VLADIVOSTOK_LANDLINE)
    assert waiting.state == CallState.QUEUED and waiting.time_zone == "Asia/Vladivostok"
    assert summary.retry_at == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # the task comes back then

    clock.moment = datetime(2026, 12, 1, 23, 0, 5, tzinfo=UTC)  # 09:00 in Vladivostok
    send_queued_calls(broadcast.pk)

    assert rung(sandbox) == dict.fromkeys(numbers, 1)


def test_a_call_whose_window_closed_while_it_waited_waits_again(voice_message, dummy_tasks, sandbox, clock):
    broadcast = create_broadcast(
        voice_message, SOURCE, [NOVOSIBIRSK_LANDLINE], None, "closing", plan=SendPlan(calling_hours="09:00-21:00")
    )
    clock.moment = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 21:30 in Novosibirsk: closed meanwhile

    send_queued_calls(broadcast.pk)

    call = broadcast.calls.get()
    assert call.state == CallState.QUEUED and sandbox.count(MAKE) == 0
    assert call.not_before == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 09:00 tomorrow there


def test_an_unknown_zone_uses_the_broadcasts(voice_message, dummy_tasks, sandbox, clock):
    broadcast = create_broadcast(
        voice_message,
        SOURCE,
        [MOBILE],
        None,
        "mobile",
        plan=SendPlan(calling_hours="09:00-21:00", time_zone="Asia/Vladivostok"),
    )
    send_queued_calls(broadcast.pk)
    assert sandbox.count(MAKE) == 0 and broadcast.calls.get().time_zone == ""


# --- stop, pause, resume ---------------------------------------------------------------------------


def test_stop_cancels_every_queued_call_at_once_and_it_never_sends_again(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, [f"799912345{n:02d}" for n in range(10)])

    canceled = steering.stop(broadcast, None)
    send_queued_calls(broadcast.pk)

    assert canceled == 10 and broadcast.state == BroadcastState.STOPPED
    assert set(broadcast.calls.values_list("state", flat=True)) == {CallState.CANCELED}
    assert sandbox.count(MAKE) == 0
    for action in (steering.stop, steering.pause, steering.resume):
        with pytest.raises(TransitionRefused, match="it is stopped"):
            action(broadcast, None)


def test_a_paused_broadcast_is_not_claimed_and_resume_goes_on_where_it_stopped(voice_message, dummy_tasks, sandbox):
    numbers = [f"799912345{n:02d}" for n in range(6)]
    broadcast = queue(voice_message, numbers)

    assert steering.pause(broadcast, None) == 6
    summary = send_queued_calls(broadcast.pk)
    assert summary.halted == BroadcastState.PAUSED and sandbox.count(MAKE) == 0

    assert steering.resume(broadcast, None) == 6
    send_queued_calls(broadcast.pk)
    assert rung(sandbox) == dict.fromkeys(numbers, 1)


def test_a_stop_during_sending_gives_the_reserve_up(voice_message, dummy_tasks, sandbox, monkeypatch):
    from calls import sending

    numbers = [f"799912345{n:02d}" for n in range(40)]
    broadcast = queue(voice_message, numbers)
    sandbox.add_fault("latency", endpoint=MAKE, times=None, seconds=0.05)
    real_record = sending.record_outcomes
    calls_written = []

    def record_and_stop_once(finished, now=None):
        real_record(finished, now)
        calls_written.extend(finished)
        if len(calls_written) >= 8 and broadcast.state != BroadcastState.STOPPED:
            steering.stop(broadcast, None)  # staff press Stop while the worker sends

    monkeypatch.setattr(sending, "record_outcomes", record_and_stop_once)
    summary = send_queued_calls(broadcast.pk, max_in_flight=4)

    states = Counter(broadcast.calls.values_list("state", flat=True))
    assert summary.halted == BroadcastState.STOPPED
    assert set(states) == {CallState.SENT, CallState.CANCELED}
    assert states[CallState.SENT] == sandbox.count(MAKE) < 40  # every call made is recorded; the rest not made


def test_only_the_sender_and_managers_may_steer(voice_message, dummy_tasks):

    sender = make_staff("sender", perms=SENDER_PERMS)
    colleague = make_staff("colleague", perms=SENDER_PERMS)
    manager = make_staff("manager", perms=("calls.steer_broadcast",))
    broadcast = queue(voice_message, [MOBILE], user=sender)

    assert steering.may_steer(sender, broadcast) and steering.may_steer(manager, broadcast)
    assert not steering.may_steer(colleague, broadcast)


# --- schedule ----------------------------------------------------------------------------------------


def test_a_scheduled_broadcast_waits_for_its_start_can_be_moved_then_sends(voice_message, dummy_tasks, sandbox, clock):
    start = clock.moment + timedelta(hours=2)
    broadcast = create_broadcast(voice_message, SOURCE, [MOBILE], None, "later", plan=SendPlan(start_at=start))
    assert broadcast.state == BroadcastState.SCHEDULED

    summary = send_queued_calls(broadcast.pk)
    assert sandbox.count(MAKE) == 0 and summary.retry_at == start

    steering.move(broadcast, start + timedelta(hours=1), None)
    clock.moment = start + timedelta(minutes=1)
    send_queued_calls(broadcast.pk)
    assert sandbox.count(MAKE) == 0  # moved: not yet

    clock.moment = start + timedelta(hours=1, seconds=1)
    send_queued_calls(broadcast.pk)
    assert rung(sandbox) == {MOBILE: 1}
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.SENDING
    with pytest.raises(TransitionRefused, match="not started yet"):
        steering.move(broadcast, clock.moment + timedelta(hours=1), None)


def test_a_scheduled_broadcast_can_be_stopped_before_it_starts(voice_message, dummy_tasks, sandbox, clock):
    start = clock.moment + timedelta(hours=2)
    broadcast = create_broadcast(voice_message, SOURCE, [MOBILE], None, "never", plan=SendPlan(start_at=start))
    steering.stop(broadcast, None)
    clock.moment = start + timedelta(minutes=1)
    send_queued_calls(broadcast.pk)
    assert sandbox.count(MAKE) == 0 and broadcast.calls.get().state == CallState.CANCELED


# --- pace ---------------------------------------------------------------------------------------------


def test_the_pace_holds_calls_per_minute(voice_message, dummy_tasks, sandbox):
    numbers = [f"799912345{n:02d}" for n in range(4)]
    broadcast = create_broadcast(voice_message, SOURCE, numbers, None, "paced", plan=SendPlan(pace_per_minute=120))

    send_queued_calls(broadcast.pk, max_in_flight=4)

    moments = sorted(entry["at"] for entry in sandbox.requests_log(MAKE))
    assert len(moments) == 4
    gaps = [later - earlier for earlier, later in zip(moments, moments[1:], strict=False)]
    assert min(gaps) >= 0.45  # 120 a minute: one every 0.5 s
    assert Broadcast.objects.get(pk=broadcast.pk).pace_next_at is not None
