"""One broadcast vocabulary: the state staff read and the actions it allows, the same on every page.

calls/lifecycle.py `status` decides; the broadcast page, the admin's list and change
page, the admin's actions and `manage.py broadcast show` only show it. Also: the
calls a stop left unmade, broadcast names, and confirmation URLs opened by GET.
"""

import csv
import io
import re
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from calls.lifecycle import DONE, BroadcastState, status
from calls.models import Broadcast, Call, CallState
from calls.outcomes import status_of
from calls.recording import new_token
from tests.factories_calls import SOURCE

pytestmark = pytest.mark.django_db

QUEUED = (CallState.QUEUED, "")
COMPLETED = (CallState.FINISHED, "completed")
NO_ANSWER = (CallState.FINISHED, "no_answer")
CANCELED = (CallState.CANCELED, "")

# stored state, its calls -> the state staff read, the steering buttons it shows.
CASES = [
    (BroadcastState.SCHEDULED, [QUEUED, QUEUED], BroadcastState.SCHEDULED, ["move", "stop"]),
    (BroadcastState.SENDING, [COMPLETED, QUEUED], BroadcastState.SENDING, ["pause", "stop"]),
    (BroadcastState.PAUSED, [COMPLETED, QUEUED], BroadcastState.PAUSED, ["resume", "stop"]),
    (BroadcastState.STOPPED, [COMPLETED, CANCELED, CANCELED, CANCELED], BroadcastState.STOPPED, []),
    (BroadcastState.SENDING, [COMPLETED, NO_ANSWER], DONE, []),
    (BroadcastState.PAUSED, [COMPLETED, COMPLETED], DONE, []),
]
IDS = ["scheduled", "sending", "paused", "stopped", "sending-but-done", "paused-but-done"]


def broadcast_with(state, calls, *, name="", user=None) -> Broadcast:
    broadcast = Broadcast.objects.create(
        name=name,
        voice_message_name="Greeting",
        service_id="svc-1",
        source=SOURCE,
        token=new_token(),
        state=state,
        created_by=user,
        start_at=timezone.now() + timedelta(days=1) if state == BroadcastState.SCHEDULED else None,
    )
    Call.objects.bulk_create(
        Call(
            broadcast=broadcast,
            service_id="svc-1",
            source=SOURCE,
            destination=f"7999123450{index}",
            state=call_state,
            status=exolve_status,
            call_id=uuid.uuid4().hex if call_state == CallState.FINISHED else None,
            sent_at=timezone.now() if call_state == CallState.FINISHED else None,
        )
        for index, (call_state, exolve_status) in enumerate(calls)
    )
    return broadcast


@pytest.fixture
def manager(client, manager_user):
    client.force_login(User.objects.get(pk=manager_user.pk))
    return client


def show(broadcast) -> str:
    out = StringIO()
    call_command("broadcast", "show", str(broadcast.pk), stdout=out)
    return out.getvalue()


# --- the one decision -------------------------------------------------------------


@pytest.mark.parametrize(("stored", "calls", "shown", "buttons"), CASES, ids=IDS)
def test_the_lifecycle_decides_the_state_and_the_actions(stored, calls, shown, buttons):
    broadcast = broadcast_with(stored, calls)
    result = status_of(broadcast)
    assert result.state == shown
    assert list(result.steer_actions) == buttons


def test_a_stop_stays_a_stop_and_nothing_left_is_done():
    assert status(BroadcastState.STOPPED, pending=0).state == BroadcastState.STOPPED
    assert status(BroadcastState.SENDING, pending=0).state == DONE
    assert status(BroadcastState.SENDING, pending=1).state == BroadcastState.SENDING
    assert not status(BroadcastState.SENDING, pending=0).allows("pause")


# --- every place that shows it ----------------------------------------------------------


@pytest.mark.parametrize(("stored", "calls", "shown", "buttons"), CASES, ids=IDS)
def test_the_broadcast_page_shows_the_state_and_only_the_allowed_buttons(manager, stored, calls, shown, buttons):
    broadcast = broadcast_with(stored, calls)
    page = manager.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert f'id="broadcast-state" data-state="{shown}"' in page
    assert f'id="broadcast-state-word" data-state="{shown}"' in page
    assert re.findall(r'id="steer-(pause|resume|move|stop)"', page) == buttons


@pytest.mark.parametrize(("stored", "calls", "shown", "buttons"), CASES, ids=IDS)
def test_the_admin_list_and_change_page_say_the_same(manager, stored, calls, shown, buttons):
    broadcast = broadcast_with(stored, calls)
    listed = manager.get(reverse("admin:calls_broadcast_changelist")).content.decode()
    assert f'<span data-state="{shown}">' in listed
    changed = manager.get(reverse("admin:calls_broadcast_change", args=[broadcast.pk])).content.decode()
    assert f'<span data-state="{shown}">' in changed
    assert re.findall(r'id="steer-link-(pause|resume|move|stop)"', changed) == buttons


def test_the_admin_filter_tells_done_from_sending(manager):
    sending = broadcast_with(BroadcastState.SENDING, [QUEUED])
    done = broadcast_with(BroadcastState.SENDING, [COMPLETED])
    url = reverse("admin:calls_broadcast_changelist")
    shown_done = manager.get(url, {"state": DONE}).context["cl"].result_list
    shown_sending = manager.get(url, {"state": "sending"}).context["cl"].result_list
    assert [b.pk for b in shown_done] == [done.pk]
    assert [b.pk for b in shown_sending] == [sending.pk]


@pytest.mark.parametrize(("stored", "calls", "shown", "buttons"), CASES, ids=IDS)
def test_broadcast_show_prints_the_same_state_and_actions(stored, calls, shown, buttons, english):
    output = show(broadcast_with(stored, calls))
    label = {DONE: "done"}.get(shown) or BroadcastState(shown).label
    assert f": {label}." in output.splitlines()[0]
    assert f"Allowed: {', '.join(buttons) or 'none'}." in output


def test_the_dashboard_says_done_not_sending(manager):
    broadcast = broadcast_with(BroadcastState.SENDING, [COMPLETED])
    page = manager.get(reverse("portal:dashboard")).content.decode()
    row = page[page.index(f'id="broadcast-row-{broadcast.pk}"') :]
    assert 'class="mini broadcast-row-state" data-state="done"' in row.split("</tr>")[0]


# --- what a stop left unmade ---------------------------------------------------------


def test_a_stopped_broadcast_counts_its_calls_not_made_on_its_page_and_in_its_bar(manager):
    broadcast = broadcast_with(BroadcastState.STOPPED, [COMPLETED, CANCELED, CANCELED, CANCELED])
    page = manager.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert "3 calls were not made." in page
    assert 'aria-valuenow="1" aria-valuemax="4"' in page  # the green part: one call with an outcome
    assert 'id="progress-not-made" style="width: 75.0%"' in page  # apart, not green
    assert "Every call has its outcome." not in page


def test_broadcast_show_counts_by_outcome_with_sent_and_canceled(english):
    broadcast = broadcast_with(BroadcastState.STOPPED, [COMPLETED, NO_ANSWER] + [CANCELED] * 3)
    output = show(broadcast)
    assert "Calls: 5; sent to Exolve: 2; not made yet: 0; canceled by the stop: 3." in output
    assert "  not called: 3" in output and "  completed: 1" in output and "  no answer: 1" in output


# --- no Pause on a finished broadcast -------------------------------------------------------


def test_the_admin_action_refuses_to_pause_a_finished_broadcast(manager):
    done = broadcast_with(BroadcastState.SENDING, [COMPLETED, NO_ANSWER])
    url = reverse("admin:calls_broadcast_changelist")
    asked = manager.post(url, {"action": "pause_broadcasts", "_selected_action": [done.pk]}, follow=True)
    assert "None of the selected broadcasts can be paused by you." in asked.content.decode()
    manager.post(url, {"action": "pause_broadcasts", "_selected_action": [done.pk], "post": "yes"})
    done.refresh_from_db()
    assert done.state == BroadcastState.SENDING  # not paused: there was nothing left to pause


def test_pausing_a_finished_broadcast_from_its_page_goes_back_saying_why(manager):
    done = broadcast_with(BroadcastState.SENDING, [COMPLETED])
    url = reverse("portal:broadcast_pause", args=[done.pk])
    response = manager.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:broadcast", args=[done.pk])
    assert "cannot be paused: it is done" in response.content.decode()
    manager.post(url, {"confirmed": "yes"})
    done.refresh_from_db()
    assert done.state == BroadcastState.SENDING


# --- confirmation URLs opened by GET -----------------------------------------------------------


@pytest.mark.parametrize("action", ["stop", "pause", "move"])
def test_a_steering_confirmation_opened_by_get_asks_again_and_does_nothing(manager, action):
    stored = BroadcastState.SCHEDULED if action == "move" else BroadcastState.SENDING
    broadcast = broadcast_with(stored, [QUEUED, QUEUED])
    response = manager.get(reverse(f"portal:broadcast_{action}", args=[broadcast.pk]))
    assert response.status_code == 200
    assert 'id="steer-confirmation"' in response.content.decode()
    broadcast.refresh_from_db()
    assert broadcast.state == stored
    assert broadcast.calls.filter(state=CallState.QUEUED).count() == 2


def test_a_confirmation_of_an_action_no_longer_allowed_goes_back_to_the_broadcast(manager):
    stopped = broadcast_with(BroadcastState.STOPPED, [COMPLETED, CANCELED])
    response = manager.get(reverse("portal:broadcast_resume", args=[stopped.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:broadcast", args=[stopped.pk])
    assert "cannot be resumed: it is stopped" in response.content.decode()


def test_the_send_again_confirmation_opened_by_get_asks_again(manager, manager_user):
    broadcast = broadcast_with(BroadcastState.SENDING, [NO_ANSWER, COMPLETED], user=manager_user)
    response = manager.get(reverse("portal:broadcast_resend", args=[broadcast.pk]))
    assert response.status_code == 200 and 'id="resend-confirmation"' in response.content.decode()
    assert Broadcast.objects.count() == 1  # nothing sent again


def test_the_send_confirmation_url_opened_by_get_shows_the_send_page(manager):
    assert manager.get(reverse("portal:send")).status_code == 200


# --- names -------------------------------------------------------------------------------------


def test_a_name_typed_on_the_send_form_is_kept_and_shown_everywhere(manager, voice_message, dummy_tasks):
    from tests.pages_helpers import confirmation, send_preview

    preview = send_preview(manager, voice_message, "79991234561", name="Flu reminder, December")
    assert "Broadcast name: <strong>Flu reminder, December</strong>." in preview.content.decode()
    manager.post(reverse("portal:send"), confirmation(preview))
    broadcast = Broadcast.objects.get()
    assert broadcast.name == "Flu reminder, December"
    page = manager.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert '<h2 id="broadcast-title">Flu reminder, December</h2>' in page
    assert "Flu reminder, December" in manager.get(reverse("admin:calls_broadcast_changelist")).content.decode()
    assert "Flu reminder, December" in manager.get(reverse("portal:calls")).content.decode()
    exported = manager.get(reverse("portal:calls_export_csv"), {"broadcast": broadcast.pk})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert rows[1][rows[0].index("broadcast name")] == "Flu reminder, December"
    assert "(Flu reminder, December)" in show(broadcast)


def test_the_command_names_a_broadcast(voice_message, dummy_tasks):
    call_command(
        "send_voicemessage", "--basis", "contract",
        "--message", str(voice_message.pk), "--source", SOURCE, "--to", "79991234561",
        "--name", "Night shift", stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    assert Broadcast.objects.get().name == "Night shift"


def test_the_change_page_offers_steering_only_to_who_may_steer(client, operator_user, manager_user):
    theirs = broadcast_with(BroadcastState.SENDING, [QUEUED], user=manager_user)
    client.force_login(User.objects.get(pk=operator_user.pk))
    changed = client.get(reverse("admin:calls_broadcast_change", args=[theirs.pk])).content.decode()
    assert 'id="steer-link-' not in changed
    assert "Only its sender or a manager can stop, pause or resume it." in changed
