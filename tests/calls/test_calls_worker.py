"""Real `manage.py db_worker` processes send each call exactly once, on SQLite and PostgreSQL."""

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from exolve_portal.exolve.sandbox import Sandbox
from tests.factories_calls import MAKE, REPO, SOURCE, database_url, skip_unless_postgres, start_worker, worker_env


def manage(env, *args, check=True):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def wait_all(processes, timeout=90):
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"worker did not finish: {process.stdout.read()}") from None
        assert process.returncode == 0, process.stdout.read()


@pytest.fixture
def sqlite_env(tmp_path):
    """A file SQLite database of its own (the in-memory test database is not shared), migrated."""
    sandbox_path = tmp_path / "sandbox.sqlite3"
    Sandbox(sandbox_path).close()
    db_path = tmp_path / "portal.sqlite3"
    env = worker_env(sandbox_path, db_url=f"sqlite:///{db_path}", EXOLVE_MAX_IN_FLIGHT=5)
    manage(env, "migrate", "--no-input", "-v", "0")
    env["_DB_PATH"] = str(db_path)
    return env, sandbox_path


def sqlite_states(env):
    with sqlite3.connect(env["_DB_PATH"]) as db:
        return dict(db.execute("SELECT destination, state FROM calls_call").fetchall())


def create_voice_message(env):
    code = "from voicemessages.models import VoiceMessage as V; print(V.objects.create(name='W', media_id=1967).pk)"
    return manage(env, "shell", "-c", code).stdout.strip().splitlines()[-1]


def test_two_sqlite_workers_send_each_call_once(sqlite_env):
    env, sandbox_path = sqlite_env
    pk = create_voice_message(env)
    numbers = [f"7999123{n:04d}" for n in range(40)]
    args = ["send_voicemessage", "--basis", "contract", "--message", pk, "--source", SOURCE]
    for number in numbers + ["nonsense", numbers[0]]:
        args += ["--to", number]
    result = manage(env, *args, check=False)
    assert result.returncode == 1  # one invalid number
    assert "queued 40 calls" in result.stdout and "nonsense" in result.stderr
    workers = [start_worker(env, "--batch") for _ in range(2)]
    wait_all(workers)
    assert set(sqlite_states(env).values()) == {"sent"}
    sandbox = Sandbox(sandbox_path)
    destinations = [entry["body"]["destination"] for entry in sandbox.requests_log(MAKE)]
    assert sorted(destinations) == sorted(numbers)  # each exactly once
    sandbox.close()


def test_killed_sqlite_worker_leaves_unknown_calls_that_are_never_resent(sqlite_env):
    env, sandbox_path = sqlite_env
    sandbox = Sandbox(sandbox_path)
    pk = create_voice_message(env)
    sandbox.add_fault("latency", endpoint=MAKE, times=None, seconds=30)  # the worker is killed mid-send
    numbers = [f"7999123{n:04d}" for n in range(12)]
    args = ["send_voicemessage", "--basis", "contract", "--message", pk, "--source", SOURCE]
    for number in numbers:
        args += ["--to", number]
    manage(env, *args)
    worker = start_worker(env)
    deadline = time.monotonic() + 60
    while "sending" not in sqlite_states(env).values() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    in_flight = [d for d, state in sqlite_states(env).items() if state == "sending"]
    assert in_flight, "the worker should have been killed mid-send"
    sandbox.clear_faults()
    # The sweep (here through refresh_calls) marks them unknown; the next worker sends the rest only.
    manage(env.copy() | {"EXOLVE_SENDING_CALL_UNKNOWN_AFTER": "0"}, "refresh_calls")
    wait_all([start_worker(env, "--batch")])
    states = sqlite_states(env)
    assert all(states[d] == "unknown" for d in in_flight)
    assert {states[d] for d in numbers if d not in in_flight} <= {"sent"}
    sent_to = [entry["body"]["destination"] for entry in sandbox.requests_log(MAKE)]
    assert not set(sent_to) & set(in_flight)
    assert sorted(sent_to) == sorted(d for d in numbers if d not in in_flight)
    sandbox.close()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_postgres_workers_never_send_a_call_twice(voice_message, sandbox, settings):
    skip_unless_postgres()
    from calls.models import Call
    from calls.tasks import enqueue_sending
    from tests.factories_calls import queue

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    sandbox.add_fault("latency", endpoint=MAKE, times=None, seconds=0.02)
    numbers = [f"7999123{n:04d}" for n in range(300)]
    broadcast = queue(voice_message, numbers)
    # More tasks than workers, and every task twice: re-runs must not send anything again.
    for _ in range(2):
        enqueue_sending(broadcast.pk, len(numbers))
    env = worker_env(
        settings.EXOLVE_SANDBOX_STATE, EXOLVE_MAX_IN_FLIGHT=8, EXOLVE_MAX_RPS=0, EXOLVE_SEND_TASKS_PER_BROADCAST=4
    )
    assert env["DATABASE_URL"] == database_url()
    workers = [start_worker(env, "--batch") for _ in range(4)]
    wait_all(workers)
    assert set(Call.objects.filter(broadcast=broadcast).values_list("state", flat=True)) == {"sent"}
    destinations = [entry["body"]["destination"] for entry in sandbox.requests_log(MAKE)]
    assert len(destinations) == 300 and sorted(destinations) == sorted(numbers)
    claimers = {c.split(":")[0] for c in Call.objects.values_list("claimed_by", flat=True)}
    assert len(claimers) >= 2, "the work should have been shared between workers"
