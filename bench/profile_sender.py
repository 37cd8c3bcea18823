"""Profile the worker's sender: where its CPU goes per sent call (issue 14).

    .venv/bin/python bench/profile_sender.py [N]     # N calls (default 1000), 0 ms latency

Creates a PostgreSQL database of its own (BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432), serves the sandbox over HTTP in a thread, records
a broadcast of N calls and runs `send_queued_calls` under cProfile (the calling thread:
the claims and outcome writes; the sender threads only talk HTTP). Prints the CPU and
wall time and the top of the profile, then drops the database.
"""

import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
NAME = f"exolve_portal_profile_{os.getpid()}"
sys.path.insert(0, str(ROOT))
os.environ.update(
    DJANGO_SETTINGS_MODULE="exolve_portal.settings",
    DATABASE_URL=f"{SERVER}/{NAME}",
    EXOLVE_CALLING_HOURS="any",
    LOG_LEVEL="WARNING",
)


def main(count: int) -> None:
    import django
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{NAME}"')
    try:
        django.setup()
        run(count)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{NAME}"')


def run(count: int) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from exolve_portal import exolve_connection
    from exolve_portal.exolve.sandbox import SANDBOX_API_KEY, SANDBOX_SOURCE_NUMBERS, Sandbox
    from exolve_portal.exolve.sandbox_server import SandboxServer

    call_command("migrate", verbosity=0)
    server = SandboxServer(Sandbox(tempfile.mktemp(suffix=".sqlite3"))).start()
    settings.EXOLVE_SANDBOX = False
    settings.EXOLVE_API_URL, settings.EXOLVE_API_KEY = server.url, SANDBOX_API_KEY
    settings.EXOLVE_SOURCE_NUMBERS = list(SANDBOX_SOURCE_NUMBERS)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    exolve_connection.reset()

    from calls.recording import create_broadcast
    from calls.sending import send_queued_calls
    from voicemessages.models import VoiceMessage

    message = VoiceMessage.objects.create(name="Profile", media_id=1967)
    numbers = [f"7999{index:07d}" for index in range(count)]
    broadcast = create_broadcast(message, SANDBOX_SOURCE_NUMBERS[0], numbers, None, "profile")
    profile = cProfile.Profile()
    cpu, wall = time.process_time(), time.monotonic()
    profile.enable()
    send_queued_calls(broadcast.pk)
    profile.disable()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(f"{count} calls: {cpu:.2f} s CPU (this process, sandbox included), {wall:.2f} s wall")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
