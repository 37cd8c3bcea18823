#!/usr/bin/env python
"""1,000 sends through the HTTP API (issue 24), against a bare Django view that only inserts a row.

    .venv/bin/python bench/bench_api.py                  # PostgreSQL, about 1 minute on 2 cores
    .venv/bin/python bench/bench_api.py --sends 200      # a smoke run
    .venv/bin/python bench/bench_api.py --profile 300    # where a send's time goes (cProfile, in-process)

A database of its own (`exolve_portal_bench_api_<pid>` on BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432), migrated in a subprocess and dropped at the end; the
in-process Exolve sandbox (nothing is sent: no send task runs). gunicorn with the project's
gunicorn.conf.py (gthread, its default workers and threads), DEBUG off, settings
`bench.api_settings` (the portal's URLs plus `bench/insert` and `bench/record`).

Each measurement: 20 client threads (requests sessions, keep-alive) share N requests.
- floor: POST /bench/insert, a view that inserts one row (same middleware, same server);
- recording alone: POST /bench/record, a bare view calling the send page's `create_broadcast`
  for one number (no token, key, body checks, verdicts or audit of the API): what any send
  costs when it is recorded in the request, as the API did before it accepted sends;
- API: POST /api/v1/broadcasts, one number each, a fresh Idempotency-Key each: the token's
  check, the body's shape and numbers, the send's row (answered 202), the recording task asked
  for once a second per process.
Each is warmed up (50 requests), then the three are measured in turn, three times; the best of each
is kept. Target: API <= 1.5 x floor. Exits 1 when off target. Then one worker (in a
subprocess, `api.recording.record_waiting`) records every accepted send: reported, per send.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
TARGET = 1.5
CLIENTS = 20
ROUNDS = 3  # each kind measured in turn, three times; the best of each kept
EXPECTED = {"floor": 201, "record": 201, "api": 202}  # an API send is accepted, then recorded by a worker
SOURCE = "74951234567"  # the sandbox's first caller number

SETUP = """
import json
from api.models import ApiToken
from api.tokens import new_token
from tests.factories import make_staff
from exolve_portal.role_names import MANAGERS
from voicemessages.models import VoiceMessage
from django.db import connection
manager = make_staff("bench-manager", role=MANAGERS)
raw, prefix, digest = new_token()
ApiToken.objects.create(name="bench", prefix=prefix, digest=digest, scopes=["send", "read"], created_by=manager)
vm = VoiceMessage.objects.create(name="Bench", media_id=1967)
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE bench_api_row (id bigserial PRIMARY KEY, body text NOT NULL)")
print(json.dumps({"token": raw, "voice_message": vm.pk}))
"""


def environment(database_url: str, sandbox_state: str, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.api_settings",
        PYTHONPATH=str(REPO),
        EXOLVE_SANDBOX="on",
        EXOLVE_SANDBOX_STATE=sandbox_state,
        EXOLVE_API_KEY="",
        EXOLVE_CALLING_HOURS="any",
        EXOLVE_API_RATE_PER_MINUTE="1000000",  # never reached, but counted: its UPDATE runs on every request
        DEBUG="off",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="off",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        LOG_FORMAT="text",
        LANGUAGE_CODE="en",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def manage(env, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode:
        raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def hammer(requests_to_make: list, clients: int = CLIENTS) -> tuple[float, dict]:
    """Send `requests_to_make` ((url, headers, body) each) from `clients` threads; (seconds, status counts)."""
    import requests

    lock = threading.Lock()
    queue = list(reversed(requests_to_make))
    statuses: dict[int, int] = {}
    start_line = threading.Barrier(clients + 1)

    def client():
        with requests.Session() as session:
            start_line.wait()
            while True:
                with lock:
                    if not queue:
                        return
                    url, headers, body = queue.pop()
                answer = session.post(url, data=body, headers=headers, timeout=60)
                with lock:
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


class Numbers:
    def __init__(self):
        self.next = 0

    def take(self) -> str:
        self.next += 1
        return f"7916{self.next:07d}"


def api_requests(base, token, voice_message, numbers: Numbers, count) -> list:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    made = []
    for _ in range(count):
        body = {
            "voice_message": voice_message,
            "source": SOURCE,
            "numbers": [numbers.take()],
            "plan": {"basis": "contract", "calling_hours": "any"},
        }
        made.append((base + "/api/v1/broadcasts", {**headers, "Idempotency-Key": uuid.uuid4().hex}, json.dumps(body)))
    return made


def record_requests(base, voice_message, numbers: Numbers, count) -> list:
    headers = {"Content-Type": "application/json"}
    made = []
    for _ in range(count):
        body = {"voice_message": voice_message, "source": SOURCE, "numbers": [numbers.take()]}
        made.append((base + "/bench/record", headers, json.dumps(body)))
    return made


def bare_requests(base, numbers: Numbers, count) -> list:
    headers = {"Content-Type": "application/json"}
    return [(base + "/bench/insert", headers, json.dumps({"numbers": [numbers.take()]})) for _ in range(count)]


def run(sends: int, database_url: str, env: dict, base: str, setup: dict) -> list[dict]:
    numbers = Numbers()
    token, voice_message = setup["token"], setup["voice_message"]
    makers = {
        "floor": lambda count: bare_requests(base, numbers, count),
        "record": lambda count: record_requests(base, voice_message, numbers, count),
        "api": lambda count: api_requests(base, token, voice_message, numbers, count),
    }
    for make in makers.values():
        seconds, statuses = hammer(make(50))  # warm-up: every worker's connections, imports, caches
        if set(statuses) - {200, 201, 202}:
            raise SystemExit(f"warm-up answered {statuses}")
    runs = {kind: [] for kind in makers}
    for _round in range(ROUNDS):
        for kind, make in makers.items():
            seconds, statuses = hammer(make(sends))
            if statuses != {EXPECTED[kind]: sends}:
                raise SystemExit(f"{kind} answered {statuses}")
            runs[kind].append(seconds)
    best = {kind: min(times) for kind, times in runs.items()}
    return [
        {"row": f"floor: bare view inserting a row, {sends} requests", "seconds": best["floor"], "runs": runs["floor"]},
        {
            "row": f"the send page's recording alone, {sends} requests",
            "seconds": best["record"],
            "runs": runs["record"],
            "ratio": best["record"] / best["floor"],
        },
        {
            "row": f"API sends of one number, {sends} requests",
            "seconds": best["api"],
            "runs": runs["api"],
            "ratio": best["api"] / best["floor"],
            "over_recording": best["api"] / best["record"],
        },
    ]


RECORD = """
import json, time
from api.models import ApiSend
from api.recording import record_waiting
started = time.perf_counter()
count = record_waiting()
seconds = time.perf_counter() - started
states = sorted(ApiSend.objects.values_list("state", flat=True).distinct())
print(json.dumps({"count": count, "seconds": seconds, "states": states}))
"""


def recording_row(env) -> dict:
    """The sends accepted above, recorded by one worker (`record_waiting`, as the task runs it)."""
    done = json.loads(manage(env, "shell", "-c", RECORD).strip().splitlines()[-1])
    if done["states"] != ["recorded"]:
        raise SystemExit(f"some sends were not recorded: {done}")
    return {
        "row": f"one worker recording the {done['count']} accepted sends",
        "seconds": done["seconds"],
        "runs": [done["seconds"]],
        "per_send_ms": done["seconds"] / done["count"] * 1000,
    }


def create_database() -> tuple[str, str]:
    import psycopg

    name = f"exolve_portal_bench_api_{os.getpid()}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", connect_timeout=3, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"{POSTGRES_SERVER}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", connect_timeout=5, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def profile(count: int, env: dict, setup: dict) -> None:
    """`count` API sends through Django's test Client in this process, under cProfile; the top 25."""
    import cProfile
    import pstats

    os.environ.update(env)
    os.environ.update(DEBUG="on", ALLOWED_HOSTS="testserver")  # the test Client's host; queries counted
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {setup['token']}")
    numbers = Numbers()
    numbers.next = 5_000_000

    def send():
        body = {"voice_message": setup["voice_message"], "source": SOURCE, "numbers": [numbers.take()],
                "plan": {"basis": "contract", "calling_hours": "any"}}  # fmt: skip
        answer = client.post("/api/v1/broadcasts", body, content_type="application/json",
                             HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)  # fmt: skip
        assert answer.status_code == 202, answer.content

    send()
    with CaptureQueriesContext(connection) as queries:
        send()
    print(f"SQL per send: {len(queries)}")
    for query in queries.captured_queries:
        print(f"  {query['time']}s  {query['sql'][:150]}")
    reset_queries()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(count):
        send()
    profiler.disable()
    print(f"{count} sends in-process: {(time.perf_counter() - started) / count * 1000:.2f} ms each")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    pstats.Stats(profiler).sort_stats("cumulative").print_callees("sending.py.*\\(send\\)|sending.py.*_checked")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=1000)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N sends in-process instead")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    name, database_url = create_database()
    tmp = Path(tempfile.mkdtemp(prefix="exolve-bench-api-"))
    port = free_port()
    env = environment(database_url, str(tmp / "sandbox.sqlite3"), port)
    server = None
    try:
        manage(env, "migrate", "--no-input", "-v", "0")
        setup = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        if options.profile:
            profile(options.profile, env, setup)
            return 0
        server = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "gunicorn"), "-c", str(REPO / "gunicorn.conf.py")],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        wait_for_server(base)
        rows = run(options.sends, database_url, env, base, setup)
        rows.append(recording_row(env))
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        drop_database(name)
    width = max(len(row["row"]) for row in rows)
    for row in rows:
        ratio = f"{row['ratio']:.2f} x floor" if "ratio" in row else ""
        if "per_send_ms" in row:
            ratio = f"{row['per_send_ms']:.1f} ms a send"
        if "over_recording" in row:
            ratio += f", {row['over_recording']:.2f} x recording"
        runs = ", ".join(f"{s:.2f}" for s in row["runs"])
        print(f"{row['row']:<{width}}  {row['seconds']:7.2f} s  {ratio:<32} (runs: {runs})")
    if options.json:
        options.json.write_text(json.dumps(rows, indent=2))
    return 0 if rows[2]["ratio"] <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
