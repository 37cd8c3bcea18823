"""Sending to contact lists: who is called and who not (calls/audience_recipients.py), the recording, the command."""

import datetime
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from audiences.consent import withdraw_consent
from audiences.contact_models import Contact
from calls.audience_recipients import list_recipients
from calls.models import Broadcast, CallState
from calls.recording import create_broadcast, new_token
from calls.sending import send_queued_calls
from tests.factories_calls import MAKE, SOURCE, contact

pytestmark = pytest.mark.django_db


def test_each_contact_is_called_once_with_consent_for_the_purpose_and_the_others_are_told_why(club):
    found = list_recipients(club, "information")
    assert list(found.to_call) == ["79990000001", "79990000007"]  # by number, Anna once
    assert found.to_call["79990000001"] == Contact.objects.get(name="Anna").pk
    assert found.left_out == {
        "123": "invalid",
        "79990000002": "no_consent",
        "79990000003": "stop_list",
        "79990000004": "no_consent",  # a consent for reminders only
        "79990000005": "stop_list",
    }
    assert found.counts == Counter(no_consent=2, stop_list=2, invalid=1)
    assert [(item.name, item.why) for item in found.sample][:2] == [("Typo", "invalid"), ("Boris", "no_consent")]
    assert list_recipients(club[:1], "reminder").to_call == {"79990000004": Contact.objects.get(name="Gleb").pk}


def test_withdrawn_without_the_stop_list_and_over_the_limits_are_left_out(club, settings, sandbox):
    consent = Contact.objects.get(name="Egor").consents.get()
    consent.withdrawn_at = datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)  # as an old record may hold
    consent.save()
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY = 1
    broadcast = create_broadcast_to(club, "information")
    broadcast.calls.update(state=CallState.SENT, claimed_at=broadcast.created_at)  # Anna rang today
    found = list_recipients(club, "information")
    assert found.left_out["79990000007"] == "withdrawn" and found.left_out["79990000001"] == "over_limit"
    assert not found.to_call


def create_broadcast_to(lists, purpose, token=None, typed=()):
    found = list_recipients(lists, purpose)
    from calls.plan_form import SendPlan

    return create_broadcast(
        voice_message_for_tests(),
        SOURCE,
        [*typed, *found.to_call],
        None,
        token or new_token(),
        plan=SendPlan(calling_hours="any", purpose=purpose, basis="consent"),
        contacts=found.to_call,
        audiences=found.record(),
    )


def voice_message_for_tests():
    from voicemessages.models import VoiceMessage

    return VoiceMessage.objects.get_or_create(name="Greeting", defaults={"media_id": 1967})[0]


def test_the_recording_fixes_the_people_and_checks_consent_again(club, sandbox):
    found = list_recipients(club, "information")
    withdraw_consent(Contact.objects.get(name="Egor").consents.get(), channel="letter")  # after the preview
    from calls.plan_form import SendPlan

    broadcast = create_broadcast(
        voice_message_for_tests(), SOURCE, [*found.to_call, "79990000099"], None, new_token(),
        plan=SendPlan(calling_hours="any", basis="consent"), contacts=found.to_call, audiences=found.record(),
    )  # fmt: skip
    calls = {call.destination: call for call in broadcast.calls.all()}
    anna = calls["79990000001"]
    assert (anna.contact.name, anna.needs_consent, anna.details) == ("Anna", True, {"name": "Anna", "flat": "12"})
    assert calls["79990000007"].state == CallState.SKIPPED  # withdrawn between the preview and the recording
    assert not calls["79990000099"].needs_consent and calls["79990000099"].contact is None  # typed, not a contact
    assert [item["name"] for item in broadcast.audiences["lists"]] == ["Building", "Club"]

    # The lists change after the recording: the broadcast does not.
    club[1].delete()
    contact("79990000008", "New", [club[0]])
    Contact.objects.filter(name="Anna").delete()  # the call keeps its number, and is not made: no consent any more
    broadcast.refresh_from_db()
    assert set(broadcast.calls.values_list("destination", flat=True)) == {"79990000001", "79990000007", "79990000099"}
    assert broadcast.audiences["lists"][0]["name"] == "Building"
    send_queued_calls(broadcast.pk)
    assert Counter(e["body"]["destination"] for e in sandbox.requests_log(MAKE)) == {"79990000099": 1}
    assert broadcast.calls.get(destination="79990000001").state == CallState.SKIPPED


def test_the_command_sends_to_lists_by_name(club, sandbox, voice_message, capsys):
    call_command(
        "send_voicemessage", "--message", str(voice_message.pk), "--source", SOURCE, "--list", "Club",
        "--list", "Building", "--to", "79990000002", "--to", "79990000050", "--basis", "consent", "--window", "any",
    )  # fmt: skip
    out = capsys.readouterr()
    broadcast = Broadcast.objects.get()
    assert set(broadcast.calls.values_list("destination", flat=True)) == {"79990000001", "79990000007", "79990000050"}
    assert broadcast.calls.get(destination="79990000001").contact.name == "Anna"
    assert "Of the lists, not called: 1 with an invalid number, 2 on the stop list, 2 without consent" in out.err
    assert broadcast.audiences["to_call"] == 2 and broadcast.audiences["left_out_total"] == 5
    with pytest.raises(CommandError, match="No contact list named “Nobody”"):
        call_command("send_voicemessage", "--message", str(voice_message.pk), "--source", SOURCE,
                     "--list", "Nobody", "--basis", "consent")  # fmt: skip


def test_a_follow_up_of_a_list_broadcast_calls_its_contacts_only_with_consent(club, sandbox, voice_message):
    first = create_broadcast_to(club, "information")
    first.calls.update(state=CallState.FINISHED, status="no_answer")
    Contact.objects.get(name="Egor").consents.update(withdrawn_at=first.created_at)  # withdrawn since
    call_command(
        "send_voicemessage", "--message", str(voice_message.pk), "--source", SOURCE, "--from-broadcast",
        str(first.pk), "--outcome", "no_answer", "--basis", "consent", "--window", "any",
    )  # fmt: skip
    follow_up = Broadcast.objects.exclude(pk=first.pk).get()
    calls = {call.destination: call for call in follow_up.calls.all()}
    assert calls["79990000001"].state == CallState.QUEUED and calls["79990000001"].contact.name == "Anna"
    assert calls["79990000007"].state == CallState.SKIPPED  # from the list, its consent withdrawn
