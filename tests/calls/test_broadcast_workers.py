"""Steering a broadcast while real `manage.py db_worker` processes send it; counted at the sandbox.

- A stop while two workers send 1,000 calls at 100 ms latency (PostgreSQL): nothing is
  handed to Exolve after the stop committed (beyond the requests already on their way),
  no canceled call reaches the sandbox, every call that did is recorded sent.
- A broadcast's pace holds across two workers (SQLite file database, and PostgreSQL).
- A scheduled broadcast survives a worker killed (SIGKILL) before its start: the next
  worker sends every call once, none before the start.

The sandbox's request log stamps each request after its latency sleep, on the wall
clock every process on this machine shares (`Sandbox.handle`), so its "at" is when the
request's answer was produced: a request that left at t with latency L is logged at t + L.
"""

import json
import signal
import sqlite3
import time
from collections import Counter

import pytest
from django.db import connection

from exolve_portal.exolve.sandbox import Sandbox
from tests.calls.test_calls_worker import manage
from tests.factories import make_staff
from tests.factories_calls import MAKE, SOURCE, postgres_only, skip_unless_postgres, worker_env

# The database fixture first (a conftest fixture may use the cache tables); workers need commits.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Keep calls "sent" while a test looks at them: no statistics refresh during the test.
NO_REFRESH = {"EXOLVE_REFRESH_FIRST_DELAY": 86_400, "EXOLVE_MAX_RPS": 0}


def wait_for(condition, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def made(sandbox):
    """The MakeVoiceMessage requests that arrived at the sandbox: [(at, destination, status)]."""
    return [(e["at"], e["body"]["destination"], e["status"]) for e in sandbox.requests_log(MAKE)]


# --- where the workers and the test meet ---------------------------------------------------


class Site:
    """A database the tests and the workers share (a SQLite file or the PostgreSQL test database), and a sandbox."""

    def __init__(self, env, sandbox, db_path=None):
        self.env, self.sandbox, self.db_path = env, sandbox, db_path

    def python(self, code: str) -> dict:
        """Run `code` in `manage.py shell` against the shared database; the JSON it printed last."""
        out = manage(self.env, "shell", "-c", code).stdout.strip().splitlines()
        return json.loads(out[-1])

    def rows(self, sql: str, params=()):
        if self.db_path is not None:
            with sqlite3.connect(self.db_path) as db:
                return db.execute(sql, params).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall()

    def states(self) -> dict:
        return dict(self.rows("SELECT destination, state FROM calls_call"))

    def claimers(self) -> set:
        return {c.split(":")[0] for (c,) in self.rows("SELECT claimed_by FROM calls_call") if c}

    def task_status(self, task_id: str) -> str:
        found = self.rows(
            "SELECT status FROM django_tasks_database_dbtaskresult WHERE id = ?", (task_id.replace("-", ""),)
        )
        if not found:  # PostgreSQL stores the uuid with its dashes
            found = self.rows("SELECT status FROM django_tasks_database_dbtaskresult WHERE id = ?", (task_id,))
        return found[0][0] if found else ""

    def record(self, numbers, **plan) -> dict:
        """Record a broadcast as the send form does (create_broadcast, its tasks enqueued on commit)."""
        code = f"""
import json
from datetime import timedelta
from django.utils import timezone
from calls.recording import SendPlan, create_broadcast, new_token
from voicemessages.models import VoiceMessage
plan = {plan!r}
start_in = plan.pop("start_in", None)
start_at = timezone.now() + timedelta(seconds=start_in) if start_in else None
vm = VoiceMessage.objects.create(name="W", media_id=1967)
b = create_broadcast(vm, {SOURCE!r}, {list(numbers)!r}, None, new_token(),
                     plan=SendPlan(start_at=start_at, calling_hours="any", **plan))
print(json.dumps({{"pk": b.pk, "state": b.state, "start_at": start_at.timestamp() if start_at else None}}))
"""
        return self.python(code)

    def enqueue_send_task(self, broadcast_pk: int) -> str:
        """One more send task, to run now (what the safety net enqueues for a lost task)."""
        code = (
            "import json; from calls.tasks import send_broadcast; "
            f"print(json.dumps({{'id': str(send_broadcast.enqueue({broadcast_pk}).id)}}))"
        )
        return self.python(code)["id"]


def shared_site(request, tmp_path, **extra):
    """A database and sandbox shared with worker processes configured by `extra`: a SQLite
    file database of its own (request.param "sqlite") or the PostgreSQL test database."""
    if request.param == "sqlite":
        sandbox_path = tmp_path / "sandbox.sqlite3"
        sandbox = Sandbox(sandbox_path)
        db_path = tmp_path / "portal.sqlite3"
        env = worker_env(sandbox_path, db_url=f"sqlite:///{db_path}", **extra)
        manage(env, "migrate", "--no-input", "-v", "0")
        yield Site(env, sandbox, db_path)
        sandbox.close()
        return
    skip_unless_postgres()
    sandbox = request.getfixturevalue("sandbox")
    settings = request.getfixturevalue("settings")
    yield Site(worker_env(settings.EXOLVE_SANDBOX_STATE, **extra), sandbox)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=postgres_only)])
def site(request, tmp_path):
    """Each test runs on a SQLite file database of its own, and on the PostgreSQL test database."""
    yield from shared_site(request, tmp_path, EXOLVE_MAX_IN_FLIGHT=4, **NO_REFRESH)


# --- 1. a stop races two workers ----------------------------------------------------------


@postgres_only
def test_a_stop_while_two_workers_send_hands_nothing_more_to_exolve(voice_message, sandbox, settings, workers):
    skip_unless_postgres()
    from calls import steering
    from calls.models import Call, CallState
    from calls.recording import SendPlan, create_broadcast, new_token

    settings.TASKS = DB_TASKS
    latency, margin, total = 0.1, 0.5, 1000
    sandbox.add_fault("latency", endpoint=MAKE, times=None, seconds=latency)
    numbers = [f"7999{n:07d}" for n in range(total)]
    # Recorded as the send form does; its four send tasks are enqueued on commit.
    broadcast = create_broadcast(voice_message, SOURCE, numbers, None, new_token(), plan=SendPlan(calling_hours="any"))
    env = worker_env(settings.EXOLVE_SANDBOX_STATE, EXOLVE_MAX_IN_FLIGHT=20, **NO_REFRESH)
    for _ in range(2):
        workers.start(env)

    def under_way():
        claimers = {c.split(":")[0] for c in Call.objects.exclude(claimed_by="").values_list("claimed_by", flat=True)}
        return sandbox.count(MAKE) >= 250 and len(claimers) >= 2

    wait_for(under_way, 60, "both workers to be sending")
    manager = make_staff("manager", perms=("calls.steer_broadcast",))
    before = time.time()
    canceled_at_stop = steering.stop(broadcast, manager)
    committed = time.time()  # the stop's transaction has committed by now

    calls = Call.objects.filter(broadcast=broadcast)
    wait_for(lambda: not calls.filter(state__in=(CallState.SENDING, CallState.QUEUED)).exists(), 30,
             "the calls the workers held to be written")  # fmt: skip
    workers.stop()
    assert all(w.returncode == 0 for w in workers), [w.stdout.read() for w in workers]

    log = made(sandbox)
    reached = Counter(destination for _at, destination, _status in log)
    states = dict(calls.values_list("destination", "state"))
    counts = Counter(states.values())
    canceled = {d for d, state in states.items() if state == CallState.CANCELED}
    late = [at - committed for at, _d, _s in log if at > committed + latency]
    timeline = (
        f"{len(log)} requests; stop took {committed - before:.3f} s and canceled {canceled_at_stop} at once; "
        f"{len(late)} answered later than commit + latency (at most {max(late, default=0):.3f} s after the commit)"
    )
    assert 250 <= len(reached) < total, timeline  # the stop came while the workers were sending
    assert max(reached.values()) == 1  # each number reached Exolve at most once
    assert not canceled & set(reached), "a canceled call reached the sandbox"
    assert {states[d] for d in reached} == {CallState.SENT}, timeline
    assert set(counts) == {CallState.SENT, CallState.CANCELED}, counts  # no unknown, nothing left sending
    assert counts[CallState.SENT] + counts[CallState.CANCELED] == total
    assert counts[CallState.SENT] == len(reached) and all(e[2] == 200 for e in log)
    assert canceled_at_stop > 0 and canceled_at_stop <= len(canceled)
    # Only requests already on their way (claimed before the commit) arrive after it.
    last = max(at for at, _d, _s in log)
    assert last <= committed + latency + margin, (
        f"a request arrived {last - committed:.3f} s after the stop; {timeline}"
    )
    print(timeline)


# --- 2. the pace holds across two workers ---------------------------------------------------


def test_the_pace_holds_with_two_workers(site, workers):
    pace, count = 120, 16  # one call every 0.5 s, whichever worker sends it: about 7.5 s
    interval, tolerance = 60 / pace, 0.2
    numbers = [f"7999123{n:04d}" for n in range(count)]
    for _ in range(2):
        workers.start(site.env)
    broadcast = site.record(numbers, pace_per_minute=pace)
    wait_for(lambda: Counter(site.states().values())["sent"] == count, 60, "every call to be sent", 0.2)
    workers.stop()

    log = made(site.sandbox)
    assert sorted(d for _at, d, _s in log) == numbers, broadcast  # each once
    times = sorted(at for at, _d, _s in log)
    # In any span of T seconds at most T * pace / 60 + 1 calls: the k-th call after any
    # call comes at least k intervals later (less a little scheduling noise).
    for i, first in enumerate(times):
        for k, later in enumerate(times[i + 1 :], start=1):
            assert later - first >= k * interval - tolerance, (
                f"{k + 1} calls within {later - first:.2f} s at {pace}/min: "
                + ", ".join(f"{t - times[0]:.2f}" for t in times)
            )
    # ...and it does send at that pace, not slower, with both workers taking turns.
    assert times[-1] - times[0] <= (count - 1) * interval + 3.0, [round(t - times[0], 2) for t in times]
    assert len(site.claimers()) == 2, "both workers should have sent some of the calls"


# --- 3. a scheduled broadcast survives a worker restart -----------------------------------


def test_a_scheduled_broadcast_survives_a_worker_killed_before_its_start(site, workers):
    numbers = [f"7999123{n:04d}" for n in range(10)]
    broadcast = site.record(numbers, start_in=30)  # room for slow setup on a busy CI machine
    start_at = broadcast["start_at"]
    assert broadcast["state"] == "scheduled"
    first = workers.start(site.env)
    # A send task that runs before the start (as the safety net's would) must send nothing.
    early = site.enqueue_send_task(broadcast["pk"])
    wait_for(lambda: site.task_status(early) == "SUCCESSFUL", 20, "the early send task to run")
    assert time.time() < start_at - 1, "the test took too long to get here; start later"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert site.sandbox.count(MAKE) == 0
    assert set(site.states().values()) == {"queued"}, site.rows(
        "SELECT destination, state, broadcast_id, claimed_by FROM calls_call"
    )

    second = workers.start(site.env)
    assert time.time() < start_at, "the new worker should be waiting before the start"
    wait_for(lambda: set(site.states().values()) == {"sent"}, start_at - time.time() + 30, "every call to be sent",
             0.2)  # fmt: skip
    workers.stop(second)

    log = made(site.sandbox)
    assert sorted(d for _at, d, _s in log) == numbers  # every call once
    assert min(at for at, _d, _s in log) >= start_at, "a call was made before the start"
    assert max(at for at, _d, _s in log) <= start_at + 10  # and they went once it came
