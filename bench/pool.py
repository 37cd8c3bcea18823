"""The floor: what a bare 20-thread pool over the client reaches, no database.

    pool.py send <api url> <start at> <voice message id> <first number> <count>
    pool.py sync <api url> <start at>               GetList, then GetInfo of every message listed
    pool.py refresh <api url> <start at> <file>     call GetInfo of every call id in <file> (one a line)
    pool.py sms <api url> <start at> <first number> <count>   SendSMS to each number (bench_sms.py)

Run by run_all.py in fresh processes, one per pool, so that a floor of 2 or 4 pools
shares the machine the way 2 or 4 workers do, and so that this process's CPU time is
the bare client's alone (no Django, no orchestrator). Each process waits until the
epoch time <start at> (so every pool has finished importing before any request),
does the requests the portal's row does, 20 in flight, and prints one JSON line: its
start and end (epoch), its CPU time over the requests (user + system), how many
requests it made and how many failed.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exolve_portal.exolve import ExolveClient  # noqa: E402 - the client only: it knows nothing of Django

SOURCE = "74951234567"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(requests_to_make, start_at: float, threads: int = 20) -> dict:
    failed = 0

    def one(request) -> None:
        nonlocal failed
        try:
            request()
        except Exception:  # noqa: BLE001 - counted, not raised: the floor reports what failed
            failed += 1

    time.sleep(max(0.0, start_at - time.time()))
    cpu_before, started = cpu(), time.time()
    with ThreadPoolExecutor(threads) as pool:
        count = len(list(pool.map(one, requests_to_make())))
    ended, cpu_after = time.time(), cpu()
    return {"start": started, "end": ended, "cpu": cpu_after - cpu_before, "count": count, "failed": failed}


def main(mode: str, url: str, start_at: str, *args: str) -> dict:
    client = ExolveClient(url, "sandbox-key")
    if mode == "send":
        voice_message_id, first, count = args[0], int(args[1]), int(args[2])
        numbers = [f"7916{index % 10**7:07d}" for index in range(first, first + count)]

        def requests_to_make():
            return (lambda n=n: client.make_voice_message(SOURCE, n, voice_message_id) for n in numbers)

    elif mode == "sync":

        def requests_to_make():  # the GetList is inside the timed part, as in sync_voicemessages
            listed = client.list_voice_messages()
            return (lambda m=m: client.get_voice_message(m.id) for m in listed)

    elif mode == "refresh":
        call_ids = Path(args[0]).read_text().split()

        def requests_to_make():
            return (lambda c=c: client.get_call(c) for c in call_ids)

    elif mode == "sms":
        first, count = int(args[0]), int(args[1])
        numbers = [f"7916{index % 10**7:07d}" for index in range(first, first + count)]

        def requests_to_make():
            return (lambda n=n: client.send_sms("ExolveSMS", n, "Воду отключат завтра с 10:00") for n in numbers)

    else:
        raise SystemExit(f"unknown mode {mode!r}")
    try:
        return run(requests_to_make, float(start_at))
    finally:
        client.session.close()


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
