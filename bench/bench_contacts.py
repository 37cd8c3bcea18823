#!/usr/bin/env python
"""Importing 100,000 contacts into a list (issue 23), against a bare bulk_create of the same rows.

    .venv/bin/python bench/bench_contacts.py                 # PostgreSQL, about 3 minutes on 2 cores
    .venv/bin/python bench/bench_contacts.py --rows 10000    # a smoke run

A database of its own (`exolve_portal_bench_contacts_<pid>` on BENCH_POSTGRES_URL,
default postgres://postgres@127.0.0.1:5432), migrated in a subprocess and dropped at
the end, with EXOLVE_UPLOAD_MAX_ROWS and _BYTES raised to the file. One process, in
this order: the CSV file (phone, name, two other columns) is read by the bounded reader
(`rows_from_file`, reported); the floor: a bare `bulk_create` of the same contacts
(numbers already normalised, names and fields as read) and of their memberships of the
list, then the tables emptied; the import: `contacts_import.merge` of the rows into a
list, as the background job runs it (normalising, merging, the membership, the audit
trail); the same rows merged again (every contact unchanged). Targets: the import and
the merge again each within 1.5 x the floor. Exits 1 when a row is off target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TARGET = 1.5


def csv_text(rows: int) -> str:
    lines = ["телефон,ФИО,квартира,подъезд"]
    lines += [
        f"+7 (916) {i // 10000:03d}-{i // 100 % 100:02d}-{i % 100:02d},Житель {i},{i % 300},{i % 8}"
        for i in range(rows)
    ]
    return "\n".join(lines) + "\n"


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def measure(rows: int) -> list[dict]:
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    from audiences.contacts_import import merge, rows_from_file
    from audiences.models import Contact, ContactList, Membership
    from audiences.phones import normalize
    from tests.factories import make_staff

    user = make_staff("bench")
    data = csv_text(rows).encode()
    read, parsed = timed(lambda: rows_from_file(SimpleUploadedFile("people.csv", data)))
    bare = [
        Contact(number=normalize(r.raw), name=r.name, extra=r.extra, created_by=user, updated_by=user) for r in parsed
    ]
    contact_list = ContactList.objects.create(name="bench")
    contacts_only, _ = timed(lambda: Contact.objects.bulk_create(bare, batch_size=500))
    members = [Membership(contact_list=contact_list, contact=contact, added_by=user) for contact in bare]
    floor = contacts_only + timed(lambda: Membership.objects.bulk_create(members, batch_size=500))[0]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audiences_contact CASCADE")
    first, result = timed(lambda: merge(parsed, contact_list, user=user))
    assert result.added == rows, result
    again, result = timed(lambda: merge(parsed, contact_list, user=user))
    assert result.unchanged == rows, result
    return [
        {"row": f"read the CSV of {rows:,} rows (bounded reader)", "seconds": read, "ratio": None},
        {"row": f"bare bulk_create of {rows:,} contacts", "seconds": contacts_only, "ratio": None},
        {"row": "floor: the same and their list memberships", "seconds": floor, "ratio": None},
        {"row": f"import {rows:,} contacts into a list (merge)", "seconds": first, "ratio": first / floor},
        {"row": "the same rows merged again (all unchanged)", "seconds": again, "ratio": again / floor},
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(measure(options.rows)))
        return 0
    server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    name = f"exolve_portal_bench_contacts_{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": f"{server}/{name}",
        "DJANGO_SETTINGS_MODULE": "exolve_portal.settings",
        # The file's limits raised to the import's size (the defaults are 10,000 rows, 5 MB).
        "EXOLVE_UPLOAD_MAX_ROWS": str(max(options.rows, 10_000)),
        "EXOLVE_UPLOAD_MAX_BYTES": str(max(options.rows * 100, 5_242_880)),
    }
    python = sys.executable
    admin = [
        python,
        "-c",
        "import sys,psycopg; c=psycopg.connect(sys.argv[1], autocommit=True); c.execute(sys.argv[2])",
    ]
    subprocess.run([*admin, f"{server}/postgres", f"CREATE DATABASE {name}"], check=True)
    try:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        output = subprocess.run(
            [python, __file__, "--child", "--rows", str(options.rows)],
            cwd=REPO,
            env=env,
            check=False,
            capture_output=True,
            text=True,
        )
        if output.returncode:
            print(output.stderr[-3000:], file=sys.stderr)
            return 2
        output = output.stdout
    finally:
        subprocess.run([*admin, f"{server}/postgres", f"DROP DATABASE IF EXISTS {name}"], check=False)
    rows = json.loads(output.strip().splitlines()[-1])
    off = False
    for row in rows:
        ratio = row["ratio"]
        verdict = "" if ratio is None else ("ok" if ratio <= TARGET else "OFF TARGET")
        off |= verdict == "OFF TARGET"
        shown = "" if ratio is None else f"{ratio:.2f} x floor (target <= {TARGET})"
        print(f"{row['row']:<55} {row['seconds']:8.2f} s  {shown} {verdict}")
    if options.json:
        Path(options.json).write_text(json.dumps(rows, indent=1))
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
