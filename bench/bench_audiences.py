#!/usr/bin/env python
"""Audiences of 1,000,000 contacts (issue 23): the pages, and a broadcast to a 100,000-contact list.

    .venv/bin/python bench/bench_audiences.py           # PostgreSQL, about 4 minutes on 2 cores
    .venv/bin/python bench/bench_audiences.py --quick   # a smoke run: 200 / 20,000 contacts, a list of 5,000

A database of its own (`exolve_portal_bench_audiences_<pid>` on BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432), migrated in a subprocess and dropped at the end. One
child process, in this order:

1. Pages. 1,000 contacts, all in one list ("everyone"), written by psycopg's COPY; the contacts
   admin changelist, a list's staff page (pages/audiences_views.contact_list) and, reported only,
   the lists page: Django's test Client logged in as a superuser, CaptureQueriesContext, two
   warm-ups then the median of `--page-runs`. Then 999,000 more contacts by COPY (every one in
   "everyone", memberships by one INSERT ... SELECT), ANALYZE, and the same pages again.
   Targets: the median at 1,000,000 within 1.5 x that at 1,000, and the same number of queries.
2. A broadcast to a 100,000-contact list among the 1,000,000 (the list "hundred": the first
   100,000 contacts, each with a consent in force for "information"), against 100,000 numbers
   pasted (typed three ways, as run_all's `big` row; numbers of no contact). Alternately, `--runs`
   times: the send form's preview (`SendForm(...).is_valid()` and `save_draft`: for the list,
   `list_recipients` with consents, stop list and limits, merged into the preview), then the
   recording (`ConfirmSendForm.save()`: `create_broadcast` with `contacts=`, committed). The
   recorded calls are deleted after each run. Targets (medians): the list's preview within
   2 x the pasted numbers' preview; its recording within 1.2 x theirs.

Exits 1 when a row is off target (not with --quick: those sizes only smoke-test the script).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PAGE_TARGET, PREVIEW_TARGET, RECORD_TARGET = 1.5, 2.0, 1.2
PAGES = [
    ("contacts admin changelist", "admin:audiences_contact_changelist", True),
    ("a list's staff page", "portal:contact_list", True),
    ("the lists page (reported)", "portal:contact_lists", False),
]


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def copy_contacts(first: int, count: int) -> None:
    """Contacts `first`..`first + count - 1` (numbers 7916xxxxxxx), written by COPY, and put in "everyone"."""
    from django.db import connection

    from audiences.contact_models import ContactList

    everyone = ContactList.objects.get(name="everyone")
    connection.ensure_connection()
    raw = connection.connection
    columns = "number, name, extra, zone, created_at, updated_at"
    with raw.cursor() as cursor, cursor.copy(f"COPY audiences_contact ({columns}) FROM STDIN") as copy:
        for i in range(first, first + count):
            extra = json.dumps({"квартира": str(i % 300)}, ensure_ascii=False)
            copy.write_row((f"7916{i:07d}", f"Житель {i}", extra, "", "2026-11-01 10:00+03", "2026-11-01 10:00+03"))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audiences_membership (contact_list_id, contact_id, added_at) "
            "SELECT %s, id, now() FROM audiences_contact WHERE number >= %s AND number <= %s",
            [everyone.pk, f"7916{first:07d}", f"7916{first + count - 1:07d}"],
        )
        cursor.execute("ANALYZE")


def measure_pages(runs: int, list_pk: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    user = get_user_model().objects.get(username="bench-admin")
    client = Client()
    client.force_login(user)
    found = {}
    for label, name, _judged in PAGES:
        url = reverse(name, args=[list_pk] if name == "portal:contact_list" else [])
        times, counts = [], []
        for attempt in range(runs + 2):  # two warm-ups
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")
            if attempt >= 2:
                times.append(elapsed)
                counts.append(len(queries))
        found[label] = {"url": url, "median": statistics.median(times), "queries": max(counts), "runs": times}
    return found


def typed(index: int) -> str:
    """The 7916... number `index`, written the way people type numbers (three forms in turn, as bench/child.py)."""
    digits = f"{index % 10**7:07d}"
    return (f"+7 (916) {digits[:3]}-{digits[3:5]}-{digits[5:]}", f"8 916 {digits}", f"7916{digits}")[index % 3]


def form_data(user, count: int, contact_list=None) -> dict:
    """The send form's data: `count` numbers pasted (typed three ways, of no contact), or the list."""
    from django.conf import settings

    from calls.recording import new_token
    from exolve_portal.exolve.sandbox_account import SANDBOX_SOURCE_NUMBERS
    from voicemessages.models import VoiceMessage

    message = VoiceMessage.objects.get(exolve_id="bench-vm")
    data = {
        "voice_message": message.pk,
        "source": SANDBOX_SOURCE_NUMBERS[0],
        "token": new_token(),
        "numbers": "",
        "calling_hours": "any",
        "time_zone": settings.TIME_ZONE,
        "purpose": "information",
        "basis": "consent",
    }
    if contact_list is None:
        data["numbers"] = "\n".join(typed(index) for index in range(5_000_000, 5_000_000 + count))
    else:
        data["contact_lists"] = [str(contact_list.pk)]
    return data


def preview_and_record(user, data: dict, expected: int) -> tuple[float, float]:
    """The send page's two steps without HTTP: the preview (form and draft), then the confirmation."""
    from django.http import QueryDict

    from calls.forms import ConfirmSendForm, SendForm
    from calls.models import Call

    bound = QueryDict(mutable=True)
    for key, value in data.items():
        bound.setlist(key, value if isinstance(value, list) else [value])
    started = time.perf_counter()
    form = SendForm(bound, user=user)
    if not form.is_valid():
        raise RuntimeError(f"the send form refused: {form.errors.as_text()[:500]}")
    draft = form.save_draft(user)
    previewed = time.perf_counter()
    confirm = ConfirmSendForm(
        {"voice_message": data["voice_message"], "source": draft.source, "token": draft.token, "_confirm": "1"},
        user=user,
    )
    if not confirm.is_valid():
        raise RuntimeError(f"the confirmation refused: {confirm.errors.as_text()[:500]}")
    broadcast = confirm.save()
    recorded = time.perf_counter()
    if broadcast is None:
        raise RuntimeError(f"not recorded: {confirm.errors.as_text()[:500]}")
    calls = Call.objects.filter(broadcast=broadcast)
    made, with_contact = calls.count(), calls.filter(needs_consent=True).count()
    if made != expected or with_contact not in (0, expected):
        raise RuntimeError(f"recorded {made} calls ({with_contact} from the list), expected {expected}")
    _forget_recorded()
    return previewed - started, recorded - previewed


def _forget_recorded() -> None:
    """The calls and tasks just recorded, deleted: each run records into the same tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE calls_broadcast CASCADE")
        cursor.execute("ANALYZE calls_call")


def seed_hundred(size: int) -> object:
    """The list "hundred": the first `size` contacts, each with a consent in force for "information"."""
    from django.db import connection

    from audiences.contact_models import ContactList

    hundred = ContactList.objects.create(name="hundred")
    last = f"7916{size - 1:07d}"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audiences_membership (contact_list_id, contact_id, added_at) "
            "SELECT %s, id, now() FROM audiences_contact WHERE number <= %s",
            [hundred.pk, last],
        )
        cursor.execute(
            "INSERT INTO audiences_consent "
            "(contact_id, purpose, kind, source, given_at, reference, entered_at, withdrawal_channel) "
            "SELECT id, 'information', 'written', 'bench', '2026-11-01', '', now(), '' "
            "FROM audiences_contact WHERE number <= %s",
            [last],
        )
        cursor.execute("ANALYZE")
    return hundred


def measure(small: int, big: int, list_size: int, runs: int, page_runs: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from audiences.contact_models import ContactList
    from voicemessages.models import VoiceMessage

    user = get_user_model().objects.create(username="bench-admin", is_staff=True, is_superuser=True)
    VoiceMessage.objects.create(name="bench", media_id=1967, exolve_id="bench-vm")
    everyone = ContactList.objects.create(name="everyone")
    out = {"seed": {}}
    out["seed"]["small"] = timed(lambda: copy_contacts(0, small))[0]
    out["small"] = measure_pages(page_runs, everyone.pk)
    out["seed"]["big"] = timed(lambda: copy_contacts(small, big - small))[0]
    out["big"] = measure_pages(page_runs, everyone.pk)
    hundred = seed_hundred(list_size)
    previews = {"list": [], "pasted": []}
    records = {"list": [], "pasted": []}
    for run in range(runs):
        order = ("list", "pasted") if run % 2 == 0 else ("pasted", "list")
        for kind in order:
            data = form_data(user, list_size, hundred if kind == "list" else None)
            preview, recording = preview_and_record(user, data, list_size)
            previews[kind].append(preview)
            records[kind].append(recording)
    out["previews"], out["records"] = previews, records
    return out


def rows_of(result: dict, small: int, big: int, list_size: int) -> list[dict]:
    rows = []
    for label, _name, judged in PAGES:
        before, after = result["small"][label], result["big"][label]
        ratio = after["median"] / before["median"]
        same = after["queries"] == before["queries"]
        rows.append({
            "row": f"page: {label}", "n": f"{small:,} -> {big:,}",
            "value": f"{before['median'] * 1000:.1f} -> {after['median'] * 1000:.1f} ms",
            "ratio": ratio, "target": PAGE_TARGET if judged else None, "extra_ok": same or not judged,
            "note": f"queries {before['queries']} -> {after['queries']}" + ("" if same else " (NOT EQUAL)"),
        })  # fmt: skip
    for what, target, values in (
        ("preview (send form and draft)", PREVIEW_TARGET, result["previews"]),
        ("recording (ConfirmSendForm.save)", RECORD_TARGET, result["records"]),
    ):
        of_list, pasted = statistics.median(values["list"]), statistics.median(values["pasted"])
        runs = "; ".join(f"{kind} " + ", ".join(f"{s:.2f}" for s in values[kind]) for kind in ("list", "pasted"))
        rows.append({
            "row": f"{what}: {list_size:,}-contact list / {list_size:,} pasted", "n": f"{list_size:,}",
            "value": f"{of_list:.2f} / {pasted:.2f} s", "ratio": of_list / pasted, "target": target,
            "extra_ok": True, "note": f"runs (s): {runs}",
        })  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="200 / 20,000 contacts, a list of 5,000 (smoke run)")
    parser.add_argument("--runs", type=int, default=2, help="previews and recordings of each kind")
    parser.add_argument("--page-runs", type=int, default=11)
    parser.add_argument("--json")
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    small, big, list_size = (200, 20_000, 5_000) if options.quick else (1_000, 1_000_000, 100_000)
    if options.child:
        print(json.dumps(measure(*options.child, options.runs, options.page_runs)))
        return 0
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    name = f"exolve_portal_bench_audiences_{os.getpid()}"
    env = {**os.environ, "DATABASE_URL": f"{server}/{name}", "DJANGO_SETTINGS_MODULE": "exolve_portal.settings"}
    env.update(
        EXOLVE_SANDBOX="on", EXOLVE_CALLING_HOURS="any", DEBUG="on", LANGUAGE_CODE="en",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver", EXOLVE_UPLOAD_MAX_ROWS=str(max(list_size, 10_000)),
    )  # fmt: skip
    python = sys.executable
    started, load = time.perf_counter(), os.getloadavg()[0]
    connect = "import sys,psycopg; c=psycopg.connect(sys.argv[1], autocommit=True); c.execute(sys.argv[2])"
    admin = [python, "-c", connect]
    subprocess.run([*admin, f"{server}/postgres", f"CREATE DATABASE {name}"], check=True)
    try:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        command = [python, __file__, "--child", str(small), str(big), str(list_size)]
        command += ["--runs", str(options.runs), "--page-runs", str(options.page_runs)]
        output = subprocess.run(command, cwd=REPO, env=env, check=False, capture_output=True, text=True)
        if output.returncode:
            print(output.stderr[-3000:], file=sys.stderr)
            return 2
    finally:
        subprocess.run([*admin, f"{server}/postgres", f"DROP DATABASE IF EXISTS {name}"], check=False)
    result = json.loads(output.stdout.strip().splitlines()[-1])
    rows = rows_of(result, small, big, list_size)
    off = False
    for row in rows:
        target, ratio = row["target"], row["ratio"]
        verdict = "reported" if target is None else ("ok" if ratio <= target and row["extra_ok"] else "OFF TARGET")
        if options.quick and target is not None:
            verdict += " (quick: not judged)"
        off |= verdict == "OFF TARGET"
        shown = f"{ratio:.2f} x" + ("" if target is None else f" (<= {target})")
        print(f"{row['row']:<72} {row['value']:>22}  {shown:<14} {verdict}  {row['note']}")
    seeds = result["seed"]
    print(
        f"PostgreSQL; contacts written by COPY in {seeds['small']:.1f} s ({small:,}) and {seeds['big']:.1f} s "
        f"({big - small:,}); total {time.perf_counter() - started:.0f} s; load average {load:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} now, on {os.cpu_count()} CPUs"
    )
    if options.json:
        Path(options.json).write_text(json.dumps({"rows": rows, "result": result}, indent=1))
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
