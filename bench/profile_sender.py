"""Profile the worker's sender: where its CPU goes per sent call.

    .venv/bin/python bench/profile_sender.py [N]     # N calls (default 3000), 0 ms latency

Sets up what a benchmark run does (bench/harness.py: a database of its own, the sandbox
over HTTP in its own process), then, in this process, measures the floor (a bare
20-thread pool over the client, bench/pool.py, in a process of its own) and runs
`send_queued_calls` on a broadcast of N calls under cProfile. cProfile sees the calling
thread only: the claims and the outcome writes, i.e. the sender's bookkeeping (the
sender threads only talk HTTP, as the bare pool does). Prints both CPU times per call,
the number of turns (claims) and SQL queries, and the top of the profile.
"""

import cProfile
import os
import pstats
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import Harness  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(count: int) -> None:
    with Harness() as harness:
        harness.create_database()
        harness.start_sandbox(latency_ms=0)
        harness.migrate()
        harness.apply_env()
        os.environ.update(DEBUG="off", SECRET_KEY="profile-" * 8, SECURE_SSL_REDIRECT="off")  # as deployed
        import django

        django.setup()
        try:
            run(harness, count)
        finally:
            from django.db import connections

            connections.close_all()


def run(harness: Harness, count: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from calls import sending
    from calls.recording import create_broadcast
    from exolve_portal.exolve_connection import get_client
    from voicemessages.models import VoiceMessage

    exolve_id = harness.sandbox("add_voice_message", name="profile message")
    message = VoiceMessage.objects.create(name="Profile", media_id=1967, exolve_id=exolve_id)
    VoiceMessage.objects.filter(pk=message.pk).update(exolve_id=exolve_id)  # whatever save() did at Exolve
    bare = harness.pools("send", exolve_id, "0", str(count))
    get_client().make_voice_message("74951234567", "79990000000", exolve_id)  # warm: imports, connection
    numbers = [f"7999{index:07d}" for index in range(1, count + 1)]
    broadcast = create_broadcast(message, "74951234567", numbers, None, "profile")
    claims = 0
    claim_calls = sending.claim_calls

    def counted(*args, **kwargs):
        nonlocal claims
        claims += 1
        return claim_calls(*args, **kwargs)

    sending.claim_calls = counted
    # First without the profiler: the calling thread's own CPU (time.thread_time), which
    # is the sender's bookkeeping; then the same again under cProfile for where it goes.
    plain = create_broadcast(message, "74951234567", [f"7998{index:07d}" for index in range(count)], None, "plain")
    thread_cpu = time.thread_time()
    sending.send_queued_calls(plain.pk)
    thread_cpu = time.thread_time() - thread_cpu
    claims_plain, claims = claims, 0
    profile = cProfile.Profile()
    before, wall = cpu(), time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        profile.enable()
        summary = sending.send_queued_calls(broadcast.pk)
        profile.disable()
    spent, wall = cpu() - before, time.monotonic() - wall
    print(f"sent {summary.counts} in {wall:.2f} s")
    print(f"bare client: {bare['cpu'] / count * 1000:.3f} ms CPU per call (bench/pool.py, {count} calls)")
    print(
        f"without the profiler: the calling thread (claims, writes) {thread_cpu / count * 1000:.3f} ms CPU per call "
        f"in {claims_plain} claims"
    )
    print(
        f"sender: {spent / count * 1000:.3f} ms CPU per call ({spent / bare['cpu']:.2f} x the bare client; "
        f"cProfile on, which inflates the calling thread); {claims} claims, {len(queries)} SQL queries"
    )
    shapes = Counter(" ".join(q["sql"].split()[:6])[:90] for q in queries.captured_queries)
    print("SQL by kind:")
    for shape, times in shapes.most_common(12):
        print(f"  {times:6d}  {shape}")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
