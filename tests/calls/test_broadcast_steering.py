"""Steering broadcasts from where staff work: the broadcast page, the admin, the commands, the send form.

Through the real entry points (the test client, call_command); the rules themselves
are tested in test_broadcast_lifecycle.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from calls.lifecycle import BroadcastState
from calls.models import Broadcast, Call, CallState, SendDraft
from calls.recording import SendPlan, create_broadcast, new_token
from tests.factories_calls import SOURCE

pytestmark = pytest.mark.django_db

VLADIVOSTOK_LANDLINE = "74232123450"
MOSCOW_LANDLINE = "74951234560"
NUMBERS = ["79991234561", "79991234562", "79991234563"]


# The sender is tests.pages_helpers' operator_user, the manager_user its manager_user.
def login(client, user):
    client.force_login(User.objects.get(pk=user.pk))
    return client


def record(voice_message, user, numbers=NUMBERS, **plan) -> Broadcast:
    return create_broadcast(voice_message, SOURCE, list(numbers), user, new_token(), plan=SendPlan(**plan))


def steer(client, broadcast, action, **data):
    return client.post(reverse(f"portal:broadcast_{action}", args=[broadcast.pk]), data)


def page(client, broadcast) -> str:
    response = client.get(reverse("portal:broadcast", args=[broadcast.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- the broadcast page ---------------------------------------------------------------------


def test_stop_from_the_page_asks_first_saying_how_many_calls_will_not_be_made(client, voice_message, operator_user):
    broadcast = record(voice_message, operator_user)
    login(client, operator_user)
    assert 'id="steer-stop"' in page(client, broadcast)
    asked = steer(client, broadcast, "stop")
    assert asked.status_code == 200
    assert "3 calls will not be made" in asked.content.decode()
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.SENDING  # nothing happened yet
    done = steer(client, broadcast, "stop", confirmed="yes")
    assert done.status_code == 302
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.STOPPED
    assert set(Call.objects.filter(broadcast=broadcast).values_list("state", flat=True)) == {CallState.CANCELED}
    shown = client.get(done.url, follow=True).content.decode()
    assert "Stopped; 3 calls will not be made." in shown
    assert "stopped: 3 calls were not made" in shown.lower()
    assert 'id="steer-' not in shown.split('id="broadcast-calls"')[0]  # a stopped broadcast has no buttons


def test_pause_and_resume_from_the_page(client, voice_message, operator_user, dummy_tasks):
    broadcast = record(voice_message, operator_user)
    login(client, operator_user)
    assert "3 calls will wait until you resume" in steer(client, broadcast, "pause").content.decode()
    steer(client, broadcast, "pause", confirmed="yes")
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.PAUSED
    text = page(client, broadcast)
    assert "Paused: 3 calls wait." in text
    assert 'id="steer-resume"' in text and 'id="steer-pause"' not in text
    assert "3 calls will be made" in steer(client, broadcast, "resume").content.decode()
    steer(client, broadcast, "resume", confirmed="yes")
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.SENDING
    assert "Sending: 0 of 3." in page(client, broadcast)


def test_a_scheduled_broadcast_is_moved_from_the_page(client, voice_message, operator_user, dummy_tasks):
    start = timezone.now() + timedelta(days=1)
    broadcast = record(voice_message, operator_user, start_at=start)
    login(client, operator_user)
    text = page(client, broadcast)
    assert "Scheduled: starts at" in text
    assert 'id="steer-move"' in text and 'id="steer-pause"' not in text
    form = steer(client, broadcast, "move").content.decode()
    assert 'name="start_at"' in form and "3 calls will wait until the new start" in form
    later = timezone.localtime(start + timedelta(days=1)).replace(second=0, microsecond=0)
    steer(client, broadcast, "move", confirmed="yes", start_at=later.strftime("%Y-%m-%dT%H:%M"))
    broadcast.refresh_from_db()
    assert broadcast.start_at == later
    assert all(call.not_before >= later for call in Call.objects.filter(broadcast=broadcast))


def test_moving_into_the_past_is_refused_plainly(client, voice_message, operator_user):
    broadcast = record(voice_message, operator_user, start_at=timezone.now() + timedelta(hours=2))
    login(client, operator_user)
    past = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = steer(client, broadcast, "move", confirmed="yes", start_at=past)
    assert response.status_code == 302
    assert "The new start must be in the future." in client.get(response.url).content.decode()


def test_a_refused_transition_is_a_message_not_an_error(client, voice_message, operator_user):
    broadcast = record(voice_message, operator_user)
    login(client, operator_user)
    steer(client, broadcast, "stop", confirmed="yes")
    response = steer(client, broadcast, "pause", confirmed="yes")
    assert response.status_code == 302
    assert "This broadcast cannot be paused: it is stopped." in client.get(response.url).content.decode()
    assert steer(client, broadcast, "resume", confirmed="yes").status_code == 302


def test_managers_steer_anyones_broadcast_another_operator_may_not(
    client, voice_message, operator_user, colleague, manager_user
):
    broadcast = record(voice_message, operator_user)
    login(client, colleague)
    assert 'id="steer-' not in page(client, broadcast)
    assert steer(client, broadcast, "pause").status_code == 403
    assert steer(client, broadcast, "stop", confirmed="yes").status_code == 403
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.SENDING
    login(client, manager_user)
    assert 'id="steer-pause"' in page(client, broadcast)
    steer(client, broadcast, "pause", confirmed="yes")
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.PAUSED


def test_opening_a_steering_url_by_get_never_steers(client, voice_message, operator_user):
    broadcast = record(voice_message, operator_user)
    login(client, operator_user)
    for action in ("stop", "pause", "resume", "move"):
        assert client.get(reverse(f"portal:broadcast_{action}", args=[broadcast.pk])).status_code in (200, 302)
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.SENDING


def test_the_page_says_which_zone_waits_for_calling_hours(client, voice_message, operator_user, settings, monkeypatch):
    settings.EXOLVE_CALLING_HOURS = "09:00-21:00"
    # 16:30 in Moscow is 23:30 in Vladivostok.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 12, 1, 13, 30, tzinfo=UTC))
    broadcast = record(voice_message, operator_user, numbers=[VLADIVOSTOK_LANDLINE, MOSCOW_LANDLINE])
    login(client, operator_user)
    text = page(client, broadcast)
    assert "1 call waits for calling hours in Vladivostok (UTC+10) until 09:00 local time." in text
    assert "Moscow (UTC+3) until" not in text


def test_the_page_runs_a_fixed_number_of_queries(client, voice_message, operator_user, django_assert_max_num_queries):
    from tests.pages_helpers import count_queries

    small = record(voice_message, operator_user, numbers=NUMBERS[:1])
    big = record(voice_message, operator_user, numbers=[f"7999{n:07d}" for n in range(60)])
    login(client, operator_user)
    _response, few = count_queries(client, reverse("portal:broadcast", args=[small.pk]))
    _response, many = count_queries(client, reverse("portal:broadcast", args=[big.pk]))
    assert few == many


# --- the admin ------------------------------------------------------------------------------


def admin_action(client, action, broadcasts, **extra):
    data = {"action": action, "_selected_action": [b.pk for b in broadcasts], **extra}
    return client.post(reverse("admin:calls_broadcast_changelist"), data)


def test_admin_actions_stop_pause_and_resume_with_a_confirmation(client, voice_message, manager_user, dummy_tasks):
    broadcast = record(voice_message, manager_user)
    login(client, manager_user)
    asked = admin_action(client, "pause_broadcasts", [broadcast])
    assert asked.status_code == 200 and "3 calls will wait" in asked.content.decode()
    admin_action(client, "pause_broadcasts", [broadcast], post="yes")
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.PAUSED
    admin_action(client, "resume_broadcasts", [broadcast], post="yes")
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.SENDING
    asked = admin_action(client, "stop_broadcasts", [broadcast])
    assert "3 calls will not be made" in asked.content.decode()
    done = admin_action(client, "stop_broadcasts", [broadcast], post="yes")
    assert done.status_code == 302
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.STOPPED
    # Again: refused, said plainly.
    again = client.post(
        reverse("admin:calls_broadcast_changelist"),
        {"action": "stop_broadcasts", "_selected_action": [broadcast.pk], "post": "yes"},
        follow=True,
    )
    assert "cannot be stopped: it is stopped" in again.content.decode()


def test_admin_list_shows_state_and_start(client, voice_message, manager_user):
    record(voice_message, manager_user, start_at=timezone.now() + timedelta(days=1))
    login(client, manager_user)
    text = client.get(reverse("admin:calls_broadcast_changelist")).content.decode()
    assert "column-state_shown" in text and "column-start_at" in text
    assert "scheduled" in text


def test_admin_actions_skip_broadcasts_the_user_may_not_steer(client, voice_message, operator_user, colleague):
    broadcast = record(voice_message, operator_user)
    login(client, colleague)
    response = admin_action(client, "stop_broadcasts", [broadcast], post="yes")
    assert response.status_code in (302, 200)
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.SENDING


# --- the commands ---------------------------------------------------------------------------


def run(*args):
    import io

    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_broadcast_command_pauses_resumes_and_stops(voice_message, dummy_tasks):
    broadcast = record(voice_message, None)
    assert "paused; 3 calls wait" in run("broadcast", "pause", str(broadcast.pk))
    assert "resumed; 3 calls to make" in run("broadcast", "resume", str(broadcast.pk))
    assert "stopped; 3 calls will not be made" in run("broadcast", "stop", str(broadcast.pk))
    broadcast.refresh_from_db()
    assert broadcast.state == BroadcastState.STOPPED


def test_broadcast_command_exit_codes(voice_message):
    broadcast = record(voice_message, None)
    run("broadcast", "stop", str(broadcast.pk))
    with pytest.raises(CommandError) as refused:
        run("broadcast", "resume", str(broadcast.pk))
    assert refused.value.returncode == 1
    assert "cannot be resumed: it is stopped" in str(refused.value)
    with pytest.raises(CommandError) as missing:
        run("broadcast", "stop", "999999")
    assert missing.value.returncode == 2


def test_broadcast_command_moves_a_scheduled_start(voice_message, dummy_tasks, settings):
    broadcast = record(voice_message, None, start_at=timezone.now() + timedelta(hours=1))
    when = (timezone.localtime() + timedelta(days=2)).replace(second=0, microsecond=0)
    assert "now starts at" in run("broadcast", "move", str(broadcast.pk), "--at", when.strftime("%Y-%m-%d %H:%M"))
    broadcast.refresh_from_db()
    assert broadcast.start_at == when
    with pytest.raises(CommandError) as no_time:
        run("broadcast", "move", str(broadcast.pk))
    assert no_time.value.returncode == 1


def test_send_command_schedules_with_at_window_tz_and_pace(voice_message, dummy_tasks):
    when = (timezone.localtime() + timedelta(days=1)).replace(second=0, microsecond=0)
    out = run(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message", str(voice_message.pk),
        "--source", SOURCE,
        "--to", NUMBERS[0],
        "--at", when.strftime("%Y-%m-%d %H:%M"),
        "--window", "10:00-20:00",
        "--tz", "Asia/Novosibirsk",
        "--pace", "30",
    )  # fmt: skip
    assert "Scheduled: starts at" in out
    broadcast = Broadcast.objects.get()
    assert broadcast.state == BroadcastState.SCHEDULED
    assert broadcast.start_at == when
    assert (broadcast.calling_hours, broadcast.time_zone, broadcast.pace_per_minute) == (
        "10:00-20:00",
        "Asia/Novosibirsk",
        30,
    )


def test_send_command_takes_an_offset_and_refuses_the_past(voice_message):
    base = [
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--to",
        NUMBERS[0],
    ]
    with pytest.raises(CommandError, match="already passed"):
        run(*base, "--at", "2020-01-01 10:00")
    with pytest.raises(CommandError, match="--window"):
        run(*base, "--window", "nine to five")
    with pytest.raises(CommandError, match="Unknown time zone"):
        run(*base, "--tz", "Mars/Olympus")
    future = (timezone.now() + timedelta(days=3)).astimezone(UTC).replace(second=0, microsecond=0)
    run(*base, "--at", future.strftime("%Y-%m-%d %H:%M+00:00"))
    assert Broadcast.objects.get().start_at == future
    assert not Broadcast.objects.exclude(start_at=future).exists()


# --- the send form --------------------------------------------------------------------------


def send_data(voice_message, **extra):
    return {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "token": new_token(),
        "basis": "contract",
        "numbers": "\n".join(NUMBERS),
        **extra,
    }


def test_scheduling_through_the_send_page(client, voice_message, operator_user, dummy_tasks):
    login(client, operator_user)
    when = (timezone.localtime() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    data = send_data(
        voice_message,
        start_at=when.strftime("%Y-%m-%dT%H:%M"),
        calling_hours="09:00-21:00",
        time_zone="Europe/Moscow",
        pace_per_minute="20",
    )
    preview = client.post(reverse("portal:send"), data)
    text = preview.content.decode()
    assert 'id="zone-starts"' in text and "Europe/Moscow" in text
    assert "Schedule for 3 numbers" in text
    draft = SendDraft.objects.get()
    assert draft.plan["pace_per_minute"] == 20
    confirmed = client.post(
        reverse("portal:send"),
        {"_confirm": "1", "voice_message": voice_message.pk, "source": SOURCE, "token": draft.token},
    )
    assert confirmed.status_code == 302
    broadcast = Broadcast.objects.get()
    assert broadcast.state == BroadcastState.SCHEDULED
    assert broadcast.start_at == when
    assert (broadcast.calling_hours, broadcast.pace_per_minute) == ("09:00-21:00", 20)


def test_the_preview_counts_numbers_per_zone(client, voice_message, operator_user, settings):
    settings.EXOLVE_CALLING_HOURS = "09:00-21:00"
    login(client, operator_user)
    data = send_data(voice_message, calling_hours="09:00-21:00", time_zone="Europe/Moscow")
    data["numbers"] = "\n".join([VLADIVOSTOK_LANDLINE, MOSCOW_LANDLINE, "79991234561"])
    text = client.post(reverse("portal:send"), data).content.decode()
    assert 'data-zone="Asia/Vladivostok"' in text
    assert 'data-zone="Europe/Moscow"' in text


def test_a_past_start_is_refused_plainly(client, voice_message, operator_user):
    login(client, operator_user)
    past = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("portal:send"), send_data(voice_message, start_at=past))
    assert response.status_code == 200
    assert "This time has already passed" in response.content.decode()
    assert not SendDraft.objects.exists()


def test_any_time_needs_the_permission(client, voice_message, operator_user, manager_user, settings):
    settings.EXOLVE_CALLING_HOURS = "09:00-21:00"
    login(client, operator_user)
    refused = client.post(reverse("portal:send"), send_data(voice_message, calling_hours="any"))
    assert "You may not send at any time" in refused.content.decode()
    assert not SendDraft.objects.exists()
    login(client, manager_user)
    allowed = client.post(reverse("portal:send"), send_data(voice_message, calling_hours="any"))
    assert 'id="send-preview"' in allowed.content.decode()
    assert SendDraft.objects.get().plan["calling_hours"] == "any"


def test_the_form_shows_the_staff_members_time_zone(client, operator_user, voice_message):
    login(client, operator_user)
    text = client.get(reverse("portal:send")).content.decode()
    assert "in your time zone, Moscow (UTC+3)" in text
    assert 'value="09:00-21:00"' in text or 'value="any"' in text


def test_the_dashboard_shows_what_is_scheduled(client, voice_message, manager_user):
    record(voice_message, manager_user, start_at=timezone.now() + timedelta(days=1))
    login(client, manager_user)
    text = client.get(reverse("portal:dashboard")).content.decode()
    assert 'id="scheduled-broadcasts"' in text
