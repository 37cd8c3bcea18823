#!/usr/bin/env python
"""10,000 webhook deliveries to a local receiver, against a bare thread pool posting the same bodies (issue 24).

    .venv/bin/python bench/bench_webhooks.py                  # PostgreSQL, about a minute on 2 cores
    .venv/bin/python bench/bench_webhooks.py --events 1000    # a smoke run

A database of its own (`exolve_portal_bench_webhooks_<pid>` on BENCH_POSTGRES_URL,
default postgres://postgres@127.0.0.1:5432; `--sqlite` for a temporary SQLite file),
migrated in a subprocess and dropped at the end. A receiver on 127.0.0.1 in a process
of its own (a threading HTTP server answering 200 "ok"). One child process, in this
order: N events and their deliveries to one endpoint are stored (not timed); the
floor: a bare 20-thread pool posting the same N bodies with the same (already signed)
headers over http.client, nothing else; the portal: `delivery.deliver_due()` with 20
in flight, which claims, signs, posts and writes each delivery's outcome. Three rounds,
floor and portal alternated (the deliveries made due again between rounds); the medians
are compared. The receiver counts what it got: each delivery exactly once a round.
Target: within 1.2 x the floor.
Exits 1 when off target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TARGET = 1.2
IN_FLIGHT = 20
ROUNDS = 3


def receive(port_file: str) -> None:
    """The receiver: 200 "ok" to every POST, GET /count says how many came (by webhook-id)."""
    from collections import Counter
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: Counter = Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            seen[self.headers.get("webhook-id")] += 1
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self):
            body = json.dumps({"requests": sum(seen.values()), "ids": len(seen), "max": max(seen.values(), default=0)})
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # the listen backlog: 20 clients connecting at once are never reset

    server = Server(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def counted(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url.rsplit("/", 1)[0] + "/count", timeout=10) as answer:
        return json.loads(answer.read())


def floor(jobs, timestamp: int) -> float:
    """A bare pool: the same bodies and headers, posted by 20 threads over http.client."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    from integrations import signing

    prepared = [
        (job.url, job.body.encode(), signing.headers(job.secret, job.message_id, timestamp, job.body)) for job in jobs
    ]

    def post(item):
        url, body, headers = item
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request("POST", parts.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(1024)
            return response.status
        finally:
            connection.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        statuses = list(pool.map(post, prepared))
    seconds = time.perf_counter() - start
    assert statuses.count(200) == len(prepared), "the receiver refused some of the floor's posts"
    return seconds


def measure(events: int, url: str) -> list[dict]:
    import django

    django.setup()
    from django.utils import timezone

    from integrations import delivery
    from integrations.models import Delivery, DeliveryState, Endpoint, Event, EventKind

    endpoint = Endpoint.objects.create(name="bench", url=url, events=[EventKind.CALL_FINISHED])
    body = json.dumps({"type": "call.finished", "timestamp": "2026-01-01T00:00:00Z", "data": {"call_id": 0}})
    Event.objects.bulk_create(
        [Event(kind=EventKind.CALL_FINISHED, key=f"call.finished:{i}", body=body) for i in range(events)],
        batch_size=1000,
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        [Delivery(event=event, endpoint=endpoint, next_attempt_at=now) for event in Event.objects.all()],
        batch_size=1000,
    )
    jobs = delivery.claim(now, events)
    floors, portals = [], []
    for _round in range(ROUNDS):  # alternated: the machine's noise falls on both alike
        Delivery.objects.update(state=DeliveryState.PENDING, next_attempt_at=now, attempts=0)
        floors.append(floor(jobs, int(now.timestamp())))
        start = time.perf_counter()
        summary = delivery.deliver_due(in_flight=IN_FLIGHT)
        portals.append(time.perf_counter() - start)
        delivered = Delivery.objects.filter(state=DeliveryState.DELIVERED, attempts=1).count()
        assert summary.delivered == delivered == events, (summary, delivered)
    got = counted(url)
    # Each delivery exactly once per round from the portal (and once from the floor).
    assert got["ids"] == events and got["max"] == 2 * ROUNDS and got["requests"] == 2 * ROUNDS * events, got
    bare, portal = statistics.median(floors), statistics.median(portals)
    return [
        {"row": f"floor: bare pool posting {events:,} bodies (median of {ROUNDS})", "seconds": bare, "ratio": None},
        {
            "row": f"portal: {events:,} webhook deliveries (median of {ROUNDS})",
            "seconds": portal,
            "ratio": portal / bare,
        },
    ]


def run(options) -> list[dict] | None:
    """The receiver, a database of its own and the measuring child; the child's rows (None when it failed)."""
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    name = f"exolve_portal_bench_webhooks_{os.getpid()}"
    database = f"sqlite:///{tmp / 'bench.sqlite3'}" if options.sqlite else f"{server}/{name}"
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DJANGO_SETTINGS_MODULE": "exolve_portal.settings",
        "EXOLVE_WEBHOOKS_ALLOW_PRIVATE": "on",  # the receiver is on 127.0.0.1
        "LOG_LEVEL": "WARNING",
    }
    admin = [
        python,
        "-c",
        "import sys,psycopg; c=psycopg.connect(sys.argv[1], autocommit=True); c.execute(sys.argv[2])",
    ]
    port_file = tmp / "port"
    receiver = subprocess.Popen([python, __file__, "--receiver", str(port_file)], cwd=REPO, start_new_session=True)
    if not options.sqlite:
        subprocess.run([*admin, f"{server}/postgres", f"CREATE DATABASE {name}"], check=True)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not start")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}/hooks"
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        output = subprocess.run(
            [python, __file__, "--child", url, "--events", str(options.events)],
            cwd=REPO,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if output.returncode:
            print(output.stderr[-3000:], file=sys.stderr)
            return None
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
        if not options.sqlite:
            subprocess.run([*admin, f"{server}/postgres", f"DROP DATABASE IF EXISTS {name}"], check=False)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--receiver", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.receiver:
        receive(options.receiver)
        return 0
    if options.child:
        print(json.dumps(measure(options.events, options.child)))
        return 0
    rows = run(options)
    if rows is None:
        return 2
    off = False
    for row in rows:
        ratio = row["ratio"]
        verdict = "" if ratio is None else ("ok" if ratio <= TARGET else "OFF TARGET")
        off |= verdict == "OFF TARGET"
        shown = "" if ratio is None else f"{ratio:.2f} x floor (target <= {TARGET})"
        print(f"{row['row']:<45} {row['seconds']:8.2f} s  {shown} {verdict}")
    if options.json:
        Path(options.json).write_text(json.dumps(rows, indent=1))
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
