"""Faults over real HTTP (the sandbox served on 127.0.0.1): Create, Delete, sync."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.factories import CREATE, DELETE, GET_LIST, VoiceMessageFactory
from voicemessages.exceptions import ProvisioningError, VoiceMessageDeleteError
from voicemessages.models import VoiceMessage
from voicemessages.sync import sync_voice_messages

ADD = "admin:voicemessages_voicemessage_add"

# Fixtures shared by the voice-message tests.


def sync_status():
    try:
        call_command("sync_voicemessages", stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError as error:
        return error.returncode
    return 0


@pytest.mark.parametrize(("kind", "created_at_exolve"), [("timeout", True), ("lost_response", True), ("drop", False)])
def test_create_with_lost_answer_over_http_is_ambiguous_and_synced_later(
    sandbox_http_unthrottled, kind, created_at_exolve
):
    sandbox = sandbox_http_unthrottled.sandbox
    sandbox.add_fault(kind, CREATE, seconds=3)

    with pytest.raises(ProvisioningError) as raised:
        VoiceMessage.objects.create(name="Promo", media_id=1967)

    assert raised.value.ambiguous
    assert sandbox.count(CREATE) == 1
    assert not VoiceMessage.objects.exists()
    assert len(sandbox.voice_messages()) == (1 if created_at_exolve else 0)

    sync_voice_messages()

    assert set(VoiceMessage.objects.values_list("exolve_id", flat=True)) == set(sandbox.voice_messages())


@pytest.mark.parametrize(("key", "status"), [("wrong-key", 401), ("two words", 400)])
def test_refused_key_on_create_is_a_form_level_error(sandbox_http_unthrottled, manager_client, settings, key, status):
    settings.EXOLVE_API_KEY = key

    response = manager_client.post(
        reverse(ADD), {"name": "Promo", "media_id": "1967", "redirect_digit": "0", "redirect_number": ""}
    )

    assert response.status_code == 200
    assert "refused the portal's API key" in " ".join(response.context["adminform"].form.non_field_errors())
    assert [entry["status"] for entry in sandbox_http_unthrottled.sandbox.requests_log(CREATE)] == [status]
    assert not VoiceMessage.objects.exists()


def test_delete_timeout_over_http_is_retried_and_counts_as_deleted(sandbox_http_unthrottled):
    message = VoiceMessageFactory()
    sandbox_http_unthrottled.sandbox.add_fault("timeout", DELETE, seconds=3)

    message.delete()

    assert [entry["status"] for entry in sandbox_http_unthrottled.sandbox.requests_log(DELETE)] == [200, 404]
    assert not VoiceMessage.objects.exists() and sandbox_http_unthrottled.sandbox.voice_messages() == {}


@pytest.mark.parametrize(("key", "words"), [("wrong-key", "API key"), ("two words", "API key")])
def test_delete_with_refused_key_over_http_keeps_the_row(sandbox_http_unthrottled, settings, key, words):
    message = VoiceMessageFactory()
    settings.EXOLVE_API_KEY = key

    with pytest.raises(VoiceMessageDeleteError) as raised:
        message.delete()

    assert words in raised.value.user_message
    assert VoiceMessage.objects.filter(pk=message.pk).exists()
    assert message.exolve_id in sandbox_http_unthrottled.sandbox.voice_messages()


def test_delete_with_dropped_connections_over_http_keeps_the_row(sandbox_http_unthrottled):
    message = VoiceMessageFactory()
    sandbox_http_unthrottled.sandbox.add_fault("drop", DELETE, times=None)

    with pytest.raises(VoiceMessageDeleteError):
        message.delete()

    assert VoiceMessage.objects.filter(pk=message.pk).exists()
    assert message.exolve_id in sandbox_http_unthrottled.sandbox.voice_messages()


def test_sync_with_refused_key_over_http_exits_2(sandbox_http_unthrottled, settings):
    VoiceMessageFactory()
    settings.EXOLVE_API_KEY = "wrong-key"

    assert sync_status() == 2
    assert VoiceMessage.objects.get().missing_since is None


def test_sync_with_exolve_down_exits_2(sandbox_http_unthrottled, settings):
    from exolve_portal import exolve_connection

    VoiceMessageFactory()
    sandbox_http_unthrottled.stop()
    exolve_connection.reset()  # no kept-alive connection to the stopped server

    assert sync_status() == 2
    assert VoiceMessage.objects.get().missing_since is None


def test_sync_over_http_survives_a_slow_getinfo(sandbox_http_unthrottled):
    sandbox_http_unthrottled.sandbox.add_voice_message("One")
    sandbox_http_unthrottled.sandbox.add_fault("timeout", "voice-message/v1/GetInfo", times=1, seconds=3)

    assert sync_status() == 0
    assert VoiceMessage.objects.get().name == "One"


def test_sync_over_http_with_a_dropped_list_exits_2(sandbox_http_unthrottled):
    sandbox_http_unthrottled.sandbox.add_fault("drop", GET_LIST, times=None)

    assert sync_status() == 2
