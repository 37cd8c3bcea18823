"""sync_voicemessages: the sync module and the management command, against the sandbox."""

import io
import time

import pytest
from django.core.management import CommandError, call_command

from calls.models import Call
from exolve_portal.progress import ProgressBar
from tests.factories import CREATE, DELETE, GET_INFO, GET_LIST, VoiceMessageFactory, synced_voice_message
from voicemessages.exceptions import SyncUnavailableError
from voicemessages.models import VoiceMessage
from voicemessages.provisioning import delete_at_exolve
from voicemessages.sync import sync_voice_messages

# Fixtures shared by the voice-message tests.

# Each test runs in each error-body shape the live API has been seen to use.
pytestmark = pytest.mark.usefixtures("error_shape")


def run(*args):
    """Run the command; return (stdout, stderr, exit status)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("sync_voicemessages", *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue() + str(error), error.returncode
    return out.getvalue(), err.getvalue(), 0


def test_sync_creates_updates_and_marks_missing(sandbox_unthrottled):
    new_id = sandbox_unthrottled.add_voice_message(
        "New at Exolve", media_id=1979, digit=4, redirect_number="79991234567"
    )
    changed = synced_voice_message(sandbox_unthrottled, "Changed")
    VoiceMessage.objects.filter(pk=changed.pk).update(name="Stale name")
    same = synced_voice_message(sandbox_unthrottled, "Same")
    gone = synced_voice_message(sandbox_unthrottled, "Gone")
    delete_at_exolve(gone)

    out, _err, status = run()

    assert status == 0
    assert "created 1, updated 1, unchanged 1, missing 1, failed 0" in out
    new = VoiceMessage.objects.get(exolve_id=new_id)
    assert (new.name, new.media_id, new.redirect_digit, new.redirect_number) == (
        "New at Exolve",
        1979,
        4,
        "79991234567",
    )
    assert new.created_by is None and new.synced_at is not None
    assert VoiceMessage.objects.get(pk=changed.pk).name == "Changed"
    assert VoiceMessage.objects.get(pk=same.pk).missing_since is None
    assert VoiceMessage.objects.get(pk=gone.pk).missing_since is not None
    assert sandbox_unthrottled.count(CREATE) == 0
    assert sandbox_unthrottled.count(GET_LIST) == 1


def test_second_sync_changes_nothing(sandbox_unthrottled):
    sandbox_unthrottled.add_voice_message("One")
    sandbox_unthrottled.add_voice_message("Two")
    run()

    out, _err, status = run()

    assert status == 0
    assert "created 0, updated 0, unchanged 2, missing 0, failed 0" in out


def test_message_that_comes_back_is_no_longer_missing(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled, "Flaky")
    VoiceMessage.objects.filter(pk=message.pk).update(missing_since="2024-01-01T00:00:00Z")

    result = sync_voice_messages()

    assert result.updated == [message.exolve_id]
    assert VoiceMessage.objects.get().missing_since is None


def test_dry_run_writes_nothing(sandbox_unthrottled):
    sandbox_unthrottled.add_voice_message("New")
    gone = synced_voice_message(sandbox_unthrottled, "Gone")
    delete_at_exolve(gone)

    out, _err, status = run("--dry-run", "--prune")

    assert status == 0
    assert "dry run" in out and "created 1" in out and "missing 1" in out
    assert list(VoiceMessage.objects.values_list("name", "missing_since")) == [("Gone", None)]


def test_prune_deletes_missing_messages_here_without_asking_exolve_to_delete(sandbox_unthrottled):
    gone = synced_voice_message(sandbox_unthrottled, "Gone")
    kept = synced_voice_message(sandbox_unthrottled, "Kept")
    delete_at_exolve(gone)
    deletes_before = sandbox_unthrottled.count(DELETE)

    out, _err, status = run("--prune")

    assert status == 0
    assert list(VoiceMessage.objects.values_list("pk", flat=True)) == [kept.pk]
    assert sandbox_unthrottled.count(DELETE) == deletes_before
    assert f"deleted here (gone at Exolve): {gone.exolve_id}" in out
    assert "pruned 1, kept 0" in out


def test_prune_keeps_messages_that_have_calls_and_says_so(sandbox_unthrottled):
    gone = synced_voice_message(sandbox_unthrottled, "Sent before")
    Call.objects.create(voice_message=gone, service_id=gone.exolve_id, source="74951234567", destination="79991234567")
    delete_at_exolve(gone)

    out, _err, status = run("--prune")

    assert status == 0
    assert VoiceMessage.objects.get(pk=gone.pk).missing_since is not None
    assert "kept although gone at Exolve, because it has 1 calls: Sent before" in out
    assert "pruned 0, kept 1" in out


def test_without_prune_missing_messages_stay(sandbox_unthrottled):
    gone = synced_voice_message(sandbox_unthrottled)
    delete_at_exolve(gone)

    run()

    assert VoiceMessage.objects.filter(pk=gone.pk).exists()


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "connect_refused", "times": None},
        {"kind": "http_error", "times": None, "status": 500},
        {"kind": "http_error", "times": None, "status": 502},
        {"kind": "timeout", "times": None},
        {"kind": "drop", "times": None},
        {"kind": "malformed", "times": None},
        {"kind": "bad_shape", "times": None},
    ],
    ids=["refused", "500", "502", "timeout", "drop", "malformed", "bad_shape"],
)
def test_unreachable_exolve_exits_2_and_changes_nothing(sandbox_unthrottled, fault):
    message = VoiceMessageFactory()
    sandbox_unthrottled.add_fault(endpoint=GET_LIST, **fault)

    _out, err, status = run()

    assert status == 2
    assert "Could not get the list of voice messages from Exolve" in err
    assert VoiceMessage.objects.get().missing_since is None
    assert VoiceMessage.objects.get().exolve_id == message.exolve_id


def test_a_short_list_does_not_mark_messages_missing(sandbox_unthrottled, monkeypatch):
    from exolve_portal.exolve.client import ExolveClient

    message = VoiceMessageFactory()
    # Exolve answering `{}` (read as "no messages") while it still has them.
    monkeypatch.setattr(ExolveClient, "list_voice_messages", lambda self: [])

    out, _err, status = run()

    assert status == 0
    assert "missing 0" in out
    assert VoiceMessage.objects.get(pk=message.pk).missing_since is None
    assert sandbox_unthrottled.requests_log(GET_INFO)[0]["body"] == {"id": message.exolve_id}


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http_error", "status": 502},
        {"kind": "http_error", "status": 500},
        {"kind": "timeout"},
        {"kind": "drop"},
        {"kind": "lost_response"},
        {"kind": "malformed"},
        {"kind": "bad_shape", "times": 1},  # a readable answer: not retried
        {"kind": "connect_refused"},
    ],
    ids=["502", "500", "timeout", "drop", "lost_response", "malformed", "bad_shape", "refused"],
)
def test_getinfo_failing_for_one_message_exits_1_and_keeps_its_row(sandbox_unthrottled, settings, fault):
    settings.EXOLVE_MAX_IN_FLIGHT = 1  # in order: the first message takes every retry
    first = synced_voice_message(sandbox_unthrottled, "First")
    second = synced_voice_message(sandbox_unthrottled, "Second")
    VoiceMessage.objects.update(name="Stale")
    sandbox_unthrottled.add_fault(endpoint=GET_INFO, **{"times": 3, **fault})  # the first try and both retries

    out, err, status = run()

    assert status == 1
    assert "updated 1, unchanged 0, missing 0, failed 1" in out
    assert f"failed: {first.exolve_id}" in err
    assert VoiceMessage.objects.get(pk=first.pk).name == "Stale"
    assert VoiceMessage.objects.get(pk=first.pk).missing_since is None
    assert VoiceMessage.objects.get(pk=second.pk).name == "Second"


def test_getinfo_fault_once_is_retried_and_sync_succeeds(sandbox_unthrottled):
    sandbox_unthrottled.add_voice_message("One")
    sandbox_unthrottled.add_fault("timeout", GET_INFO, times=1)

    out, _err, status = run()

    assert status == 0
    assert "created 1" in out


def test_blocked_account_reports_each_failure(sandbox_unthrottled):
    synced_voice_message(sandbox_unthrottled, "One")
    sandbox_unthrottled.set_blocked(True)  # GetList still answers, GetInfo is refused

    _out, err, status = run()

    assert status == 1
    assert "not active" in err


def test_sync_function_raises_when_unreachable(sandbox_unthrottled):
    sandbox_unthrottled.add_fault("connect_refused", GET_LIST, times=None)

    with pytest.raises(SyncUnavailableError) as raised:
        sync_voice_messages()

    assert "could not reach Exolve" in raised.value.user_message


def test_sync_reads_concurrently(sandbox_unthrottled, settings):
    settings.EXOLVE_MAX_IN_FLIGHT = 20
    for n in range(40):
        sandbox_unthrottled.add_voice_message(f"Message {n}")
    sandbox_unthrottled.set_latency(0.1)

    started = time.monotonic()
    result = sync_voice_messages()
    elapsed = time.monotonic() - started

    assert len(result.created) == 40
    # GetList + 40 GetInfo at 0.1 s each: 4.1 s one by one, about 0.3 s twenty at a time.
    assert elapsed < 2.0


def test_sync_queries_do_not_grow_with_messages(sandbox_unthrottled, django_assert_max_num_queries):
    for n in range(30):
        sandbox_unthrottled.add_voice_message(f"Message {n}")

    with django_assert_max_num_queries(12):
        sync_voice_messages()
    with django_assert_max_num_queries(12):
        sync_voice_messages()


def test_verbosity_2_lists_every_message(sandbox_unthrottled):
    new_id = sandbox_unthrottled.add_voice_message("New")

    out, _err, _status = run("--verbosity", "2")

    assert f"created: {new_id}" in out


def test_html_in_names_from_exolve_is_stored_as_it_is(sandbox_unthrottled):
    sandbox_unthrottled.add_voice_message("<b>bold</b>")

    run()

    assert VoiceMessage.objects.get().name == "<b>bold</b>"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal_only():
    terminal, pipe = FakeTerminal(), io.StringIO()
    for stream in (terminal, pipe):
        bar = ProgressBar(stream, "Reading")
        bar(1, 4)
        bar(4, 4)
        bar.finish()

    assert "\rReading [" in terminal.getvalue() and "4/4" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")
    assert pipe.getvalue() == ""


def test_progress_bar_counts_steps_for_the_refresh_command():
    terminal = FakeTerminal()
    bar = ProgressBar(terminal, total=4)
    bar.advance(1)
    bar.advance(3)
    bar.finish()

    assert "] 1/4" in terminal.getvalue() and terminal.getvalue().endswith(f"[{'#' * 30}] 4/4\n")
