"""Staff send only from enabled, labelled caller numbers: page, crafted POST, command, recording, resends."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from audiences.sources import source_choices, source_numbers
from caller_numbers.models import CallerNumber
from caller_numbers.sync import sync_caller_numbers
from calls.models import Broadcast, CallState
from calls.recording import SendRefused, create_broadcast, new_token, resend_calls
from exolve_portal.exolve.sandbox import SANDBOX_SOURCE_NUMBERS
from exolve_portal.roles import MANAGERS
from tests.factories import make_staff
from tests.factories_calls import MAKE
from tests.pages_helpers import send_preview

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dummy_tasks")]

ENABLED, DISABLED = SANDBOX_SOURCE_NUMBERS
MOBILE = "79991234501"
LABEL = "ООО Ромашка, Доставка"


@pytest.fixture
def numbers(sandbox, settings):
    """The sandbox's numbers synced; ENABLED and MOBILE enabled (labelled), DISABLED not; no override.

    Two enabled, so that disabling one leaves the other (with none enabled the sandbox's own are offered).
    """
    settings.EXOLVE_SOURCE_NUMBERS = []
    sync_caller_numbers()
    CallerNumber.objects.filter(number__in=[ENABLED, MOBILE]).update(
        enabled=True, label_name="ООО Ромашка", label_category="Доставка", labelled_since=datetime.date(2025, 9, 1)
    )


def test_the_choices_are_the_enabled_labelled_numbers_or_the_override_or_the_sandbox_s(sandbox, settings):
    settings.EXOLVE_SOURCE_NUMBERS = []
    assert source_numbers() == list(SANDBOX_SOURCE_NUMBERS)  # sandbox, nothing enabled: its numbers
    sync_caller_numbers()
    CallerNumber.objects.filter(number=MOBILE).update(enabled=True, label_name="ООО Ромашка")
    assert source_numbers() == list(SANDBOX_SOURCE_NUMBERS)  # enabled without a full label: not offered
    CallerNumber.objects.filter(number=MOBILE).update(label_category="Доставка", labelled_since="2025-09-01")
    assert source_choices() == [(MOBILE, f"+7 999 123-45-01 — {LABEL}")]
    settings.EXOLVE_SOURCE_NUMBERS = ["74990000000"]
    assert source_numbers() == ["74990000000"]  # the override: exactly those
    settings.EXOLVE_SOURCE_NUMBERS, settings.EXOLVE_SANDBOX = [], False
    CallerNumber.objects.update(enabled=False)
    assert source_numbers() == []


def test_the_send_page_offers_enabled_numbers_with_their_label(numbers, operator_page_client, voice_message):
    page = operator_page_client.get(reverse("portal:send")).content.decode()
    assert f"+7 495 123-45-67 — {LABEL}" in page
    assert f'value="{DISABLED}"' not in page


def test_a_crafted_post_from_a_disabled_number_is_refused_plainly(numbers, operator_page_client, voice_message):
    response = send_preview(operator_page_client, voice_message, "79991234560", source=DISABLED)
    errors = response.context["form"].errors["source"]
    assert "ask a Manager to enable it" in errors[0]
    assert response.context["preview"] is None and not Broadcast.objects.exists()


def test_the_recording_refuses_a_disabled_or_unknown_number(numbers, voice_message):
    with pytest.raises(SendRefused, match="ask a Manager to enable it"):
        create_broadcast(voice_message, DISABLED, ["79991234560"], None, new_token())
    with pytest.raises(SendRefused, match="not one of the team's caller numbers"):
        create_broadcast(voice_message, "74990000000", ["79991234560"], None, new_token())
    assert create_broadcast(voice_message, ENABLED, ["79991234560"], None, new_token()).source == ENABLED


def test_a_resend_from_a_number_disabled_since_is_refused_and_marks_nothing(numbers, voice_message):
    origin = create_broadcast(voice_message, ENABLED, ["79991234566"], None, new_token())
    origin.calls.update(state=CallState.FINISHED, status="no_answer")
    CallerNumber.objects.filter(number=ENABLED).update(enabled=False)

    with pytest.raises(SendRefused, match="ask a Manager to enable it"):
        resend_calls(list(origin.calls.all()), None)
    assert origin.calls.get().resent_at is None and Broadcast.objects.count() == 1


def test_the_command_lists_enabled_numbers_and_refuses_others(numbers, voice_message, capsys):
    with pytest.raises(SystemExit):
        call_command("send_voicemessage", "--help")
    help_text = capsys.readouterr().out
    assert ENABLED in help_text and MOBILE in help_text and DISABLED not in help_text

    with pytest.raises(CommandError, match="ask a Manager to enable it"):
        call_command(
            "send_voicemessage",
            "--message",
            str(voice_message.pk),
            "--source",
            DISABLED,
            "--to",
            "79991234560",
            "--basis",
            "contract",
        )
    assert not Broadcast.objects.exists()
    # An enabled number typed as people write it is the same number.
    call_command(
        "send_voicemessage", "--message", str(voice_message.pk), "--source", "+7 (495) 123-45-67",
        "--to", "79991234560", "--basis", "contract",
    )  # fmt: skip
    assert Broadcast.objects.get().source == ENABLED == "74951234567"


def test_the_broadcast_page_shows_the_number_s_label(numbers, voice_message, client):
    broadcast = create_broadcast(voice_message, ENABLED, ["79991234560"], None, new_token())
    client.force_login(make_staff("boss", MANAGERS))
    page = client.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert f'<span id="broadcast-source-label">{LABEL}</span>' in page


def test_the_admin_s_send_again_from_a_number_disabled_since_says_what_to_do(numbers, voice_message, client):
    sender = make_staff("boss", MANAGERS)
    origin = create_broadcast(voice_message, ENABLED, ["79991234566"], sender, new_token())
    origin.calls.update(state=CallState.FINISHED, status="no_answer")
    CallerNumber.objects.filter(number=ENABLED).update(enabled=False)
    client.force_login(sender)
    url = reverse("admin:calls_call_changelist")
    selected = list(origin.calls.values_list("pk", flat=True))

    page = client.post(url, {"action": "resend", "_selected_action": selected, "post": "yes"}, follow=True)

    assert "ask a Manager to enable it" in page.content.decode()
    assert Broadcast.objects.count() == 1 and origin.calls.get().resent_at is None


def test_a_number_disabled_after_recording_rings_nobody(numbers, voice_message, sandbox):
    from calls.sending import send_queued_calls

    broadcast = create_broadcast(voice_message, ENABLED, ["79991234560", "79991234561"], None, new_token())
    CallerNumber.objects.filter(number=ENABLED).update(enabled=False)  # a Manager switched it off meanwhile
    send_queued_calls(broadcast.pk)
    assert sandbox.count(MAKE) == 0
    assert {(call.state, "disabled after it was recorded" in call.error) for call in broadcast.calls.all()} == {
        (CallState.SKIPPED, True)
    }
