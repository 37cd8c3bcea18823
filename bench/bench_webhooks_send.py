#!/usr/bin/env python
"""A broadcast sent while 10,000 webhook deliveries are delivered (issue 24), against the floor of the same run.

    .venv/bin/python bench/bench_webhooks_send.py                  # 1,000 calls, 10,000 deliveries, 3 rounds; ~90 s
    .venv/bin/python bench/bench_webhooks_send.py --calls 200 --events 2000 --rounds 1   # a smoke run

A database of its own, the Exolve sandbox over HTTP at 100 ms latency (bench/harness.py),
one warmed-up sending worker (`db_worker`, queue "default") and the webhook worker
(`db_worker --queue-name webhooks`), each a process of its own, as deployed; a receiver on
127.0.0.1 (bench/bench_webhooks.py's, a process of its own, answering 200). Stored (not
timed): N events with a delivery each to one endpoint at the receiver, not yet due.

Each round, in this order: the floor (bench/pool.py send: 1,000 MakeVoiceMessage from a
bare 20-thread pool, no database; what the sandbox and the machine allow now); (a) a
broadcast to 1,000 numbers sent alone (timed as run_all's "bulk send": from the enqueue
until no call is queued/sending); (b) the deliveries made due and the webhook worker woken
(`tasks.wake_delivery`), then, once the receiver has the first post, the same broadcast to
1,000 other numbers; (d) the floor's bare pool again, beside the same deliveries (what the
machine leaves any client while they run; --no-beside leaves it out). The receiver's count
before and after (b) says how many deliveries ran beside it (all of (b) overlaps them when
some are still left at its end); the CPU of each process and how busy the whole machine
was are printed per send. --compare-nice N adds (c): (b) with the webhook worker reniced to
N (alternated with (b)). Each is divided by the floor of its round; the medians over the
rounds are reported. Checked: every call sent, each delivery received exactly once a round.
Target: (b) <= 1.10 x the floor. Exits 1 when off target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import MANAGE, PYTHON, ROOT, BenchError, Harness, cpu_seconds, wait_until  # noqa: E402

TARGET = 1.10
IN_FLIGHT = 20


def niced(nice: int) -> list[str]:
    return ["nice", "-n", str(nice)] if nice else []


def start_receiver(harness: Harness, nice: int = 0) -> str:
    """bench_webhooks.py's receiver in a process of its own (stopped by the harness); its URL."""
    port_file = harness.tmp / "receiver-port"
    proc = subprocess.Popen(
        [*niced(nice), PYTHON, str(ROOT / "bench" / "bench_webhooks.py"), "--receiver", str(port_file)],
        cwd=ROOT, env=harness.env(), start_new_session=True,
    )  # fmt: skip
    harness.processes.append(("receiver", proc))
    wait_until(lambda: port_file.exists() and port_file.read_text(), 30, what="the receiver to start")
    return f"http://127.0.0.1:{port_file.read_text()}/hooks"


def start_webhook_worker(harness: Harness, nice: int = 0) -> subprocess.Popen:
    """The webhook queue's own worker, as deploy/exolve-portal-webhooks.service runs it."""
    log = open(harness.tmp / "webhooks-worker.log", "a")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [*niced(nice), PYTHON, MANAGE, "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.05",
         "--queue-name", "webhooks", "--worker-id", f"bench-webhooks-{os.getpid()}"],
        cwd=ROOT, env=harness.env(**harness.worker_env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    harness.processes.append(("webhooks worker", proc))
    return proc


def seed(events: int, url: str) -> None:
    """`events` events, each with a delivery to one endpoint at the receiver, due only tomorrow."""
    import json as _json

    from django.utils import timezone

    from integrations.models import Delivery, Endpoint, Event, EventKind

    endpoint = Endpoint.objects.create(name="bench", url=url, events=[EventKind.CALL_FINISHED])
    body = _json.dumps({"type": "call.finished", "timestamp": "2026-01-01T00:00:00Z", "data": {"call_id": 0}})
    Event.objects.bulk_create(
        [Event(kind=EventKind.CALL_FINISHED, key=f"call.finished:{i}", body=body) for i in range(events)],
        batch_size=1000,
    )
    later = timezone.now() + timedelta(days=1)
    Delivery.objects.bulk_create(
        [Delivery(event=event, endpoint=endpoint, next_attempt_at=later) for event in Event.objects.all()],
        batch_size=1000,
    )


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat (every process, others' too)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def processes_cpu(harness: Harness) -> dict:
    """CPU seconds so far of each process of the run (sandbox, receiver, workers)."""
    cpu = {}
    for name, proc in harness.processes:
        if proc.poll() is None and name in ("sandbox", "receiver", "webhooks worker", "worker 0"):
            cpu[name] = cpu_seconds(proc.pid)
    cpu["this process"] = cpu_seconds(os.getpid())
    return cpu


def cpu_mark(harness: Harness) -> tuple[dict, tuple[float, float]]:
    return processes_cpu(harness), machine_busy()


def cpu_since(harness: Harness, mark) -> dict:
    """The CPU each process of the run spent since `mark`, and how busy the whole machine was."""
    (before, machine_before), (after, machine_after) = mark, cpu_mark(harness)
    busy, total = (a - b for a, b in zip(machine_after, machine_before, strict=True))
    cpu_by = {name: round(after[name] - before[name], 2) for name in after if name in before}
    return {"cpu_by": cpu_by, "machine_busy": busy / total}  # of all CPUs


def send(bench, calls: int, timeout: float) -> dict:
    """bench.broadcast, with the CPU each process of the run and the whole machine spent meanwhile."""
    mark = cpu_mark(bench.h)
    result = bench.broadcast(calls, timeout)
    return {**result, **cpu_since(bench.h, mark)}


def delivered() -> int:
    from integrations.models import Delivery, DeliveryState

    return Delivery.objects.filter(state=DeliveryState.DELIVERED).count()


def with_deliveries(bench, receiver: str, events: int, calls: int, webhook_worker, timeout: float, bare=False) -> dict:
    """(b): make the deliveries due, wake the webhook worker, and send the broadcast while it delivers.

    `bare`: (d) instead of the broadcast, the floor's bare pool beside the deliveries. Its process
    starts its requests 2 s after it is launched (bench/pool.py imports first), so the deliveries
    are woken 1.7 s after the launch."""
    from bench_webhooks import counted
    from django.utils import timezone

    from integrations import tasks
    from integrations.models import Delivery, DeliveryState

    before = counted(receiver)["requests"]
    Delivery.objects.update(state=DeliveryState.PENDING, next_attempt_at=timezone.now(), attempts=0)
    cpu_before = cpu_seconds(webhook_worker.pid)
    if bare:
        mark = cpu_mark(bench.h)
        launcher = ThreadPoolExecutor(1)
        floor = launcher.submit(bench.floor, calls)
        time.sleep(1.7)
    woken = time.perf_counter()
    tasks.wake_delivery()

    def first_posted():
        failed = Delivery.objects.filter(failures__gt=0).values_list("last_status", "last_answer").first()
        if failed:
            raise BenchError(f"a webhook delivery failed: {failed}; see webhooks-worker.log")
        return counted(receiver)["requests"] > before

    wait_until(first_posted, 30, 0.01, "the first webhook delivery")
    at_start = counted(receiver)["requests"] - before
    if bare:
        result = {"wall": floor.result()["wall"], "states": {"sent": calls}, "cpu": 0.0}
        launcher.shutdown()
        result.update(cpu_since(bench.h, mark))
    else:
        result = send(bench, calls, timeout)
    at_end = counted(receiver)["requests"] - before
    webhook_cpu = cpu_seconds(webhook_worker.pid) - cpu_before

    def all_delivered():
        if webhook_worker.poll() is not None:
            raise BenchError("the webhook worker exited; see webhooks-worker.log")
        return delivered() == events

    wait_until(all_delivered, 300, 0.05, f"{events} webhook deliveries")
    return {
        **result,
        "deliveries_at_start": at_start,
        "deliveries_during": at_end - at_start,
        "deliveries_at_end": at_end,
        "deliveries_seconds": time.perf_counter() - woken,
        "webhook_cpu_during": webhook_cpu,
    }


def renice(pid: int, nice: int) -> None:
    """Every thread of `pid` (nice is per thread on Linux; threads started later inherit their creator's)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), nice)
        except ProcessLookupError:  # a thread that just ended
            pass


def run(
    harness: Harness, calls: int, events: int, rounds: int, latency_ms: float, nice=(0, 0), compare=None, beside=True
) -> dict:
    from bench_webhooks import counted
    from run_all import SIZES, Bench

    receiver = start_receiver(harness, nice[1])
    seed(events, receiver)
    bench = Bench(harness, {**SIZES["full"], "latency_ms": latency_ms}, quick=False)
    bench.ensure_voice_message()
    harness.set_latency(latency_ms)
    bench.start_workers(1)  # warmed up by a small broadcast
    webhook_worker = start_webhook_worker(harness, nice[0])
    timeout = max(120, 10 * calls * latency_ms / 1000 / IN_FLIGHT)
    floors, alone, during, reniced, bare_beside = [], [], [], [], []
    for number in range(rounds):
        harness.log(f"round {number + 1}: floor, alone, with {events} deliveries")
        floors.append(bench.floor(calls)["wall"])
        harness.check_workers()
        alone.append(send(bench, calls, timeout))
        # With --compare-nice: (c), the webhook worker reniced, before or after (b) in turn.
        for niced_now in [False, True][:: 1 if number % 2 else -1] if compare is not None else [False]:
            bench.purge_tasks()
            renice(webhook_worker.pid, compare if niced_now else nice[0])
            measured = with_deliveries(bench, receiver, events, calls, webhook_worker, timeout)
            (reniced if niced_now else during).append(measured)
        renice(webhook_worker.pid, nice[0])
        if beside:  # (d): the floor's bare pool beside the same deliveries: what the machine leaves any client
            bench.purge_tasks()
            bare_beside.append(with_deliveries(bench, receiver, events, calls, webhook_worker, timeout, bare=True))
        bench.purge_tasks()
    got = counted(receiver)
    posts = rounds * (1 + (compare is not None) + beside)
    once = got["ids"] == events and got["max"] == posts and got["requests"] == posts * events
    return {
        "floors": floors,
        "alone": alone,
        "during": during,
        "reniced": reniced,
        "bare_beside": bare_beside,
        "receiver": got,
        "once": once,
    }


def report(result: dict, calls: int, events: int, latency_ms: float) -> tuple[list[str], bool]:
    floors = result["floors"]
    alone = [r["wall"] / f for r, f in zip(result["alone"], floors, strict=True)]
    during = [r["wall"] / f for r, f in zip(result["during"], floors, strict=True)]
    all_sent = all(r["states"] == {"sent": calls} for r in result["alone"] + result["during"] + result["reniced"])
    ok = statistics.median(during) <= TARGET and all_sent and result["once"]
    ideal = calls * latency_ms / 1000 / IN_FLIGHT

    def walls(rows):
        return " ".join(f"{r['wall']:.2f}" for r in rows)

    lines = [
        f"floor: bare 20-thread pool, {calls} MakeVoiceMessage   median {statistics.median(floors):.2f} s "
        f"(rounds: {' '.join(f'{f:.2f}' for f in floors)}; ideal {ideal:.2f} s)",
        f"(a) broadcast of {calls}, alone                       median {statistics.median(alone):.3f} x floor "
        f"(rounds: {' '.join(f'{x:.3f}' for x in alone)}; s: {walls(result['alone'])})",
        f"(b) the same while {events:,} webhooks are delivered  median {statistics.median(during):.3f} x floor "
        f"(rounds: {' '.join(f'{x:.3f}' for x in during)}; s: {walls(result['during'])}) "
        f"target <= {TARGET:.2f}: {'ok' if ok else 'OFF TARGET'}",
    ]
    if result["reniced"]:
        reniced = [r["wall"] / f for r, f in zip(result["reniced"], floors, strict=True)]
        lines.append(
            f"(c) the same, the webhook worker reniced          median {statistics.median(reniced):.3f} x floor "
            f"(rounds: {' '.join(f'{x:.3f}' for x in reniced)}; s: {walls(result['reniced'])})"
        )
    if result["bare_beside"]:
        bare = [r["wall"] / f for r, f in zip(result["bare_beside"], floors, strict=True)]
        portal = [r["wall"] / b["wall"] for r, b in zip(result["during"], result["bare_beside"], strict=True)]
        lines.append(
            f"(d) the floor's bare pool beside the deliveries   median {statistics.median(bare):.3f} x floor "
            f"(rounds: {' '.join(f'{x:.3f}' for x in bare)}; s: {walls(result['bare_beside'])}); (b) over (d): "
            f"median {statistics.median(portal):.3f} (rounds: {' '.join(f'{x:.3f}' for x in portal)})"
        )
        for index, r in enumerate(result["bare_beside"], 1):
            lines.append(
                f"    (d) round {index}: deliveries {r['deliveries_during']} beside it, {r['deliveries_at_end']} at "
                f"its end; CPU s {r['cpu_by']}; the machine {r['machine_busy']:.0%} busy"
            )
    for index, r in enumerate(result["during"] + result["reniced"], 1):
        if index == len(result["during"]) + 1:
            lines.append("    (c), reniced:")
        index = (index - 1) % len(result["during"]) + 1
        lines.append(
            f"    round {index}: deliveries {r['deliveries_at_start']} before the send, {r['deliveries_during']} "
            f"beside it, {r['deliveries_at_end']} of {events} at its end; all {events} in "
            f"{r['deliveries_seconds']:.2f} s; webhook worker CPU beside the send {r['webhook_cpu_during']:.2f} s; "
            f"sending worker CPU {r['cpu']:.2f} s (alone: {result['alone'][index - 1]['cpu']:.2f} s)"
        )
        for label, row in (("alone", result["alone"][index - 1]), ("beside", r)):
            lines.append(
                f"      CPU s during the send, {label}: {row['cpu_by']}; the machine {row['machine_busy']:.0%} busy"
            )
    lines.append(
        f"all calls sent: {all_sent}; each delivery received once a round: {result['once']} ({result['receiver']})"
    )
    return lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--nice-webhooks", type=int, default=0, help="run the webhook worker under nice -n N")
    parser.add_argument("--nice-receiver", type=int, default=0, help="run the receiver under nice -n N")
    parser.add_argument(
        "--compare-nice", type=int, help="also (c) each round: the same with the webhook worker reniced to N"
    )
    parser.add_argument("--no-beside", action="store_true", help="leave out (d), the bare pool beside the deliveries")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    started = time.perf_counter()
    harness = Harness(sqlite=args.sqlite)
    try:
        harness.create_database()
        harness.start_sandbox(latency_ms=0)
        harness.migrate()
        harness.apply_env()
        # As run_all: no statistics refresh in the run. The receiver is on 127.0.0.1.
        harness.worker_env = {"EXOLVE_REFRESH_FIRST_DELAY": 86_400, "EXOLVE_WEBHOOKS_ALLOW_PRIVATE": "on"}
        import django

        django.setup()
        nice = (args.nice_webhooks, args.nice_receiver)
        result = run(
            harness, args.calls, args.events, args.rounds, args.latency_ms, nice, args.compare_nice, not args.no_beside
        )
        from django.db import connections

        connections.close_all()
    finally:
        harness.close(keep_tmp=args.keep_logs)
    lines, ok = report(result, args.calls, args.events, args.latency_ms)
    print()
    print("\n".join(lines))
    print(
        f"\n{harness.backend}, sandbox latency {args.latency_ms:g} ms, {IN_FLIGHT} in flight; nice: webhook "
        f"worker {args.nice_webhooks}, receiver {args.nice_receiver}; total "
        f"{time.perf_counter() - started:.0f} s; load average before {load_before[0]:.2f}, now "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
