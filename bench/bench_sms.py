#!/usr/bin/env python
"""Follow-up SMS (issue 25): 10,000 unanswered numbers at 100 ms latency, against the floor of the same run.

    .venv/bin/python bench/bench_sms.py                # 10,000 SMS, about 2 minutes on 2 cores
    .venv/bin/python bench/bench_sms.py --count 1000   # a smoke run
    .venv/bin/python bench/run_all.py --only sms       # the same, as a row of the table

A database of its own and the sandbox over HTTP in its own process (bench/harness.py).
A broadcast with a follow-up SMS and 10,000 of its SMS waiting (queued, due now: what the
statistics refresh leaves after the last attempts came back "no answer") is seeded; the
sandbox answers after 100 ms. The floor: a bare 20-thread pool over the client sending
SendSMS to 10,000 other numbers (`bench/pool.py sms`, a process of its own, no database).
Measured: `calls.sms_sending.send_followup_sms` (the worker's SMS sender: claims, 20 in
flight, writes) in a fresh child process, timed inside it from its start until every SMS
is written. Checked at the sandbox: each number got exactly one SMS. Target: 1.10 x the floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Harness  # noqa: E402

TARGET = 1.10
SENDER = "ExolveSMS"  # the sandbox account's registered sender name
TEXT = "Воду отключат завтра с 10:00"

SEND = """
import json, time
from calls.sms_sending import send_followup_sms
started = time.perf_counter()
summary = send_followup_sms({broadcast})
print(json.dumps({{"seconds": time.perf_counter() - started, "counts": summary.counts}}))
"""


def seed(count: int, first: int) -> int:
    """A broadcast with `count` follow-up SMS due now; its id."""
    from django.utils import timezone

    from calls.models import Broadcast, SmsFollowUp

    broadcast = Broadcast.objects.create(
        service_id="bench", source="74951234567", token=f"bench-sms-{time.time()}", calling_hours="",
        sms_text=TEXT, sms_sender=SENDER, sms_on="no_answer",
    )  # fmt: skip
    now = timezone.now()
    SmsFollowUp.objects.bulk_create(
        [
            SmsFollowUp(broadcast=broadcast, destination=f"7916{i % 10**7:07d}", sender=SENDER, not_before=now)
            for i in range(first, first + count)
        ],
        batch_size=2000,
    )
    return broadcast.pk


def run(harness: Harness, count: int, latency_ms: float) -> dict:
    """Seed, measure the floor, then the SMS sender; the figures and the sandbox's count."""
    broadcast = seed(count, first=5_000_000)
    harness.set_latency(latency_ms)
    floor = harness.pools("sms", "0", str(count), timeout=max(120, 10 * count * latency_ms / 1000 / 20))
    before = harness.sandbox("count", endpoint="messaging/v1/SendSMS")
    code = SEND.format(broadcast=broadcast)
    output = harness.manage("shell", "-c", code, timeout=600, EXOLVE_SMS_SENDER_NAMES=SENDER)
    measured = json.loads(output.strip().splitlines()[-1])
    sent = harness.sandbox("count", endpoint="messaging/v1/SendSMS") - before
    return {"floor": floor["wall"], "wall": measured["seconds"], "counts": measured["counts"], "at_sandbox": sent}


def row_values(result: dict, count: int, latency_ms: float) -> dict:
    ideal = count * latency_ms / 1000 / 20
    ratio = result["wall"] / result["floor"]
    once = result["at_sandbox"] == count and result["counts"].get("sent") == count
    return {
        "name": "follow-up SMS, 1 sender",
        "n": f"{count}",
        "wall": f"{result['wall']:.2f} s",
        "ideal": f"{ideal:.2f} s",
        "ratio": f"{result['wall'] / ideal:.3f}",
        "target": f"<= {TARGET:.2f} x floor",
        "ok": ratio <= TARGET and once,
        "floor": f"{ratio:.3f}",
        "note": f"floor {result['floor']:.2f} s (SendSMS from a bare 20-thread pool); "
        f"{result['at_sandbox']} SMS at the sandbox, states {result['counts']}",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args(argv)
    with Harness(sqlite=args.sqlite) as harness:
        harness.create_database()
        harness.start_sandbox(latency_ms=0)
        harness.migrate()
        harness.apply_env()
        import django

        django.setup()
        result = run(harness, args.count, args.latency_ms)
        from django.db import connections

        connections.close_all()
    values = row_values(result, args.count, args.latency_ms)
    print(json.dumps(values, ensure_ascii=False, indent=2))
    return 0 if values["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
