"""One send plan: the send page, the admin's "Send…" action and `manage.py send_voicemessage` read a
plan through the same form (calls/plan_form.py), store the same broadcast plan for the same input,
and refuse the same bad input with the same words.
"""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from calls.models import Broadcast
from calls.plan_form import PLAN_FIELDS, SendPlan
from tests.factories_calls import SOURCE
from tests.pages_helpers import confirmation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("portal_hours")]

NUMBER = "79991234561"


def tomorrow_at_ten() -> str:
    return f"{timezone.localdate() + timedelta(days=1):%Y-%m-%d} 10:00"


def plan_input() -> tuple[dict, list[str]]:
    """One plan as the form takes it, and as the command's options."""
    form = {
        "start_at": tomorrow_at_ten().replace(" ", "T"),
        "calling_hours": "10:00-20:00",
        "calling_hours_rest": "11:00-18:00",
        "time_zone": "Asia/Novosibirsk",
        "pace_per_minute": "30",
        "retries": "2",
        "retry_after_minutes": "45",
        "retry_failed": "on",
        "purpose": "debt_reminder",
        "basis": "debt",
    }
    options = ["--at", tomorrow_at_ten(), "--window", "10:00-20:00", "--calling-hours-weekend", "11:00-18:00"]
    options += ["--tz", "Asia/Novosibirsk", "--pace", "30"]
    options += ["--retries", "2", "--retry-after", "45", "--retry-failed", "--purpose", "debt_reminder"]
    options += ["--basis", "debt"]
    return form, options


def admin_send_url(client, voice_message) -> str:
    """Where the voice messages' "Send…" action leads (the send page, with the way back)."""
    changelist = reverse("admin:voicemessages_voicemessage_changelist")
    response = client.post(changelist, {"action": "send_voice_message", "_selected_action": [voice_message.pk]})
    assert response.status_code == 302
    return response.url


def send_on_page(client, voice_message, plan: dict, url=None):
    """Preview and confirm; the preview's response and the stored broadcast (None if refused)."""
    token = "admin" if url else "page"
    data = {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "numbers": NUMBER,
        "token": token,
        "basis": "contract",
        **plan,
    }
    response = client.post(url or reverse("portal:send"), {**data, "_preview": "1"})
    if response.context["form"].errors:
        return response, None
    assert client.post(url or reverse("portal:send"), confirmation(response)).status_code == 302
    return response, Broadcast.objects.order_by("-pk").first()


def send_by_command(voice_message, *options):
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
    return Broadcast.objects.order_by("-pk").first()


def stored_plan(broadcast) -> tuple:
    """Every value of the plan, as the broadcast stores it."""
    return tuple(getattr(broadcast, name) for name in PLAN_FIELDS)


def test_the_page_the_admin_and_the_command_store_the_same_plan(operator_page_client, voice_message, dummy_tasks):
    form, options = plan_input()

    _page, by_page = send_on_page(operator_page_client, voice_message, form)
    _admin, by_admin = send_on_page(
        operator_page_client, voice_message, form, url=admin_send_url(operator_page_client, voice_message)
    )
    by_command = send_by_command(voice_message, *options)

    assert len({by_page.pk, by_admin.pk, by_command.pk}) == 3
    assert stored_plan(by_page) == stored_plan(by_admin) == stored_plan(by_command)
    assert stored_plan(by_page)[1:] == (
        "10:00-20:00",
        "11:00-18:00",
        "Asia/Novosibirsk",
        30,
        2,
        45,
        True,
        "debt_reminder",
        "debt",
        "",  # no follow-up SMS with a debt reminder (calls/plan_rules.check_sms)
        "",
        "",
    )
    assert timezone.localtime(by_page.start_at).strftime("%Y-%m-%d %H:%M") == tomorrow_at_ten()


def test_a_plan_left_empty_gets_the_same_defaults_everywhere(
    operator_page_client, voice_message, dummy_tasks, settings
):
    settings.EXOLVE_RETRIES, settings.EXOLVE_RETRY_AFTER_MINUTES = 1, 40
    settings.EXOLVE_CALLING_HOURS_WEEKEND = "10:00-18:00"

    _page, by_page = send_on_page(operator_page_client, voice_message, {})
    by_command = send_by_command(voice_message)

    assert stored_plan(by_page) == stored_plan(by_command)
    assert stored_plan(by_page) == (
        None,
        "09:00-21:00",
        "10:00-18:00",
        settings.TIME_ZONE,
        None,
        1,
        40,
        False,
        "information",
        "contract",
        "",
        "",
        "",
    )


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [
        ("retries", "9", "--retries"),
        ("calling_hours", "21:00-09:00", "--window"),
        ("time_zone", "Mars/Olympus", "--tz"),
        ("purpose", "spam", "--purpose"),
        ("purpose", "advertising", "--purpose"),
        ("basis", "everyone", "--basis"),
        ("basis", "debt", "--basis"),  # a debt basis for information
    ],
)
def test_the_page_the_admin_and_the_command_refuse_bad_input_with_the_same_words(
    operator_page_client, voice_message, field, value, flag
):
    page, _ = send_on_page(operator_page_client, voice_message, {field: value})
    admin_url = admin_send_url(operator_page_client, voice_message)
    admin, _ = send_on_page(operator_page_client, voice_message, {field: value}, url=admin_url)
    with pytest.raises(CommandError) as refused:
        send_by_command(voice_message, flag, value)

    said = " ".join(page.context["form"].errors[field])
    assert said and said == " ".join(admin.context["form"].errors[field])
    assert str(refused.value) == f"{flag}: {said}"
    assert not Broadcast.objects.exists()


def test_a_plan_goes_to_the_draft_and_back_unchanged():
    plan = SendPlan(start_at=timezone.now(), calling_hours="10:00-20:00", pace_per_minute=5, purpose="reminder")

    assert SendPlan.from_json(plan.to_json()) == plan
    assert set(plan.to_json()) == set(PLAN_FIELDS)
    assert SendPlan.from_json(None) == SendPlan()
