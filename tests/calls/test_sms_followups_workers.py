"""Call, then SMS, with two real `manage.py db_worker` processes and a kill -9 in the middle; counted at the sandbox.

A broadcast with one retry and a follow-up SMS: the people not reached after their last
attempt (no answer twice) get one SMS each; the busy and the answered get none; the
worker sending the SMS is killed (SIGKILL) while sending, another takes over, and no
number receives two SMS (an SMS in flight at the kill is "unknown", never sent again).
"""

import signal
import sqlite3
import time
from collections import Counter

import pytest

from calls.models import SmsState
from exolve_portal.exolve.sandbox import Sandbox
from tests.calls.test_calls_worker import manage
from tests.factories_calls import SOURCE, start_worker, worker_env

pytestmark = pytest.mark.slow

SEND_SMS = "messaging/v1/SendSMS"
NO_ANSWER = [f"7999120{n:03d}6" for n in range(24)]
BUSY = [f"7999121{n:03d}7" for n in range(4)]
ANSWERS = [f"7999122{n:03d}0" for n in range(4)]


def _rows(db_path, sql):
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


RECORD = f"""
from calls import plan_rules
plan_rules.MIN_RETRY_AFTER_MINUTES = 0  # a retry at once: the test cannot wait minutes
from calls.recording import SendPlan, create_broadcast, new_token
from voicemessages.models import VoiceMessage
vm = VoiceMessage.objects.create(name="W", media_id=1967)
plan = SendPlan(calling_hours="any", retries=1, retry_after_minutes=0, basis="contract",
                sms_text="Воду отключат завтра с 10:00", sms_sender="ExolveSMS")
create_broadcast(vm, {SOURCE!r}, {NO_ANSWER + BUSY + ANSWERS!r}, None, new_token(), plan=plan)
"""


def test_only_those_not_reached_get_one_sms_each_with_two_workers_and_a_kill(tmp_path):
    sandbox_path, db_path = tmp_path / "sandbox.sqlite3", tmp_path / "portal.sqlite3"
    sandbox = Sandbox(sandbox_path, lifecycle_seconds=0.3)
    sandbox.add_fault("latency", endpoint=SEND_SMS, times=None, seconds=0.25)
    env = worker_env(
        sandbox_path,
        db_url=f"sqlite:///{db_path}",
        EXOLVE_MAX_IN_FLIGHT=2,
        EXOLVE_REFRESH_FIRST_DELAY=0.5,
        EXOLVE_SEND_TASK_LOST_AFTER=2,
        EXOLVE_SENDING_CALL_UNKNOWN_AFTER=2,
        EXOLVE_SMS_SENDER_NAMES="ExolveSMS",
    )
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "shell", "-c", RECORD)
    workers = [start_worker(env), start_worker(env)]
    try:
        _wait_for(lambda: len(sandbox.sms_sent()) >= 3, 90, "the SMS to be under way")
        claimers = {c for (c,) in _rows(db_path, "SELECT claimed_by FROM calls_smsfollowup") if c}
        pids = {int(c.split(":")[0].rsplit("-", 1)[1]) for c in claimers}
        killed = [w for w in workers if w.pid in pids]
        assert killed, (pids, [w.pid for w in workers])
        for worker in killed:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        workers = [w for w in workers if w not in killed] + [start_worker(env) for _ in killed]

        def all_settled():
            states = [s for (s,) in _rows(db_path, "SELECT state FROM calls_smsfollowup")]
            return len(states) == len(NO_ANSWER) and not {SmsState.QUEUED, SmsState.SENDING} & set(states)

        _wait_for(all_settled, 90, "every SMS to be sent or known unknown")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)

    texted = Counter(s["destination"] for s in sandbox.sms_sent())
    rung = Counter(e["body"]["destination"] for e in sandbox.requests_log("call/v1/MakeVoiceMessage"))
    states = dict(_rows(db_path, "SELECT destination, state FROM calls_smsfollowup"))
    assert max(texted.values()) == 1  # nobody got two SMS
    assert set(texted) <= set(NO_ANSWER)  # only those not reached after the last attempt
    assert set(states) == set(NO_ANSWER)  # each of them has exactly one SMS row
    assert {d for d, s in states.items() if s == SmsState.SENT} <= set(texted)
    assert set(states.values()) <= {SmsState.SENT, SmsState.UNKNOWN}
    # Unknown: at most what the killed worker held (2 in flight, a reserve of twice that).
    assert Counter(states.values())[SmsState.SENT] >= len(NO_ANSWER) - 3 * 2
    assert all(rung[d] == 2 for d in NO_ANSWER + BUSY) and all(rung[d] == 1 for d in ANSWERS)
    sandbox.close()
