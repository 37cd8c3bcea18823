"""The public interface of voicemessages/provisioning.py, against the in-process sandbox.

Each call is checked for what it does at Exolve (counted at the sandbox) and in the
portal's table, including a refusal at Exolve leaving the two in step.
"""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import CREATE, DELETE, synced_voice_message
from voicemessages import provisioning
from voicemessages.exceptions import ProvisioningError, VoiceMessageDeleteError
from voicemessages.models import OrphanedVoiceMessage, VoiceMessage
from voicemessages.provisioning import Created, Deleted


def new_message(name="Promo", **fields):
    return VoiceMessage(name=name, media_id=fields.pop("media_id", 1967), **fields)


# --- create_at_exolve --------------------------------------------------------------


def test_create_at_exolve_creates_once_and_save_stores_that_id(sandbox_unthrottled):
    message = new_message()

    created = provisioning.create_at_exolve(message)

    assert created == Created(exolve_id=message.exolve_id, replaces=None)
    assert set(sandbox_unthrottled.voice_messages()) == {created.exolve_id}
    assert not VoiceMessage.objects.exists()  # nothing written yet
    message.save()
    assert VoiceMessage.objects.get().exolve_id == created.exolve_id
    assert message.last_created == created
    assert sandbox_unthrottled.count(CREATE) == 1  # save did not Create again


def test_create_at_exolve_of_bad_input_sends_nothing(sandbox_unthrottled):
    with pytest.raises(ValidationError):
        provisioning.create_at_exolve(new_message(name="   "))

    assert sandbox_unthrottled.count(CREATE) == 0


def test_create_refused_at_exolve_stores_nothing_anywhere(sandbox_unthrottled):
    sandbox_unthrottled.set_blocked(True)
    message = new_message()

    with pytest.raises(ProvisioningError) as raised:
        provisioning.create_at_exolve(message)

    assert not raised.value.ambiguous
    assert (message.exolve_id, message.exolve_pending) == ("", None)
    assert sandbox_unthrottled.voice_messages() == {} and not VoiceMessage.objects.exists()


def test_create_inside_a_guard_never_saved_is_undone_at_exolve(sandbox_unthrottled):
    with provisioning.provisioning_guard():
        created = provisioning.create_at_exolve(new_message())
        assert created.exolve_id in sandbox_unthrottled.voice_messages()

    assert sandbox_unthrottled.voice_messages() == {}
    assert not OrphanedVoiceMessage.objects.exists()


# --- replace_at_exolve -------------------------------------------------------------


def test_a_changed_message_replaces_its_old_copy_once_committed(
    sandbox_unthrottled, django_capture_on_commit_callbacks
):
    message = synced_voice_message(sandbox_unthrottled, "Old")
    old_id = message.exolve_id
    message.name = "New"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message.save()
        assert message.last_created == Created(exolve_id=message.exolve_id, replaces=old_id)
        assert set(sandbox_unthrottled.voice_messages()) == {
            old_id,
            message.exolve_id,
        }  # the old one waits for the commit
    for callback in callbacks:
        callback()

    assert set(sandbox_unthrottled.voice_messages()) == {message.exolve_id}
    assert VoiceMessage.objects.get().exolve_id == message.exolve_id


def test_old_copy_that_cannot_be_deleted_is_recorded_and_the_new_row_kept(
    sandbox_unthrottled, django_capture_on_commit_callbacks
):
    message = synced_voice_message(sandbox_unthrottled, "Old")
    old_id = message.exolve_id
    message.name = "New"
    sandbox_unthrottled.add_fault("http_error", DELETE, status=403)

    with django_capture_on_commit_callbacks(execute=True):
        message.save()

    assert set(sandbox_unthrottled.voice_messages()) == {old_id, message.exolve_id}
    orphan = OrphanedVoiceMessage.objects.get()
    assert (orphan.exolve_id, orphan.reason) == (old_id, OrphanedVoiceMessage.REPLACED)
    assert VoiceMessage.objects.get().name == "New"


# --- delete_at_exolve and delete_each_at_exolve ------------------------------------------


def test_delete_at_exolve_deletes_there_and_leaves_the_row(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled, "Old")

    assert provisioning.delete_at_exolve(message) == Deleted(already_gone=False)
    assert sandbox_unthrottled.voice_messages() == {}
    assert VoiceMessage.objects.filter(pk=message.pk).exists()
    assert provisioning.delete_at_exolve(message) == Deleted(already_gone=True)


def test_delete_refused_at_exolve_keeps_the_row_and_the_message(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled, "Kept")
    sandbox_unthrottled.add_fault("http_error", DELETE, status=403)

    with pytest.raises(VoiceMessageDeleteError) as raised:
        message.delete()

    assert "“Kept” was not deleted" in raised.value.user_message
    assert set(sandbox_unthrottled.voice_messages()) == {message.exolve_id}
    assert VoiceMessage.objects.filter(pk=message.pk).exists()


def test_delete_each_reports_per_message_and_touches_no_row(sandbox_unthrottled):
    messages = [synced_voice_message(sandbox_unthrottled, name) for name in ("One", "Two", "Three")]
    sandbox_unthrottled.add_fault("http_error", DELETE, status=403)  # the first Delete to arrive, whichever it is
    seen = []

    report = provisioning.delete_each_at_exolve(messages, progress=lambda done, total: seen.append((done, total)))

    assert (len(report.deleted), len(report.failed), report.total) == (2, 1, 3)
    [(failed, error)] = report.failed
    assert isinstance(error, VoiceMessageDeleteError)
    assert set(sandbox_unthrottled.voice_messages()) == {failed.exolve_id}
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert VoiceMessage.objects.count() == 3
