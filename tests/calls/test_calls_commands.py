"""`manage.py send_voicemessage` and `manage.py refresh_calls` through call_command."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from calls.models import Broadcast, Call, CallState
from calls.sending import send_queued_calls
from tests.factories_calls import MAKE, SOURCE, queue

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_send_queues_and_lists_duplicates(voice_message, dummy_tasks, sandbox):
    out, err = run(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--to",
        "+7 999 123-45-61",
        "--to",
        "89991234561",
        "--to",
        "79991234562",
    )
    assert "queued 2 calls" in out
    assert "duplicate, called once: 79991234561" in err
    assert Call.objects.filter(state="queued").count() == 2
    assert sandbox.count(MAKE) == 0  # the worker sends, not the command


def test_send_by_exolve_id_with_invalid_numbers_exits_1(voice_message, dummy_tasks):
    with pytest.raises(CommandError) as info:
        run(
            "send_voicemessage",
            "--basis",
            "contract",
            "--message",
            voice_message.exolve_id,
            "--source",
            SOURCE,
            "--to",
            "79991234561",
            "--to",
            "12345",
        )
    assert info.value.returncode == 1
    assert Call.objects.count() == 1  # the valid one is still queued


def test_send_reads_a_file(voice_message, dummy_tasks, tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("name,phone\nA,79991234561\nB,79991234562\n")
    run(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--file",
        str(path),
    )
    assert Call.objects.count() == 2


def test_send_takes_the_callees_zones_from_the_files_time_zone_column(voice_message, dummy_tasks, tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("phone,time zone\n79991234561,Asia/Vladivostok\n74951234560,Asia/Omsk\n79991234562,nowhere\n")
    run(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--file",
        str(path),
    )
    assert dict(Call.objects.values_list("destination", "time_zone")) == {
        "79991234561": "Asia/Vladivostok",
        "74951234560": "Europe/Moscow",
        "79991234562": "",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--message", "nope", "--to", "79991234561"], "No voice message"),
        (["--message", "{pk}"], "at least one number"),
        (["--message", "{pk}", "--to", "bad"], "No valid numbers"),
        (["--message", "{pk}", "--file", "{tmp}/list.pdf"], "Only CSV and XLSX"),
        (["--message", "{pk}", "--file", "{tmp}/none.csv"], "Cannot read"),
    ],
)
def test_send_refusals(voice_message, dummy_tasks, tmp_path, args, message):
    (tmp_path / "list.pdf").write_bytes(b"%PDF")
    args = [a.format(pk=voice_message.pk, tmp=tmp_path) for a in args]
    with pytest.raises(CommandError, match=message):
        run("send_voicemessage", "--basis", "contract", "--source", SOURCE, *args)
    assert not Broadcast.objects.exists()


def test_send_refuses_a_missing_voice_message(voice_message, dummy_tasks):
    from django.utils import timezone

    type(voice_message).objects.filter(pk=voice_message.pk).update(missing_since=timezone.now())
    with pytest.raises(CommandError, match="no longer exists at Exolve"):
        run(
            "send_voicemessage",
            "--basis",
            "contract",
            "--message",
            str(voice_message.pk),
            "--source",
            SOURCE,
            "--to",
            "79991234561",
        )


def test_send_wait_follows_every_call_to_its_outcome(voice_message, dummy_tasks, sandbox, settings):
    settings.EXOLVE_REFRESH_FIRST_DELAY = 0.1
    settings.EXOLVE_REFRESH_MAX_DELAY = 0.2
    sandbox.set_lifecycle(0.5)
    out, _err = run(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--to",
        "79991234561",
        "--to",
        "79991234567",
        "--wait",
        "--poll",
        "0.2",
        "--timeout",
        "20",
    )
    assert set(Call.objects.values_list("state", flat=True)) == {"finished"}
    assert "completed" in out and "busy" in out and "Done" in out
    assert sandbox.count(MAKE) == 2


def test_refresh_calls_pending_by_default_with_summary(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, ["79991234561", "79991234568"])
    send_queued_calls(broadcast.pk)
    sandbox.advance(60)
    out, _err = run("refresh_calls")
    assert "Refreshed 2 of 2" in out and "2 with a final status" in out
    assert set(Call.objects.values_list("status", flat=True)) == {"completed", "failed"}
    out, _err = run("refresh_calls")
    assert "Nothing to refresh" in out
    out, _err = run("refresh_calls", "--all", "--since", "2000-01-01", "--broadcast", str(broadcast.pk))
    assert "Refreshed 2 of 2" in out


def test_refresh_calls_reports_failures_with_exit_status(voice_message, dummy_tasks, sandbox):
    broadcast = queue(voice_message, ["79991234561"])
    send_queued_calls(broadcast.pk)
    sandbox.add_fault("http_error", endpoint="call/v1/GetInfo", times=None, status=503)
    with pytest.raises(CommandError) as info:
        run("refresh_calls")
    assert info.value.returncode == 1
    assert Call.objects.get().error


def test_refresh_calls_sweeps_calls_left_by_a_dead_worker(voice_message, dummy_tasks, settings):
    queue(voice_message, ["79991234561"])
    Call.objects.update(state=CallState.SENDING, claimed_at="2000-01-01T00:00:00Z")
    _out, err = run("refresh_calls")
    assert "marked unknown" in err
    assert Call.objects.get().state == "unknown"


def test_refresh_calls_rejects_a_bad_date(db):
    with pytest.raises(CommandError, match="not a date"):
        run("refresh_calls", "--since", "yesterday")


def test_send_splits_a_to_holding_several_numbers(voice_message, dummy_tasks):
    out, _err = run(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--to",
        "79991234571;79991234572",
        "--to",
        "79991234573, 79991234574 79991234575",
    )
    assert "queued 5 calls" in out
    assert sorted(Call.objects.values_list("destination", flat=True)) == [f"7999123457{n}" for n in range(1, 6)]


def test_send_refuses_an_extension_instead_of_calling_the_main_number(voice_message, dummy_tasks):
    with pytest.raises(CommandError, match="No valid numbers"):
        run(
            "send_voicemessage",
            "--basis",
            "contract",
            "--message",
            str(voice_message.pk),
            "--source",
            SOURCE,
            "--to",
            "79991234567 доб. 12",
        )
    assert not Call.objects.exists()


@pytest.mark.parametrize("value", ["²", "٣", "", " ", "99999999999999999999999", "a\x00b"])
def test_send_refuses_a_bad_message_id_plainly(voice_message, dummy_tasks, value):
    with pytest.raises(CommandError, match="No voice message"):
        run("send_voicemessage", "--basis", "contract", "--message", value, "--source", SOURCE, "--to", "79991234561")


def test_send_refuses_each_bad_file_plainly(voice_message, dummy_tasks, tmp_path, settings):
    from tests.audiences.test_calls_phones import bad_files

    settings.EXOLVE_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    for index, (name, data, message) in enumerate(bad_files()):
        path = tmp_path / f"{index}-{name}"
        path.write_bytes(data)
        with pytest.raises(CommandError, match=message):
            run(
                "send_voicemessage",
                "--basis",
                "contract",
                "--message",
                str(voice_message.pk),
                "--source",
                SOURCE,
                "--file",
                str(path),
            )
    assert not Broadcast.objects.exists()


def test_idempotency_key_makes_a_script_that_runs_twice_send_once(voice_message, dummy_tasks):
    args = (
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--to",
        "79991234561",
        "--to",
        "79991234562",
        "--idempotency-key",
        "newsletter-2026-12-01",
    )
    out, _err = run(*args)
    assert "queued 2 calls" in out
    out, _err = run(*args)  # exits 0
    broadcast = Broadcast.objects.get()
    assert f"Already sent with this idempotency key: broadcast {broadcast.pk}" in out
    assert Call.objects.count() == 2
    # Another key sends again; the same key for another list is refused.
    run(*args[:-1], "another-key")
    assert Broadcast.objects.count() == 2
    with pytest.raises(CommandError, match="already used for a different send"):
        run(
            "send_voicemessage",
            "--basis",
            "contract",
            "--message",
            str(voice_message.pk),
            "--source",
            SOURCE,
            "--to",
            "79991234569",
            "--idempotency-key",
            "newsletter-2026-12-01",
        )
    assert Call.objects.count() == 4
