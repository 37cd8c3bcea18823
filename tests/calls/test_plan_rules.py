"""Rules that cannot be typed around: the send plan's bounds and who may send a broadcast again.

Each bound (calls/plan_rules.py) through the three ways a plan comes in: the send page,
`manage.py send_voicemessage` and the recording itself (`create_broadcast`, which a
crafted path would reach); re-sending through the broadcast page, the admin action and
`resend_calls`.
"""

from datetime import time, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from calls.lifecycle import BroadcastState, Window, typed_window
from calls.models import Broadcast, Call, CallState, SendDraft
from calls.recording import SendPlan, SendRefused, create_broadcast, new_token, resend_calls
from tests.factories_calls import SOURCE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("portal_hours")]

NUMBER = "79991234561"
HOURS = "09:00-21:00"


def send_page(client, user, voice_message, **plan):
    """Preview a send on the send page as `user`; the response."""
    client.force_login(user)
    data = {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "token": new_token(),
        "numbers": NUMBER,
        "basis": "contract",
        **plan,
    }
    return client.post(reverse("portal:send"), data)


def send_command(voice_message, *options):
    call_command(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--to",
        NUMBER,
        *options,
    )


def record(voice_message, user, **plan) -> Broadcast:
    return create_broadcast(voice_message, SOURCE, [NUMBER], user, new_token(), plan=SendPlan(**plan))


def far_start():
    return timezone.now() + timedelta(days=366)


# field (of the form and of SendPlan): (form value, command flag and value, plan value, what the refusal says)
REFUSED = {
    "overnight": ("calling_hours", "21:00-09:00", "--window", "21:00-09:00", "21:00-09:00", "within"),
    "whole day": ("calling_hours", "00:00-23:59", "--window", "00:00-23:59", "00:00-23:59", "within"),
    "any time": ("calling_hours", "any", "--window", "any", "any", "any time"),
    "empty": ("calling_hours", "10:00-10:00", "--window", "10:00-10:00", "10:00-10:00", "empty"),
    "seconds": ("calling_hours", "09:00-21:00:30", "--window", "09:00-21:00:30", "9:00-21:00:30", "seconds"),
    "year 3000": ("start_at", "3000-01-01T10:00", "--at", "3000-01-01 10:00", far_start, "a year ahead"),
    "retry at once": ("retry_after_minutes", "0", "--retry-after", "0", 0, "Minutes between"),
    "too fast": ("pace_per_minute", "100000", "--pace", "100000", 100_000, "Calls per minute"),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_plan_out_of_bounds_is_refused_by_the_form_the_command_and_the_recording(
    client, voice_message, operator_user, dummy_tasks, case
):
    field, form_value, flag, command_value, plan_value, says = case

    page = send_page(client, operator_user, voice_message, **{field: form_value})
    assert says in " ".join(page.context["form"].errors[field])
    with pytest.raises(CommandError, match=f"{flag}: .*{says}"):
        send_command(voice_message, flag, command_value)
    with pytest.raises(SendRefused, match=says):
        record(voice_message, operator_user, **{field: plan_value() if callable(plan_value) else plan_value})

    assert not SendDraft.objects.exists() and not Broadcast.objects.exists()


def test_an_empty_window_is_refused_even_to_whoever_may_send_at_any_time(client, voice_message, manager_user):
    page = send_page(client, manager_user, voice_message, calling_hours="10:00-10:00")
    assert "empty" in " ".join(page.context["form"].errors["calling_hours"])
    with pytest.raises(SendRefused, match="empty"):
        record(voice_message, manager_user, calling_hours="00:00-00:00")


def test_hours_as_people_write_them_are_taken_and_stored_the_one_way(client, voice_message, operator_user, dummy_tasks):
    page = send_page(client, operator_user, voice_message, calling_hours="9:00 - 21:00")
    assert not page.context["form"].errors
    assert SendDraft.objects.get().plan["calling_hours"] == HOURS
    send_command(voice_message, "--window", "10:00\u201320:00")  # the dash a word processor puts
    assert Broadcast.objects.get().calling_hours == "10:00-20:00"
    assert record(voice_message, operator_user, calling_hours="9:30-20:00").calling_hours == "09:30-20:00"


def test_whoever_may_send_at_any_time_may_call_overnight_or_at_any_time(client, voice_message, manager_user):
    page = send_page(client, manager_user, voice_message, calling_hours="21:00-09:00")
    assert not page.context["form"].errors
    assert record(voice_message, manager_user, calling_hours="21:00-09:00").calling_hours == "21:00-09:00"
    assert record(voice_message, manager_user, calling_hours="any").calling_hours == ""  # stored as before
    with translation.override("ru"):
        assert typed_window("Любое").any_time  # the word the Russian form names


def test_the_recording_takes_a_start_a_moment_late_as_now_but_not_an_hour_late(voice_message, operator_user):
    late = record(voice_message, operator_user, start_at=timezone.now() - timedelta(minutes=1))
    assert late.start_at is None and late.state == BroadcastState.SENDING  # not scheduled: now
    with pytest.raises(SendRefused, match="already passed"):
        record(voice_message, operator_user, start_at=timezone.now() - timedelta(hours=1))


def test_a_start_cannot_be_moved_more_than_a_year_ahead(voice_message, operator_user):
    broadcast = record(voice_message, operator_user, start_at=timezone.now() + timedelta(days=1))
    with pytest.raises(CommandError, match="a year ahead"):
        call_command("broadcast", "move", str(broadcast.pk), "--at", "3000-01-01 10:00")
    broadcast.refresh_from_db()
    assert broadcast.start_at < timezone.now() + timedelta(days=2)


@pytest.mark.parametrize(
    ("portal", "asked", "inside"),
    [
        (HOURS, "09:00-21:00", True),
        (HOURS, "10:00-20:00", True),
        (HOURS, "21:00-09:00", False),  # the night, not the day
        (HOURS, "20:00-22:00", False),
        ("20:00-08:00", "22:00-06:00", True),  # both wrap midnight
        ("20:00-08:00", "23:00-01:00", True),
        ("20:00-08:00", "06:00-09:00", False),
        ("20:00-08:00", "22:00-09:00", False),  # its evening is inside, its morning is not
        ("20:00-08:00", "07:00-21:00", False),  # the day around the portal's night
        ("20:00-08:00", "21:00-00:00", True),
        ("any", "21:00-09:00", True),
    ],
)
def test_calling_hours_inside_the_portals_including_windows_that_wrap_midnight(portal, asked, inside):
    outer = Window(time(0), time(0)) if portal == "any" else typed_window(portal)
    assert typed_window(asked).within(outer) is inside


# --- sending a broadcast again: the sender or a Manager --------------------------------------------------


@pytest.fixture
def unanswered(voice_message, operator_user, dummy_tasks):
    """operator_user's broadcast whose one call got no answer."""
    broadcast = record(voice_message, operator_user)
    broadcast.calls.update(state=CallState.FINISHED, status="no_answer")
    return broadcast


def resend_page(client, user, broadcast):
    client.force_login(user)
    return client.post(reverse("portal:broadcast_resend", args=[broadcast.pk]), {"confirmed": "yes"})


def resend_admin(client, user, broadcast):
    client.force_login(user)
    selected = list(broadcast.calls.values_list("pk", flat=True))
    return client.post(
        reverse("admin:calls_call_changelist"), {"action": "resend", "_selected_action": selected, "post": "yes"}
    )


def resent(broadcast) -> bool:
    return Call.objects.filter(resend_of__broadcast=broadcast).exists()


def test_a_colleague_cannot_send_someone_elses_broadcast_again(client, unanswered, colleague):
    assert resend_page(client, colleague, unanswered).status_code == 403
    resend_admin(client, colleague, unanswered)
    with pytest.raises(SendRefused, match="broadcasts you sent"):
        resend_calls(list(unanswered.calls.all()), colleague)
    assert not resent(unanswered)
    page = client.get(reverse("portal:broadcast", args=[unanswered.pk]))
    assert 'id="resend-no-answer-busy"' not in page.content.decode()


@pytest.mark.parametrize("way", [resend_page, resend_admin])
@pytest.mark.parametrize("who", ["operator_user", "manager_user"])
def test_the_sender_and_a_manager_may_send_it_again(client, unanswered, request, who, way):
    assert way(client, request.getfixturevalue(who), unanswered).status_code == 302
    assert resent(unanswered)


def test_manage_check_names_a_default_the_form_would_refuse(settings):
    from django.core.checks import run_checks

    assert not {message.id for message in run_checks()} & {"calls.E001", "calls.E002", "calls.E003"}
    settings.EXOLVE_CALLING_HOURS, settings.EXOLVE_RETRIES, settings.EXOLVE_RETRY_AFTER_MINUTES = "9 to 5", 9, 0
    assert {"calls.E001", "calls.E002", "calls.E003"} <= {message.id for message in run_checks()}
