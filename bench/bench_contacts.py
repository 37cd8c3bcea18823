#!/usr/bin/env python
"""Importing 100,000 contacts into a list (issue 23), against a bare bulk_create of the same rows.

    .venv/bin/python bench/bench_contacts.py                 # PostgreSQL, CSV and XLSX, about 5 minutes on 2 cores
    .venv/bin/python bench/bench_contacts.py --formats xlsx  # the XLSX rows only, about 3 minutes
    .venv/bin/python bench/bench_contacts.py --quick         # a smoke run (--quick: 10,000 rows)

A database of its own (`exolve_portal_bench_contacts_<pid>` on BENCH_POSTGRES_URL,
default postgres://postgres@127.0.0.1:5432), migrated in a subprocess and dropped at
the end, with EXOLVE_UPLOAD_MAX_ROWS and _BYTES raised to the file. One process, in
this order: the CSV file (phone, name, two other columns) is read by the bounded reader
(`rows_from_file`, reported); the floor: a bare `bulk_create` of the same contacts
(numbers already normalised, names and fields as read) and of their memberships of the
list (building the model instances from the rows included), then the tables emptied; the
import: `contacts_import.merge` of the rows into a list (normalising, merging, the
membership, the audit trail); the same rows merged again (every contact unchanged).
The XLSX file (the same rows written by openpyxl, the phone as typed) is imported as
the background job runs it: read by the bounded reader, the job recorded with its rows
(`contact_jobs.start_import`, reported) and run by `jobs.tasks.run_job` (claimed,
`merge` with progress, result written); then again with every contact unchanged. The
tables are emptied between the formats. Targets: each import and each merge again
within 1.5 x the floor. Exits 1 when a row is off target.
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


def xlsx_bytes(rows: int) -> bytes:
    """The same rows as `csv_text`, in a workbook (openpyxl, write-only: shared strings, numbers as numbers)."""
    import io

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["телефон", "ФИО", "квартира", "подъезд"])
    for i in range(rows):
        sheet.append([f"+7 (916) {i // 10000:03d}-{i // 100 % 100:02d}-{i % 100:02d}", f"Житель {i}", i % 300, i % 8])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run_as_job(parsed, contact_list, user):
    """What the background job does: recorded with its rows (as the page does), then run as the worker runs it."""
    from audiences.contact_jobs import start_import
    from jobs.models import Job
    from jobs.tasks import run_job

    recorded, job = timed(lambda: start_import(parsed, contact_list, user=user))
    ran, outcome = timed(lambda: run_job.call(job.pk))
    job = Job.objects.get(pk=job.pk)
    assert outcome["ran"] and job.state == "done", (outcome, job.state, job.error)
    return recorded, ran, job.result


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def measure(rows: int, formats: list[str]) -> list[dict]:
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
    numbers = [normalize(r.raw) for r in parsed]  # the floor's numbers are given normalised (not timed)
    contact_list = ContactList.objects.create(name="bench")

    def bare_contacts():  # the model instances built from the rows, then inserted
        people = [
            Contact(number=number, name=r.name, extra=r.extra, created_by=user, updated_by=user)
            for number, r in zip(numbers, parsed, strict=True)
        ]
        return Contact.objects.bulk_create(people, batch_size=500)

    contacts_only, bare = timed(bare_contacts)

    def bare_members():
        members = [Membership(contact_list=contact_list, contact=contact, added_by=user) for contact in bare]
        return Membership.objects.bulk_create(members, batch_size=500)

    floor = contacts_only + timed(bare_members)[0]
    out = [
        {"row": f"bare bulk_create of {rows:,} contacts", "seconds": contacts_only, "ratio": None},
        {"row": "floor: the same and their list memberships", "seconds": floor, "ratio": None},
    ]

    def empty():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE audiences_contact CASCADE")

    empty()
    if "csv" in formats:
        first, result = timed(lambda: merge(parsed, contact_list, user=user))
        assert result.added == rows, result
        again, result = timed(lambda: merge(parsed, contact_list, user=user))
        assert result.unchanged == rows, result
        out[:0] = [{"row": f"read the CSV of {rows:,} rows (bounded reader)", "seconds": read, "ratio": None}]
        out += [
            {"row": f"import {rows:,} contacts into a list (merge)", "seconds": first, "ratio": first / floor},
            {"row": "the same rows merged again (all unchanged)", "seconds": again, "ratio": again / floor},
        ]
        empty()
    if "xlsx" in formats:
        out += measure_xlsx(rows, parsed, contact_list, user, floor)
    return out


def measure_xlsx(rows: int, parsed, contact_list, user, floor: float) -> list[dict]:
    """The same rows in a workbook, imported as the background job runs it, twice."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from audiences.contacts_import import rows_from_file

    book = xlsx_bytes(rows)
    read, from_book = timed(lambda: rows_from_file(SimpleUploadedFile("people.xlsx", book)))
    assert [(r.raw, r.name, r.extra) for r in from_book] == [(r.raw, r.name, r.extra) for r in parsed]
    recorded, first, result = run_as_job(from_book, contact_list, user)
    assert result["added"] == rows, result
    recorded_again, again, result = run_as_job(from_book, contact_list, user)
    assert result["unchanged"] == rows, result
    return [
        {"row": f"read the XLSX of {rows:,} rows ({len(book):,} bytes)", "seconds": read, "ratio": None},
        {"row": "XLSX: the job recorded with its rows", "seconds": recorded, "ratio": None},
        {"row": f"XLSX: the job run, {rows:,} contacts added", "seconds": first, "ratio": first / floor},
        {"row": "XLSX: recorded again", "seconds": recorded_again, "ratio": None},
        {"row": "XLSX: the job run again (all unchanged)", "seconds": again, "ratio": again / floor},
    ]


def print_rows(rows: list[dict], quick: bool) -> bool:
    """Print the table; whether a row is off target (never with --quick)."""
    off = False
    for row in rows:
        ratio = row["ratio"]
        verdict = "" if ratio is None else ("ok" if ratio <= TARGET else "OFF TARGET")
        if quick and verdict:
            verdict += " (quick: not judged)"
        off |= verdict == "OFF TARGET"
        shown = "" if ratio is None else f"{ratio:.2f} x floor (target <= {TARGET})"
        print(f"{row['row']:<55} {row['seconds']:8.2f} s  {shown} {verdict}")
    return off


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx", help="csv, xlsx or both (comma-separated)")
    parser.add_argument("--quick", action="store_true", help="10,000 rows: a smoke run (ratios not meaningful)")
    parser.add_argument("--json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.quick:
        options.rows = min(options.rows, 10_000)
    formats = [part.strip() for part in options.formats.split(",") if part.strip() in ("csv", "xlsx")]
    if options.child:
        print(json.dumps(measure(options.rows, formats)))
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
    started, load = time.perf_counter(), os.getloadavg()[0]
    admin = [
        python,
        "-c",
        "import sys,psycopg; c=psycopg.connect(sys.argv[1], autocommit=True); c.execute(sys.argv[2])",
    ]
    subprocess.run([*admin, f"{server}/postgres", f"CREATE DATABASE {name}"], check=True)
    try:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        output = subprocess.run(
            [python, __file__, "--child", "--rows", str(options.rows), "--formats", ",".join(formats)],
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
    off = print_rows(rows, options.quick)
    print(
        f"PostgreSQL, {options.rows:,} rows, {', '.join(formats)}; total {time.perf_counter() - started:.0f} s; "
        f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} now, on {os.cpu_count()} CPUs"
    )
    if options.json:
        Path(options.json).write_text(json.dumps(rows, indent=1))
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
