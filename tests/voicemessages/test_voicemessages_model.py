"""VoiceMessage through the ORM: save/delete keep Exolve (the sandbox) in step."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models.signals import pre_save

from exolve_portal.exolve import errors
from tests.factories import CREATE, DELETE, GET_INFO, VoiceMessageFactory, synced_voice_message
from voicemessages.exceptions import (
    BulkDeleteError,
    ProvisioningError,
    VoiceMessageChangedMeanwhile,
    VoiceMessageDeleteError,
)
from voicemessages.models import OrphanedVoiceMessage, VoiceMessage
from voicemessages.provisioning import delete_at_exolve, provisioning_guard
from voicemessages.sync import sync_voice_messages

UINT63_MAX = 2**63 - 1

# Fixtures shared by the voice-message tests.

# Each test runs in each error-body shape the live API has been seen to use.
pytestmark = pytest.mark.usefixtures("error_shape")


def local_ids():
    return set(VoiceMessage.objects.values_list("exolve_id", flat=True))


@pytest.fixture
def failing_local_write():
    """Every local write of a VoiceMessage fails, as a full disk or a lost connection would."""

    def fail(sender, instance, **kwargs):
        raise DatabaseError("simulated failure of the local write")

    pre_save.connect(fail, sender=VoiceMessage)
    yield
    pre_save.disconnect(fail, sender=VoiceMessage)


# --- Create ----------------------------------------------------------------------


def test_saving_a_new_message_creates_it_at_exolve_first(sandbox_unthrottled):
    message = VoiceMessage.objects.create(name="Promo", media_id=1967, redirect_digit=5, redirect_number="79295800000")

    [request] = sandbox_unthrottled.requests_log(CREATE)
    assert request["body"] == {
        "name": "Promo",
        "media_id": "1967",
        "redirect_info": {"digit": 5, "redirect_number": "79295800000"},
    }
    assert message.exolve_id in sandbox_unthrottled.voice_messages()
    stored = VoiceMessage.objects.get()
    assert stored.exolve_id == message.exolve_id
    assert sandbox_unthrottled.voice_messages()[stored.exolve_id]["name"] == "Promo"


def test_redirect_number_is_normalised_before_it_is_sent(sandbox_unthrottled):
    message = VoiceMessage.objects.create(name="Promo", media_id=1967, redirect_number="+7 (999) 123-45-67")

    assert message.redirect_number == "79991234567"
    assert sandbox_unthrottled.requests_log(CREATE)[0]["body"]["redirect_info"]["redirect_number"] == "79991234567"
    assert VoiceMessage.objects.get().redirect_number == "79991234567"


def test_without_redirect_number_no_redirect_info_is_sent(sandbox_unthrottled):
    VoiceMessage.objects.create(name="Promo", media_id=1979)

    # A RedirectInfo is a digit and a number: none at all is what the documentation allows.
    assert sandbox_unthrottled.requests_log(CREATE)[0]["body"] == {"name": "Promo", "media_id": "1979"}


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"name": ""}, "name", "name"),
        ({"name": "   "}, "name", "name"),
        ({"name": "x" * 256}, "name", "255"),
        ({"media_id": -1}, "media_id", "1 or more"),
        ({"media_id": 0}, "media_id", "1 or more"),
        ({"media_id": "abc"}, "media_id", "whole number"),
        ({"media_id": 2**63}, "media_id", "too large"),
        ({"media_id": 2**64 + 1}, "media_id", "too large"),
        ({"media_id": None}, "media_id", "Enter the media id"),
        ({"redirect_digit": 10}, "redirect_digit", "0 to 9"),
        ({"redirect_digit": -1}, "redirect_digit", "0 to 9"),
        ({"redirect_number": "12345678"}, "redirect_number", "too short"),
        ({"redirect_number": "123456789012345"}, "redirect_number", "too long"),
        ({"redirect_number": "7999abc4567"}, "redirect_number", "only digits"),
        ({"redirect_digit": 4}, "redirect_number", "A redirect digit needs a redirect number"),
    ],
)
def test_bad_input_sends_nothing_to_exolve_and_saves_nothing(sandbox_unthrottled, fields, field, words):
    values = {"name": "Promo", "media_id": 1967, **fields}

    with pytest.raises(ValidationError) as raised:
        VoiceMessage.objects.create(**values)

    assert field in raised.value.message_dict
    assert words in " ".join(raised.value.message_dict[field])
    assert sandbox_unthrottled.count(CREATE) == 0
    assert not VoiceMessage.objects.exists()


def test_largest_media_id_is_accepted_and_sent(sandbox_unthrottled):
    sandbox_unthrottled.set_media_ids([UINT63_MAX])

    message = VoiceMessage.objects.create(name="Big", media_id=UINT63_MAX)

    assert sandbox_unthrottled.requests_log(CREATE)[0]["body"]["media_id"] == str(UINT63_MAX)
    assert VoiceMessage.objects.get(pk=message.pk).media_id == UINT63_MAX


def test_unknown_media_id_is_refused_and_nothing_is_saved(sandbox_unthrottled):
    with pytest.raises(ProvisioningError) as raised:
        VoiceMessage.objects.create(name="Promo", media_id=42)

    assert raised.value.field == "media_id"
    assert not raised.value.ambiguous
    assert isinstance(raised.value.exolve_error, errors.MediaNotFoundError)
    assert "media id" in raised.value.user_message
    assert not VoiceMessage.objects.exists()
    assert sandbox_unthrottled.voice_messages() == {}


@pytest.mark.parametrize(
    ("setup", "error_class"),
    [
        (lambda sandbox: sandbox.set_blocked(True), errors.AccountStatusError),
        (lambda sandbox: sandbox.add_fault("http_error", CREATE, status=500), errors.CustomerStatusError),
        (lambda sandbox: sandbox.add_fault("connect_refused", CREATE, times=None), errors.ExolveConnectionError),
    ],
    ids=["403-account-blocked", "500-customer-status", "connection-refused"],
)
def test_refusals_that_certainly_created_nothing_are_reported_plainly(sandbox_unthrottled, setup, error_class):
    setup(sandbox_unthrottled)

    with pytest.raises(ProvisioningError) as raised:
        VoiceMessage.objects.create(name="Promo", media_id=1967)

    assert isinstance(raised.value.exolve_error, error_class)
    assert raised.value.field is None
    assert not raised.value.ambiguous
    assert "Nothing was saved" in raised.value.user_message
    assert not VoiceMessage.objects.exists()
    assert sandbox_unthrottled.voice_messages() == {}


@pytest.mark.parametrize(
    ("kind", "created_at_exolve"),
    [("timeout", True), ("lost_response", True), ("malformed", True), ("bad_shape", True), ("drop", False)],
)
def test_create_whose_answer_is_lost_is_not_repeated_and_the_next_sync_picks_it_up(
    sandbox_unthrottled, kind, created_at_exolve
):
    sandbox_unthrottled.add_fault(kind, CREATE)

    with pytest.raises(ProvisioningError) as raised:
        VoiceMessage.objects.create(name="Promo", media_id=1967)

    assert raised.value.ambiguous
    assert "cannot tell whether it was created" in raised.value.user_message
    assert sandbox_unthrottled.count(CREATE) == 1  # never repeated
    assert not VoiceMessage.objects.exists()
    assert len(sandbox_unthrottled.voice_messages()) == (1 if created_at_exolve else 0)

    result = sync_voice_messages()

    assert local_ids() == set(sandbox_unthrottled.voice_messages())
    assert len(result.created) == (1 if created_at_exolve else 0)
    assert sandbox_unthrottled.count(CREATE) == 1


def test_proxy_error_on_create_is_ambiguous_and_not_repeated(sandbox_unthrottled):
    sandbox_unthrottled.add_fault("http_error", CREATE, status=502)

    with pytest.raises(ProvisioningError) as raised:
        VoiceMessage.objects.create(name="Promo", media_id=1967)

    assert raised.value.ambiguous
    assert sandbox_unthrottled.count(CREATE) == 1
    assert sandbox_unthrottled.voice_messages() == {} and not VoiceMessage.objects.exists()


def test_refused_connection_is_retried_because_nothing_arrived(sandbox_unthrottled):
    sandbox_unthrottled.add_fault("connect_refused", CREATE, times=1)

    message = VoiceMessage.objects.create(name="Promo", media_id=1967)

    assert sandbox_unthrottled.count(CREATE) == 1  # the refused attempt never arrived
    assert local_ids() == set(sandbox_unthrottled.voice_messages()) == {message.exolve_id}


def test_failed_local_write_after_create_deletes_it_at_exolve(sandbox_unthrottled, failing_local_write):
    with pytest.raises(DatabaseError):
        VoiceMessage.objects.create(name="Promo", media_id=1967)

    [created] = sandbox_unthrottled.requests_log(CREATE)
    [undone] = sandbox_unthrottled.requests_log(DELETE)
    assert created["status"] == 200 and undone["status"] == 200
    assert sandbox_unthrottled.voice_messages() == {}
    assert not VoiceMessage.objects.exists()
    assert not OrphanedVoiceMessage.objects.exists()


def test_failed_local_write_inside_a_transaction_deletes_it_at_exolve(sandbox_unthrottled, failing_local_write):
    with pytest.raises(DatabaseError), transaction.atomic():
        VoiceMessage.objects.create(name="Promo", media_id=1967)

    assert sandbox_unthrottled.count(DELETE) == 1
    assert sandbox_unthrottled.voice_messages() == {}


def test_rollback_after_create_deletes_it_at_exolve(sandbox_unthrottled):
    with pytest.raises(RuntimeError), provisioning_guard(), transaction.atomic():
        VoiceMessage.objects.create(name="Promo", media_id=1967)
        raise RuntimeError("something later in the same transaction failed")

    assert not VoiceMessage.objects.exists()
    assert sandbox_unthrottled.voice_messages() == {}
    assert sandbox_unthrottled.count(DELETE) == 1


def test_commit_inside_guard_keeps_the_message(sandbox_unthrottled):
    with provisioning_guard():
        message = VoiceMessage.objects.create(name="Promo", media_id=1967)

    assert sandbox_unthrottled.count(DELETE) == 0
    assert set(sandbox_unthrottled.voice_messages()) == {message.exolve_id} == local_ids()


def test_when_undoing_a_create_fails_the_leftover_is_recorded(sandbox_unthrottled, failing_local_write):
    sandbox_unthrottled.add_fault("http_error", DELETE, times=None, status=503)

    with pytest.raises(DatabaseError):
        VoiceMessage.objects.create(name="Promo", media_id=1967)

    [leftover] = sandbox_unthrottled.voice_messages()
    orphan = OrphanedVoiceMessage.objects.get()
    assert orphan.exolve_id == leftover
    assert orphan.reason == OrphanedVoiceMessage.NOT_STORED
    assert orphan.name == "Promo"


# --- Change: re-provision ----------------------------------------------------------


def test_changing_a_synced_message_reprovisions_it(sandbox_unthrottled, django_capture_on_commit_callbacks):
    message = synced_voice_message(sandbox_unthrottled, "Old name", media_id=1967)
    old_id = message.exolve_id

    with django_capture_on_commit_callbacks(execute=True):
        message.name = "New name"
        message.media_id = 1979
        message.save()

    assert message.exolve_id != old_id
    remote = sandbox_unthrottled.voice_messages()
    assert set(remote) == {message.exolve_id}
    assert remote[message.exolve_id]["name"] == "New name"
    assert remote[message.exolve_id]["media_id"] == 1979
    assert sandbox_unthrottled.requests_log(DELETE)[0]["body"] == {"id": old_id}
    stored = VoiceMessage.objects.get()
    assert (stored.pk, stored.exolve_id) == (message.pk, message.exolve_id)


def test_saving_a_stale_copy_is_refused_and_its_new_copy_is_deleted_at_exolve(
    sandbox_unthrottled, django_capture_on_commit_callbacks
):
    message = synced_voice_message(sandbox_unthrottled, "Old name")
    stale = VoiceMessage.objects.get(pk=message.pk)
    with django_capture_on_commit_callbacks(execute=True):
        message.name = "First"
        message.save()
        stale.name = "Second"
        with pytest.raises(VoiceMessageChangedMeanwhile) as raised:
            stale.save()

    assert "changed by someone else meanwhile" in raised.value.user_message
    stored = VoiceMessage.objects.get()
    assert (stored.name, stored.exolve_id, stored.version) == ("First", message.exolve_id, message.version)
    assert [m["name"] for m in sandbox_unthrottled.voice_messages().values()] == ["First"]
    assert sandbox_unthrottled.count(CREATE) == 2


def test_each_save_increments_the_version(sandbox_unthrottled):
    message = VoiceMessage.objects.create(name="Promo", media_id=1967)
    assert message.version == 1

    message.save()
    message.save(update_fields=["name"])

    assert VoiceMessage.objects.get().version == message.version == 3


def test_old_copy_is_deleted_only_after_commit(sandbox_unthrottled, django_capture_on_commit_callbacks):
    message = synced_voice_message(sandbox_unthrottled, "Old name")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message.name = "New name"
        message.save()
        assert sandbox_unthrottled.count(DELETE) == 0

    assert len(callbacks) == 1


def test_saving_without_changes_sends_nothing(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled, "Same")
    requests_before = sandbox_unthrottled.count()

    VoiceMessage.objects.get(pk=message.pk).save()

    assert sandbox_unthrottled.count() == requests_before


def test_refused_reprovision_keeps_the_old_message(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled, "Old name")
    old_id = message.exolve_id

    message.name = "New name"
    message.media_id = 42
    with pytest.raises(ProvisioningError) as raised:
        message.save()

    assert raised.value.field == "media_id"
    stored = VoiceMessage.objects.get()
    assert (stored.exolve_id, stored.name, stored.media_id) == (old_id, "Old name", 1967)
    assert set(sandbox_unthrottled.voice_messages()) == {old_id}
    assert sandbox_unthrottled.count(DELETE) == 0


def test_when_deleting_the_replaced_copy_fails_it_is_recorded(sandbox_unthrottled, django_capture_on_commit_callbacks):
    message = synced_voice_message(sandbox_unthrottled, "Old name")
    old_id = message.exolve_id
    sandbox_unthrottled.add_fault("http_error", DELETE, times=None, status=503)

    with django_capture_on_commit_callbacks(execute=True):
        message.name = "New name"
        message.save()

    assert set(sandbox_unthrottled.voice_messages()) == {old_id, message.exolve_id}
    orphan = OrphanedVoiceMessage.objects.get()
    assert (orphan.exolve_id, orphan.reason) == (old_id, OrphanedVoiceMessage.REPLACED)
    assert "503" in orphan.error


def test_rollback_after_reprovision_keeps_the_old_copy_and_deletes_the_new(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled, "Old name")
    old_id = message.exolve_id

    with pytest.raises(RuntimeError), provisioning_guard(), transaction.atomic():
        message.name = "New name"
        message.save()
        raise RuntimeError("later failure")

    assert set(sandbox_unthrottled.voice_messages()) == {old_id}
    assert VoiceMessage.objects.get().exolve_id == old_id


def test_reprovisioning_a_message_missing_at_exolve_brings_it_back(
    sandbox_unthrottled, django_capture_on_commit_callbacks
):
    message = synced_voice_message(sandbox_unthrottled, "Gone")
    exolve_id = message.exolve_id
    delete_at_exolve(message)
    sync_voice_messages()
    message.refresh_from_db()
    assert message.missing_since is not None

    with django_capture_on_commit_callbacks(execute=True):
        message.name = "Back"
        message.save()

    message.refresh_from_db()
    assert message.missing_since is None
    assert set(sandbox_unthrottled.voice_messages()) == {message.exolve_id} != {exolve_id}


# --- Delete ------------------------------------------------------------------------


def test_delete_deletes_at_exolve_then_locally(sandbox_unthrottled):
    message = VoiceMessageFactory()

    message.delete()

    assert sandbox_unthrottled.requests_log(DELETE)[0]["body"] == {"id": message.exolve_id}
    assert sandbox_unthrottled.voice_messages() == {}
    assert not VoiceMessage.objects.exists()


def test_delete_of_a_message_already_gone_at_exolve_deletes_it_locally(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled)
    sandbox_unthrottled.reset()

    message.delete()

    assert sandbox_unthrottled.requests_log(DELETE)[0]["status"] == 404
    assert not VoiceMessage.objects.exists()


@pytest.mark.parametrize(
    ("setup", "still_at_exolve", "words"),
    [
        (lambda sandbox: sandbox.set_blocked(True), True, "not active"),
        (lambda sandbox: sandbox.add_fault("http_error", DELETE, times=None, status=500), True, "status"),
        (lambda sandbox: sandbox.add_fault("http_error", DELETE, times=None, status=502), True, "problem"),
        (lambda sandbox: sandbox.add_fault("drop", DELETE, times=None), True, "broke"),
        (lambda sandbox: sandbox.add_fault("connect_refused", DELETE, times=None), True, "could not reach"),
        (lambda sandbox: sandbox.add_fault("malformed", DELETE, times=None), False, "could not read"),
        (lambda sandbox: sandbox.add_fault("timeout", DELETE, times=None), False, "did not answer"),
    ],
    ids=["403", "500", "502", "drop", "refused", "malformed", "timeout"],
)
def test_failed_delete_keeps_the_row_and_says_why(sandbox_unthrottled, setup, still_at_exolve, words):
    message = VoiceMessageFactory(name="Keep me")
    setup(sandbox_unthrottled)

    with pytest.raises(VoiceMessageDeleteError) as raised:
        message.delete()

    assert words in raised.value.user_message
    assert "“Keep me” was not deleted" in raised.value.user_message
    assert VoiceMessage.objects.filter(pk=message.pk).exists()
    assert (message.exolve_id in sandbox_unthrottled.voice_messages()) == still_at_exolve
    sandbox_unthrottled.clear_faults()
    sandbox_unthrottled.set_blocked(False)
    # The difference is marked by the next sync: a message deleted there shows as missing.
    sync_voice_messages()
    assert VoiceMessage.objects.get(pk=message.pk).is_missing_at_exolve == (not still_at_exolve)


def test_delete_whose_first_answer_is_lost_is_retried_and_counts_as_done(sandbox_unthrottled):
    message = VoiceMessageFactory()
    sandbox_unthrottled.add_fault("timeout", DELETE, times=1)

    message.delete()

    assert [entry["status"] for entry in sandbox_unthrottled.requests_log(DELETE)] == [200, 404]
    assert not VoiceMessage.objects.exists()
    assert sandbox_unthrottled.voice_messages() == {}


# --- Bulk delete -------------------------------------------------------------------


def test_bulk_delete_deletes_each_message_at_exolve(sandbox_unthrottled):
    messages = VoiceMessageFactory.create_batch(3)
    keep = VoiceMessageFactory(name="Keep")

    count, _by_model = VoiceMessage.objects.exclude(pk=keep.pk).delete()

    assert count == 3
    assert {entry["body"]["id"] for entry in sandbox_unthrottled.requests_log(DELETE)} == {
        m.exolve_id for m in messages
    }
    assert set(sandbox_unthrottled.voice_messages()) == {keep.exolve_id} == local_ids()


def test_bulk_delete_goes_on_after_a_failure_and_keeps_the_failed(sandbox_unthrottled, settings):
    settings.EXOLVE_MAX_IN_FLIGHT = 1  # in order, so the fault hits the first message
    first, *others = VoiceMessageFactory.create_batch(3)
    sandbox_unthrottled.add_fault("http_error", DELETE, times=1, status=403)

    with pytest.raises(BulkDeleteError) as raised:
        VoiceMessage.objects.all().delete()

    report = raised.value.report
    assert [m.pk for m, _error in report.failed] == [first.pk]
    assert {m.pk for m in report.deleted} == {m.pk for m in others}
    assert "1 of 3" in raised.value.user_message
    assert local_ids() == set(sandbox_unthrottled.voice_messages()) == {first.exolve_id}


def test_bulk_delete_counts_already_gone_as_deleted(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled)
    sandbox_unthrottled.reset()

    VoiceMessage.objects.all().delete()

    assert not VoiceMessage.objects.exists()
    assert sandbox_unthrottled.requests_log(DELETE)[0]["body"] == {"id": message.exolve_id}


# --- Rows from Exolve ----------------------------------------------------------------


def test_rows_from_exolve_never_call_create(sandbox_unthrottled):
    from exolve_portal.exolve_connection import get_client

    exolve_id = sandbox_unthrottled.add_voice_message(
        "From Exolve", media_id=1979, digit=3, redirect_number="79991234567"
    )
    info = get_client().get_voice_message(exolve_id)

    [message], [outcome] = VoiceMessage.bulk_update_or_create_from_exolve([info], existing={})
    [again], [outcome_again] = VoiceMessage.bulk_update_or_create_from_exolve([info], existing={info.id: message})

    assert (outcome, outcome_again) == ("created", "unchanged")
    assert again.pk == message.pk
    assert sandbox_unthrottled.count(CREATE) == 0
    stored = VoiceMessage.objects.get()
    assert (stored.name, stored.media_id, stored.redirect_digit, stored.redirect_number) == (
        "From Exolve",
        1979,
        3,
        "79991234567",
    )
    assert stored.exolve_created_at is not None
    assert stored.raw["id"] == exolve_id
    assert stored.created_by is None
    assert sandbox_unthrottled.count(GET_INFO) == 1


def test_odd_values_from_exolve_are_kept_in_raw_without_crashing(sandbox_unthrottled):
    from exolve_portal.exolve.client import VoiceMessageInfo

    info = VoiceMessageInfo(
        id="odd",
        name="n" * 300,
        digit=12,
        redirect_number="x" * 40,
        media_id=2**64 - 1,
        created_at=None,
        raw={"id": "odd", "media_id": 2**64 - 1, "digit": 12},
    )

    [message], [outcome] = VoiceMessage.bulk_update_or_create_from_exolve([info], existing={})

    stored = VoiceMessage.objects.get(pk=message.pk)
    assert outcome == "created"
    assert (len(stored.name), stored.media_id, stored.redirect_digit) == (255, None, 0)
    assert stored.raw["media_id"] == 2**64 - 1


def test_str_is_the_name(sandbox_unthrottled):
    assert str(VoiceMessageFactory(name="Hello")) == "Hello"
