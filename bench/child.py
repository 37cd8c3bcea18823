"""The Django side of a measurement, run in a fresh process by run_all.py.

    child.py command <name> [args...]   time call_command(name, *args) in this process
    child.py pages <runs> <broadcast pk>  SQL queries and median time of the staff pages
    child.py export csv|xlsx             stream the calls export; wall time and peak RSS

Prints one JSON line (the last line of output). The environment (DATABASE_URL, the
sandbox URL, ...) is set by the harness.
"""

from __future__ import annotations

import io
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def maxrss_mb() -> float:
    """Peak RSS of this process, in MB.

    `getrusage(RUSAGE_SELF).ru_maxrss` is not enough on its own: Linux carries the
    high-water mark of the forked parent across exec, so a child of a large process
    reports the parent's peak. VmHWM in /proc/self/status is this address space's own
    peak; the smaller of the two is the child's real peak.
    """
    rusage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return min(rusage, int(line.split()[1]) / 1024)
    except OSError:
        pass
    return rusage


def setup():
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def run_command(name: str, *args: str) -> dict:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    ok, error = True, ""
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except (CommandError, SystemExit) as exc:
        ok, error = False, str(exc)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "ok": ok,
        "error": error,
        "stdout": out.getvalue()[-1000:],
        "stderr": err.getvalue()[-1000:],
    }


PAGES = [
    ("admin calls list", "admin:calls_call_changelist", ()),
    ("calls table page", "portal:calls", ()),
    ("broadcast page", "portal:broadcast", ("broadcast",)),
    ("dashboard", "portal:dashboard", ()),
]


def measure_pages(runs: int, broadcast_pk: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    results = []
    for label, name, needs in PAGES:
        entry = {"page": label}
        try:
            url = reverse(name, args=[broadcast_pk] if needs else [])
        except NoReverseMatch:
            entry["error"] = f"no URL named {name}"
            results.append(entry)
            continue
        entry["url"] = url
        times, counts = [], []
        try:
            for attempt in range(runs + 2):  # two warm-ups
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    if response.streaming:
                        b"".join(response.streaming_content)
                    elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}")
                if attempt >= 2:
                    times.append(elapsed)
                    counts.append(len(queries))
        except Exception as exc:  # noqa: BLE001 - report it as the page's result
            entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            entry["queries"] = max(counts)
            entry["queries_min"] = min(counts)
            entry["median_ms"] = statistics.median(times) * 1000
            entry["min_ms"] = min(times) * 1000
        results.append(entry)
    return {"pages": results}


def measure_export(fmt: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    user, _created = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    url = reverse(f"portal:calls_export_{fmt}")
    # The baseline (RSS before the export) includes Django and openpyxl already imported.
    if fmt == "xlsx":
        import openpyxl  # noqa: F401
    baseline = maxrss_mb()
    started = time.perf_counter()
    response = client.get(url)
    size = lines = 0
    if response.streaming:
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
    else:
        size = len(response.content)
    seconds = time.perf_counter() - started
    response.close()
    return {
        "status": response.status_code,
        "seconds": seconds,
        "bytes": size,
        "lines": lines,
        "baseline_mb": baseline,
        "peak_mb": maxrss_mb(),
    }


def main(argv: list[str]) -> None:
    setup()
    kind, args = argv[0], argv[1:]
    if kind == "command":
        result = run_command(*args)
    elif kind == "pages":
        result = measure_pages(int(args[0]), int(args[1]))
    elif kind == "export":
        result = measure_export(args[0])
    else:
        raise SystemExit(f"unknown child task {kind!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
