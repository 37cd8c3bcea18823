"""Sending again rings with the plan of the broadcast it repeats, from now, and says which broadcast that is.

Through the broadcast page's "Send again the ones who did not answer or were busy" and the
calls admin's action; the plan rules still hold for whoever sends again.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Broadcast, Call, CallState, Purpose
from calls.permissions import SEND_ANY_TIME_PERMISSION
from calls.recording import SendPlan, create_broadcast, new_token, resend_calls
from exolve_portal.roles import MANAGERS
from tests.factories import SENDER_PERMS, make_staff
from tests.factories_calls import SOURCE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("portal_hours", "dummy_tasks")]

PLAN = {
    "calling_hours": "10:00-18:00",
    "time_zone": "Asia/Vladivostok",
    "pace_per_minute": 30,
    "retries": 2,
    "retry_after_minutes": 45,
    "retry_failed": True,
    "purpose": Purpose.REMINDER,
    "basis": "consent",  # copied too: a resend records why these people may be called
}


def unanswered(voice_message, user, numbers=("79991234561", "79991234562"), **plan) -> Broadcast:
    """`user`'s broadcast, planned with `plan`, whose calls all got no answer."""
    broadcast = create_broadcast(
        voice_message, SOURCE, list(numbers), user, new_token(), plan=SendPlan(**plan), name="December reminder"
    )
    broadcast.calls.update(state=CallState.FINISHED, status="no_answer")
    return broadcast


def kept_plan(broadcast) -> dict:
    return {name: getattr(broadcast, name) for name in PLAN}


def the_resend(origin) -> Broadcast:
    return Broadcast.objects.filter(calls__resend_of__broadcast=origin).distinct().get()


def test_the_broadcast_page_sends_again_with_the_original_plan_from_now_and_names_it(
    client, operator_user, voice_message
):
    start = timezone.now() + timedelta(days=3)
    origin = unanswered(voice_message, operator_user, start_at=start, **PLAN)
    client.force_login(operator_user)
    url = reverse("portal:broadcast_resend", args=[origin.pk])

    asked = client.get(url).content.decode()
    plan_block = asked[asked.index(f'id="resend-plan-{origin.pk}"') :]
    assert f"broadcast #{origin.pk} “December reminder”" in plan_block
    assert "10:00-18:00" in plan_block and "Asia/Vladivostok" in plan_block and "30 calls per minute" in plan_block
    assert "up to 2 more times, 45 minutes apart" in plan_block
    assert "resend-hours-narrowed" not in asked and 'id="resend-confirm"' in asked

    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    resend = the_resend(origin)
    assert kept_plan(resend) == PLAN
    assert resend.start_at is None and resend.state == "sending"  # now, not the original start
    assert all(call.not_before < start for call in resend.calls.all())
    page = client.get(reverse("portal:broadcast", args=[resend.pk])).content.decode()
    assert f'id="broadcast-repeats" data-origin="{origin.pk}"' in page
    assert reverse("portal:broadcast", args=[origin.pk]) in page
    first_send = client.get(reverse("portal:broadcast", args=[origin.pk])).content.decode()
    assert 'id="broadcast-repeats"' not in first_send


def test_the_admin_action_sends_each_broadcasts_calls_again_with_that_broadcasts_plan(
    client, operator_user, voice_message
):
    one = unanswered(voice_message, operator_user, ["79991234561"], **PLAN)
    other = unanswered(voice_message, operator_user, ["79991234562"], calling_hours="09:30-20:00")
    client.force_login(operator_user)
    selected = list(Call.objects.values_list("pk", flat=True))
    url = reverse("admin:calls_call_changelist")

    asked = client.post(url, {"action": "resend", "_selected_action": selected}).content.decode()
    assert f'id="resend-plan-{one.pk}"' in asked and f'id="resend-plan-{other.pk}"' in asked
    assert 'data-hours="10:00-18:00"' in asked and 'data-hours="09:30-20:00"' in asked

    client.post(url, {"action": "resend", "_selected_action": selected, "post": "yes"})
    assert kept_plan(the_resend(one)) == PLAN
    assert the_resend(other).calling_hours == "09:30-20:00"
    admin_page = client.get(reverse("admin:calls_broadcast_change", args=[the_resend(one).pk])).content.decode()
    assert reverse("admin:calls_broadcast_change", args=[one.pk]) in admin_page and "broadcast-repeats" in admin_page


def narrower_portal_hours(settings, voice_message, operator_user, manager_user):
    """The operator sent within 08:00-22:00, the portal's hours then; now they are 09:00-21:00."""
    settings.EXOLVE_CALLING_HOURS = "08:00-22:00"
    origin = unanswered(voice_message, operator_user, **{**PLAN, "calling_hours": "08:00-22:00"})
    settings.EXOLVE_CALLING_HOURS = "09:00-21:00"
    return origin, operator_user, "08:00-22:00"


def any_time_of_a_manager(settings, voice_message, operator_user, manager_user):
    """A Manager sent at any time; a colleague who may steer every broadcast, not send at any time, sends again."""
    origin = unanswered(voice_message, manager_user, **{**PLAN, "calling_hours": "any"})
    resender = make_staff("steerer", perms=(*SENDER_PERMS, "calls.steer_broadcast"))
    assert not resender.has_perm(SEND_ANY_TIME_PERMISSION)
    return origin, resender, "at any time"


@pytest.mark.parametrize("story", [narrower_portal_hours, any_time_of_a_manager])
def test_hours_the_resender_may_not_use_become_the_portals_and_the_confirmation_says_so(
    client, settings, voice_message, operator_user, manager_user, story
):
    origin, resender, original = story(settings, voice_message, operator_user, manager_user)
    client.force_login(resender)
    url = reverse("portal:broadcast_resend", args=[origin.pk])

    asked = client.get(url).content.decode()
    note = asked[asked.index("resend-hours-narrowed") :]
    note = note[: note.index("</p>")]
    assert f"Broadcast #{origin.pk} rang" in note and original in note and "09:00-21:00" in note

    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    resend = the_resend(origin)
    assert resend.calling_hours == "09:00-21:00"
    assert kept_plan(resend) == {**PLAN, "calling_hours": "09:00-21:00"}  # the rest as it was


def test_a_plan_no_rule_allows_any_more_is_refused_plainly_and_nothing_is_sent(client, operator_user, voice_message):
    origin = unanswered(voice_message, operator_user, **PLAN)
    Broadcast.objects.filter(pk=origin.pk).update(retry_after_minutes=1)  # below today's bound
    client.force_login(operator_user)
    url = reverse("portal:broadcast_resend", args=[origin.pk])

    asked = client.get(url).content.decode()
    assert "resend-refused" in asked and "Minutes between attempts" in asked
    assert 'id="resend-confirm"' not in asked
    client.post(url, {"confirmed": "yes"})
    assert not Call.objects.filter(resend_of__broadcast=origin).exists()
    assert not origin.calls.filter(resent_at__isnull=False).exists()


def test_the_portal_itself_sends_again_within_its_own_hours(voice_message, settings):
    manager = make_staff("boss", MANAGERS)
    origin = unanswered(voice_message, manager, calling_hours="any")
    resend_calls(list(origin.calls.all()), None)
    assert the_resend(origin).calling_hours == "09:00-21:00"
