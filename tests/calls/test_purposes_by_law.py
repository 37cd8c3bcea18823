"""Purposes and basis as the law sees them (issue 22, parts 1 and 4; docs/compliance.md).

Advertising is never sent (38-FZ art. 18 part 2): the recording refuses it whoever calls it,
the command refuses it, resends of old advertising broadcasts are refused, and an old
advertising broadcast still queued rings nobody. Every broadcast records its basis.
"""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.urls import reverse

from calls.models import Basis, Broadcast, Call, CallState, Purpose
from calls.recording import SendPlan, SendRefused, create_broadcast, new_token, resend_calls
from calls.sending import send_queued_calls
from tests.factories_calls import ANSWERS, BUSY, NO_ANSWER, SOURCE, queue, rung

pytestmark = pytest.mark.django_db


def record(voice_message, user=None, numbers=(ANSWERS,), **plan) -> Broadcast:
    return create_broadcast(voice_message, SOURCE, list(numbers), user, new_token(), plan=SendPlan(**plan))


def old_advertising(voice_message, numbers) -> Broadcast:
    """A broadcast recorded as advertising before the portal stopped sending it (with the consent tick)."""
    broadcast = queue(voice_message, numbers)
    Broadcast.objects.filter(pk=broadcast.pk).update(purpose=Purpose.ADVERTISING, consent_confirmed=True)
    broadcast.refresh_from_db()
    return broadcast


def test_the_recording_refuses_advertising_whatever_the_consent(voice_message, operator, dummy_tasks):
    with pytest.raises(SendRefused) as refused:
        record(voice_message, operator, purpose=Purpose.ADVERTISING, basis=Basis.CONSENT)
    said = str(refused.value)
    assert "38-FZ" in said and "article 18 part 2" in said and "14.3 part 4.1" in said
    assert "person to person" in said  # what to do instead
    assert not Broadcast.objects.exists()


def test_the_command_refuses_advertising_and_names_the_law(voice_message, dummy_tasks):
    with pytest.raises(CommandError, match=r"--purpose: Advertising cannot be sent.*38-FZ"):
        call_command(
            "send_voicemessage", "--message", str(voice_message.pk), "--source", SOURCE, "--to", ANSWERS,
            "--purpose", "advertising", "--basis", "consent",
        )  # fmt: skip
    assert not Broadcast.objects.exists()


def test_an_old_advertising_broadcast_still_queued_rings_nobody(voice_message, dummy_tasks, sandbox):
    broadcast = old_advertising(voice_message, [ANSWERS, NO_ANSWER])
    information = queue(voice_message, [BUSY])  # a broadcast that may be sent still is

    send_queued_calls(broadcast.pk)
    send_queued_calls(information.pk)

    assert rung(sandbox) == {BUSY: 1}
    calls = list(Call.objects.filter(broadcast=broadcast))
    assert {call.state for call in calls} == {CallState.SKIPPED}
    assert all("38-FZ" in call.error for call in calls)
    broadcast.refresh_from_db()
    assert broadcast.purpose == Purpose.ADVERTISING  # the record stays as it was


def test_an_old_advertising_broadcast_is_not_sent_again(voice_message, operator, dummy_tasks):
    broadcast = old_advertising(voice_message, [NO_ANSWER])
    Broadcast.objects.filter(pk=broadcast.pk).update(created_by=operator)
    broadcast.calls.update(state=CallState.FINISHED, status="no_answer")

    with pytest.raises(SendRefused, match="38-FZ"):
        resend_calls(list(broadcast.calls.select_related("voice_message")), operator)
    assert Broadcast.objects.count() == 1
    assert not broadcast.calls.filter(resent_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("purpose", "basis", "refused"),
    [
        (Purpose.DEBT_REMINDER, Basis.DEBT, ""),
        (Purpose.DEBT_REMINDER, Basis.CONTRACT, "debt reminder is sent because of a debt"),
        (Purpose.DEBT_REMINDER, "", "debt reminder is sent because of a debt"),
        (Purpose.REMINDER, Basis.DEBT, "only for debt reminders"),
        (Purpose.INFORMATION, "everyone", "The basis is one of"),
    ],
)
def test_a_debt_reminder_goes_with_the_debt_basis_and_only_it(voice_message, dummy_tasks, purpose, basis, refused):
    if not refused:
        assert record(voice_message, purpose=purpose, basis=basis).basis == basis
        return
    with pytest.raises(SendRefused, match=refused):
        record(voice_message, purpose=purpose, basis=basis)


@pytest.mark.parametrize(
    ("options", "said"), [([], "Choose why these people may be called"), (["--basis", "x"], "one of")]
)
def test_the_command_requires_a_basis(voice_message, dummy_tasks, options, said):
    with pytest.raises(CommandError) as refused:
        call_command(
            "send_voicemessage", "--message", str(voice_message.pk), "--source", SOURCE, "--to", ANSWERS, *options
        )
    assert str(refused.value).startswith("--basis: ") and said in str(refused.value)
    assert not Broadcast.objects.exists()


def test_the_basis_is_in_the_audit_trail_and_broadcast_show(voice_message, operator, dummy_tasks, capsys):
    broadcast = record(voice_message, operator, purpose=Purpose.DEBT_REMINDER, basis=Basis.DEBT)
    assert "basis: a debt owed" in LogEntry.objects.get(object_id=str(broadcast.pk)).change_message

    call_command("broadcast", "show", str(broadcast.pk))
    assert "Purpose: debt reminder; why these people may be called: a debt owed." in capsys.readouterr().out


def test_the_admin_shows_an_old_advertising_broadcast_as_it_was(admin_client, voice_message, dummy_tasks):
    broadcast = old_advertising(voice_message, [ANSWERS])
    page = admin_client.get(reverse("admin:calls_broadcast_change", args=[broadcast.pk])).content.decode()
    assert "advertising (no longer sent)" in page
    assert "consent confirmed" in page  # the old tick, as history
    assert "not recorded" in page  # no basis was asked then

    new = record(voice_message, purpose=Purpose.REMINDER, basis=Basis.CONTRACT)
    page = admin_client.get(reverse("admin:calls_broadcast_change", args=[new.pk])).content.decode()
    assert "an existing contract or service" in page and "consent confirmed" not in page
    listed = admin_client.get(reverse("admin:calls_broadcast_changelist"), {"basis__exact": "contract"})
    assert list(listed.context["cl"].result_list) == [new]
