#!/usr/bin/env python
"""Recording a broadcast to a 10,000-contact list (issue 23), against a bare bulk insert of the same calls.

    .venv/bin/python bench/bench_send_to_list.py                  # PostgreSQL, about a minute on 2 cores
    .venv/bin/python bench/bench_send_to_list.py --contacts 2000  # a smoke run

A database of its own (`exolve_portal_bench_lists_<pid>` on BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432), migrated in a subprocess and dropped at the end. One
process: N contacts in a list, each with a consent in force for "information", written by
bulk_create (not measured). Then, alternately, `--runs` times each (the medians compared):

- the preview: `list_recipients([list], "information")` (consents, stop list, limits), reported;
- the recording: `create_broadcast(..., contacts=..., audiences=...)` of the contacts to call, as
  the confirmation runs it (numbers normalised again, the stop list, the consents checked again,
  the contacts' names and fields read, each call's zone and first time, the audit entry), committed;
- the floor: a bare `Call.objects.bulk_create` of the same calls (destination, contact, details,
  broadcast), in one transaction;
- for reference, the same numbers recorded as if typed (`create_broadcast` without contacts).

Target: the recording within 1.5 x the floor. Exits 1 when off target.
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
TARGET = 1.5


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def seed(count: int):
    import datetime

    from audiences.contact_models import Consent, Contact, ContactList, Membership
    from voicemessages.models import VoiceMessage

    club = ContactList.objects.create(name="bench")
    Contact.objects.bulk_create(
        [Contact(number=f"7916{i:07d}", name=f"Житель {i}", extra={"квартира": str(i % 300)}) for i in range(count)],
        batch_size=1000,
    )
    ids = list(Contact.objects.values_list("pk", flat=True))
    Membership.objects.bulk_create([Membership(contact_list=club, contact_id=pk) for pk in ids], batch_size=1000)
    given = datetime.date(2026, 11, 1)
    Consent.objects.bulk_create(
        [Consent(contact_id=pk, purpose="information", kind="written", given_at=given) for pk in ids], batch_size=1000
    )
    VoiceMessage.objects.bulk_create([VoiceMessage(name="bench", media_id=1967, exolve_id="bench-vm")])
    return club, VoiceMessage.objects.get(exolve_id="bench-vm")


def record(found, voice_message, source, user):
    """What the confirmation does: the broadcast recorded from the preview's contacts, committed."""
    from calls.plan_form import SendPlan
    from calls.recording import create_broadcast, new_token

    plan = SendPlan(calling_hours="any", basis="consent")
    return create_broadcast(
        voice_message, source, list(found.to_call), user, new_token(), plan=plan,
        contacts=found.to_call, audiences=found.record(),
    )  # fmt: skip


def record_typed(found, voice_message, source, user):
    """The same numbers recorded as if typed on the send page (no contacts): each parsed, no consent read."""
    from calls.plan_form import SendPlan
    from calls.recording import create_broadcast, new_token

    plan = SendPlan(calling_hours="any", basis="consent")
    return create_broadcast(voice_message, source, list(found.to_call), user, new_token(), plan=plan)


def bare(found, voice_message, source):
    """The floor: the same calls (number, contact, name) bulk-inserted in one transaction."""
    from django.db import transaction

    from calls.models import Broadcast, Call
    from calls.recording import new_token

    with transaction.atomic():
        floor = Broadcast.objects.create(service_id="bench-vm", source=source, token=new_token())
        calls = [
            Call(broadcast=floor, voice_message=voice_message, service_id="bench-vm", source=source,
                 destination=number, contact_id=pk, needs_consent=True, details={"name": f"Житель {pk}"})
            for number, pk in found.to_call.items()
        ]  # fmt: skip
        Call.objects.bulk_create(calls, batch_size=500)


def measure(count: int, runs: int) -> list[dict]:
    import django

    django.setup()
    from django.db import connection

    from calls.audience_recipients import list_recipients
    from exolve_portal.exolve.sandbox_account import SANDBOX_SOURCE_NUMBERS
    from tests.factories import make_staff

    user = make_staff("bench", perms=("calls.send_voicemessage",))
    club, voice_message = seed(count)
    source = SANDBOX_SOURCE_NUMBERS[0]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    previews, recordings, typed, floors = [], [], [], []
    for _run in range(runs):
        seconds, found = timed(lambda: list_recipients([club], "information"))
        previews.append(seconds)
        assert len(found.to_call) == count, found.counts
        seconds, broadcast = timed(lambda found=found: record(found, voice_message, source, user))
        recordings.append(seconds)
        assert broadcast.calls.filter(state="queued").count() == count
        floors.append(timed(lambda found=found: bare(found, voice_message, source))[0])
        typed.append(timed(lambda found=found: record_typed(found, voice_message, source, user))[0])
    preview, recording, floor = (statistics.median(values) for values in (previews, recordings, floors))
    pasted = statistics.median(typed)
    return [
        {"row": f"preview: list_recipients of {count:,} contacts", "seconds": preview, "ratio": None},
        {"row": f"floor: bulk_create of {count:,} calls", "seconds": floor, "ratio": None},
        {"row": f"recording a broadcast to {count:,} contacts", "seconds": recording, "ratio": recording / floor},
        {"row": f"reference: recording {count:,} typed numbers", "seconds": pasted, "ratio": None,
         "note": f"the list's recording is {recording / pasted:.2f} x this"},
        {"row": "every run (preview, recording, floor)", "seconds": 0.0, "ratio": None,
         "runs": [previews, recordings, floors, typed]},
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(measure(options.contacts, options.runs)))
        return 0
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    name = f"exolve_portal_bench_lists_{os.getpid()}"
    env = {**os.environ, "DATABASE_URL": f"{server}/{name}", "DJANGO_SETTINGS_MODULE": "exolve_portal.settings"}
    env.update(EXOLVE_SANDBOX="on", EXOLVE_CALLING_HOURS="any")
    python = sys.executable
    connect = "import sys,psycopg; c=psycopg.connect(sys.argv[1], autocommit=True); c.execute(sys.argv[2])"
    admin = [python, "-c", connect]
    subprocess.run([*admin, f"{server}/postgres", f"CREATE DATABASE {name}"], check=True)
    try:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        command = [python, __file__, "--child", "--contacts", str(options.contacts), "--runs", str(options.runs)]
        output = subprocess.run(command, cwd=REPO, env=env, check=False, capture_output=True, text=True)
        if output.returncode:
            print(output.stderr[-3000:], file=sys.stderr)
            return 2
    finally:
        subprocess.run([*admin, f"{server}/postgres", f"DROP DATABASE IF EXISTS {name}"], check=False)
    rows = json.loads(output.stdout.strip().splitlines()[-1])
    off = False
    for row in rows:
        if "runs" in row:
            print("runs (s):", "; ".join(", ".join(f"{s:.2f}" for s in values) for values in row["runs"]))
            continue
        ratio = row["ratio"]
        verdict = "" if ratio is None else ("ok" if ratio <= TARGET else "OFF TARGET")
        off |= verdict == "OFF TARGET"
        shown = "" if ratio is None else f"{ratio:.2f} x floor (target <= {TARGET})"
        print(f"{row['row']:<50} {row['seconds']:8.2f} s  {shown} {verdict} {row.get('note', '')}")
    if options.json:
        Path(options.json).write_text(json.dumps(rows, indent=1))
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
