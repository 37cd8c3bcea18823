"""The last paths that could ring someone twice or leave a call stuck.

Each through its real entry point: the admin's resend confirmation submitted twice (one
after the other, and as two concurrent requests), a worker killed with SIGKILL and one
stopped with SIGTERM (real `db_worker` processes), and a send loop that crashes. Calls
are counted at the sandbox.
"""

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse

from calls import sending
from calls.models import Call, CallState
from calls.sending import send_queued_calls
from exolve_portal.exolve.sandbox import Sandbox
from tests.calls.test_calls_worker import create_voice_message, manage
from tests.factories import make_staff
from tests.factories_calls import MAKE, REPO, SOURCE, queue, skip_unless_postgres, start_worker, worker_env

CHANGELIST = "admin:calls_call_changelist"


def _unknown_calls(voice_message, sandbox, numbers, user=None):
    broadcast = queue(voice_message, numbers, user=user)
    sandbox.add_fault("lost_response", endpoint=MAKE, times=None)
    send_queued_calls(broadcast.pk)
    sandbox.clear_faults()
    calls = list(broadcast.calls.all())
    assert {call.state for call in calls} == {CallState.UNKNOWN}
    return calls


def _confirm(client, calls):
    return client.post(
        reverse(CHANGELIST), {"action": "resend", "_selected_action": [c.pk for c in calls], "post": "yes"}
    )


@pytest.mark.django_db
def test_the_resend_confirmation_submitted_twice_queues_each_number_once(
    voice_message, operator, operator_client, dummy_tasks, sandbox
):
    # The operator's own broadcast: only its sender (or a Manager) may send it again.
    old = _unknown_calls(voice_message, sandbox, ["79991234561", "79991234562"], user=operator)

    first = _confirm(operator_client, old)
    second = _confirm(operator_client, old)  # Back, and submit again

    assert first.status_code == 302 and second.status_code == 302
    assert Call.objects.filter(resend_of__in=old).count() == 2
    words = " ".join(str(m) for m in get_messages(second.wsgi_request))
    assert "2 calls had already been sent again" in words and "not sent a second time" in words
    send_queued_calls()
    assert Counter(e["body"]["destination"] for e in sandbox.requests_log(MAKE) if e["status"] == 200) == {
        "79991234561": 1,
        "79991234562": 1,
    }


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_staff_confirming_the_same_resend_at_once_queue_each_number_once(voice_message, dummy_tasks, sandbox):
    # Real row locks: the in-memory SQLite test database of threads answers "table is
    # locked" where a SQLite file would wait; on SQLite, IMMEDIATE transactions serialise.
    skip_unless_postgres()
    old = _unknown_calls(voice_message, sandbox, [f"7999123456{n}" for n in range(5)])
    clients = []
    for name in ("anna", "boris"):  # two who may steer any broadcast (Managers), so both may resend
        make_staff(name, perms=("calls.view_call", "calls.send_voicemessage", "calls.steer_broadcast"))
        client = Client()
        client.login(username=name, password="pw")
        clients.append(client)
    barrier = threading.Barrier(2)
    statuses = []

    def submit(client):
        barrier.wait()
        try:
            statuses.append(_confirm(client, old).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200, 302] or statuses == [302, 302], statuses
    new = Call.objects.filter(resend_of__in=old)
    assert sorted(new.values_list("destination", flat=True)) == sorted(c.destination for c in old)
    assert Call.objects.filter(pk__in=[c.pk for c in old], resent_at__isnull=False).count() == 5


@pytest.mark.django_db
def test_results_that_came_back_are_written_when_the_send_loop_crashes(
    voice_message, dummy_tasks, sandbox, monkeypatch
):
    broadcast = queue(voice_message, [f"799912345{n:02d}" for n in range(30)])
    real_claim = sending.claim_calls
    claims = []

    def claim_then_crash(*args, **kwargs):
        claims.append(1)
        if len(claims) == 3:
            raise RuntimeError("the database went away")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(sending, "claim_calls", claim_then_crash)

    with pytest.raises(RuntimeError):
        send_queued_calls(broadcast.pk, max_in_flight=4)

    accepted = {e["body"]["destination"] for e in sandbox.requests_log(MAKE) if e["status"] == 200}
    assert accepted, "some calls should have been sent before the crash"
    states = dict(broadcast.calls.values_list("destination", "state"))
    # Every call Exolve accepted is recorded sent, with its call id: none left unknown.
    assert {states[d] for d in accepted} == {CallState.SENT}
    assert all(broadcast.calls.get(destination=d).call_id for d in accepted)
    # The rest were never handed to Exolve and wait in the queue again.
    assert {states[d] for d in states if d not in accepted} <= {CallState.QUEUED}


# --- real workers ---------------------------------------------------------------------


@pytest.fixture
def worker_db(tmp_path):
    """A migrated SQLite file database of its own and a sandbox, for worker processes."""
    sandbox_path = tmp_path / "sandbox.sqlite3"
    Sandbox(sandbox_path).close()
    db_path = tmp_path / "portal.sqlite3"
    env = worker_env(
        sandbox_path,
        db_url=f"sqlite:///{db_path}",
        EXOLVE_MAX_IN_FLIGHT=5,
        EXOLVE_SEND_TASK_LOST_AFTER=2,
        EXOLVE_SENDING_CALL_UNKNOWN_AFTER=2,
    )
    manage(env, "migrate", "--no-input", "-v", "0")
    return env, db_path, Sandbox(sandbox_path)


def _states(db_path):
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT destination, state FROM calls_call").fetchall())


def _send(env, numbers):
    args = ["send_voicemessage", "--basis", "contract", "--message", create_voice_message(env), "--source", SOURCE]
    for number in numbers:
        args += ["--to", number]
    manage(env, *args)


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_after_the_only_worker_is_killed_a_new_worker_sends_every_queued_call_once(worker_db):
    env, db_path, sandbox = worker_db
    numbers = [f"7999123{n:04d}" for n in range(60)]
    sandbox.add_fault("latency", endpoint=MAKE, times=None, seconds=0.3)
    _send(env, numbers)
    worker = start_worker(env)
    _wait_for(lambda: Counter(_states(db_path).values())[CallState.SENT] >= 10, 60, "the first calls to be sent")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    at_kill = _states(db_path)
    queued = [d for d, state in at_kill.items() if state == CallState.QUEUED]
    assert queued, "the worker should have been killed with calls still queued"

    # A new worker, and nothing else: no command, no page visit.
    second = start_worker(env)
    try:
        _wait_for(
            lambda: not {CallState.QUEUED, CallState.SENDING} & set(_states(db_path).values()), 90, "every call to end"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    states = _states(db_path)
    assert {states[d] for d in queued} == {CallState.SENT}
    rung = Counter(e["body"]["destination"] for e in sandbox.requests_log(MAKE))
    assert max(rung.values()) == 1  # nobody was rung twice
    assert all(rung[d] == 1 for d in queued)
    # Calls the dead worker had taken are unknown, never sent again by the new one.
    assert set(states.values()) <= {CallState.SENT, CallState.UNKNOWN}


def test_sigterm_stops_claiming_and_records_everything_in_flight(worker_db):
    env, db_path, sandbox = worker_db
    numbers = [f"7999123{n:04d}" for n in range(500)]
    latency = 0.1
    sandbox.add_fault("latency", endpoint=MAKE, times=None, seconds=latency)
    _send(env, numbers)
    worker = start_worker(env)
    _wait_for(lambda: Counter(_states(db_path).values())[CallState.SENT] >= 50, 60, "sending to be under way")
    signalled_at = sandbox.now()
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    assert worker.returncode == 0, worker.stdout.read()

    states = _states(db_path)
    counts = Counter(states.values())
    assert set(counts) == {CallState.SENT, CallState.QUEUED}, counts  # nothing sending, nothing unknown
    log = sandbox.requests_log(MAKE)
    assert len(log) == counts[CallState.SENT]  # every request that left is recorded
    # No call was taken after the signal: the last requests are those already in flight.
    assert max(entry["at"] for entry in log) <= signalled_at + latency + 1.0

    # The broadcast goes on with the next worker, each number once.
    later = start_worker(env, "--batch")
    later.wait(timeout=120)
    rung = Counter(e["body"]["destination"] for e in sandbox.requests_log(MAKE))
    assert sorted(rung) == numbers and set(rung.values()) == {1}
    assert set(_states(db_path).values()) <= {CallState.SENT, CallState.FINISHED}


def test_a_refresh_batch_that_outlasts_its_lease_asks_exolve_once_per_call(worker_db):
    """Two workers refresh; a slow Exolve makes the batch last longer than the lease."""
    env, db_path, sandbox = worker_db
    numbers = [f"7999123{n:04d}" for n in range(12)]
    _send(env, numbers)
    wait_all_sent = start_worker(env, "--batch")
    wait_all_sent.wait(timeout=60)
    assert set(_states(db_path).values()) == {CallState.SENT}
    with sqlite3.connect(db_path) as db:  # every call due now
        db.execute("UPDATE calls_call SET next_refresh_at = datetime('now', '-1 second')")
    sandbox.add_fault("latency", endpoint="call/v1/GetInfo", times=None, seconds=1.0)
    slow = env | {"EXOLVE_REFRESH_LEASE": "1.5", "EXOLVE_MAX_IN_FLIGHT": "2", "EXOLVE_REFRESH_FIRST_DELAY": "3600"}
    code = "from calls.statistics import refresh_due_calls as r; print(r().refreshed)"
    from tests.calls.test_calls_worker import manage as run

    first = subprocess.Popen(  # a batch of 12 at 2 in flight: about 6 s, four leases
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env=slow,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(2.5)  # past the first lease: a second refresher comes along
    second = run(slow, "shell", "-c", code)
    first.wait(timeout=60)

    asked = Counter(entry["body"]["call_id"] for entry in sandbox.requests_log("call/v1/GetInfo"))
    assert len(asked) == 12 and set(asked.values()) == {1}, asked
    assert second.stdout.strip().splitlines()[-1] == "0"  # the leased calls were left alone
