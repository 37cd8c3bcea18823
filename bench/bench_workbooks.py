#!/usr/bin/env python
"""Reading uploaded workbooks: the worst file of each kind against a normal 10,000-row file (issue 19).

    .venv/bin/python bench/bench_workbooks.py            # about a minute on 2 cores
    .venv/bin/python bench/bench_workbooks.py --runs 3 --json /tmp/workbooks.json

No database, no server. This process builds the files (the hostile ones of
tests/audiences/test_hostile_workbooks.py, files at each limit, a normal 10,000-row file) into a
temporary folder, then starts a fresh interpreter that imports Django, the reader and
openpyxl once and forks one child per reading. A reading is what an upload does with the
file (`read_numbers_and_zones`: the size check, the reader, the phone column, whose values
are kept); the old reader is read by the same phone-column code. The child reports its peak (VmHWM), its
growth over its size when forked, and the time of the reading. Each reading runs `--runs`
times; the median is kept. Targets: peak memory of each file within 1.5 x that of the normal
file, time within 2 x; the normal file no slower than the reader it replaced (openpyxl's
pieces, kept below as it was, in the same run).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MEMORY_TARGET = 1.5
TIME_TARGET = 2.0

# --- The reader this replaced (calls/uploads.py before issue 19), for the comparison only -------------


def old_xlsx_rows(data: bytes):
    """openpyxl's pieces, as calls/uploads.py read workbooks before issue 19 (errors simplified)."""
    import zipfile

    from django.conf import settings
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    from audiences.phones import NotCallable

    class SheetParser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                formula = self.parse_formula(element)
                text = formula if isinstance(formula, str) else "=" + (element.findtext(FORMULA_TAG) or "")
                cell["value"] = NotCallable(text, "formula")
            return cell

    def cell_value(value):
        if value is None:
            return ""
        if isinstance(value, NotCallable):
            return value
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    archive = zipfile.ZipFile(io.BytesIO(data))
    unpacked_limit = 10 * settings.EXOLVE_UPLOAD_MAX_BYTES
    if any(i.file_size > unpacked_limit for i in archive.infolist() if "sharedstrings" in i.filename.lower()):
        raise ValueError("too large")
    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)
    sheets = [rel.target for _sheet, rel in reader.parser.find_sheets() if rel.Type.endswith("/worksheet")]
    sheets = [target for target in sheets if target in reader.valid_files]
    workbook = reader.wb
    with reader.archive.open(sheets[0]) as source:
        parser = SheetParser(
            source,
            reader.shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for _index, cells in parser.parse():
            row = []
            for cell in cells:
                column = cell["column"]
                if column > len(row):
                    row.extend([""] * (column - len(row)))
                row[column - 1] = cell_value(cell["value"])
            yield row
    reader.archive.close()


# --- The files --------------------------------------------------------------------------------------


def normal_file() -> bytes:
    """10,000 people as staff upload them: name, phone (stored as a number), city; made by openpyxl."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Phone", "City"])
    for n in range(10_000):
        sheet.append([f"Person {n}", 79990000000 + n, "Moscow"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def files_at_the_limits() -> dict[str, bytes]:
    """Files that pass every check of the archive and stop at (or just under) a limit of the reading."""
    from audiences.workbooks import WorkbookLimits
    from tests.audiences.test_hostile_workbooks import sheet_xml, strings_xml, workbook

    limits = WorkbookLimits.from_settings()
    shared = "".join(f"<si><t>7999{n:07d}</t></si>" for n in range(limits.shared_strings + 1))
    numbers = "".join(f'<row r="{r}"><c r="A{r}"><v>{79990000000 + r}</v></c></row>' for r in range(1, 10_001))
    empty = "".join(f'<row r="{r}"/>' for r in range(10_001, limits.rows + 2))
    width = limits.cells // 10_000  # 8 at the defaults
    header = (
        '<row r="1">'
        + "".join(
            f'<c t="inlineStr"><is><t>{name}</t></is></c>'
            for name in ["Phone"] + [f"Column {c}" for c in range(1, width)]
        )
        + "</row>"
    )
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    dense = header + "".join(  # cells with their references, as Excel and openpyxl write them
        f'<row r="{r}">'
        + "".join(f'<c r="{letters[c]}{r}"><v>{79990000000 + r * 100 + c}</v></c>' for c in range(width))
        + "</row>"
        for r in range(2, 10_001)
    )
    # Texts as long as Excel allows, random (they pack like real text), up to the sheet's characters.
    count = limits.sheet_characters // 30_000 + 1
    texts = (random.Random(n).randbytes(15_000).hex() for n in range(count))
    long_rows = "".join(f'<row><c t="inlineStr"><is><t>{text}</t></is></c></row>' for text in texts)
    return {
        "at the limit: shared strings": workbook(
            sheet_xml('<row><c t="s"><v>0</v></c></row>'), strings=strings_xml(shared)
        ),
        "at the limit: rows (10,000 numbers, then empty)": workbook(sheet_xml(numbers + empty)),
        f"at the limit: cells (10,000 rows x {width})": workbook(sheet_xml(dense)),
        "at the limit: characters of the sheet": workbook(sheet_xml(long_rows)),
    }


# --- Measuring, in children of a fresh interpreter -------------------------------------------------

MEASURE = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from audiences.uploads import UploadError, _phone_column, read_numbers_and_zones
import openpyxl.reader.excel  # imported before the forks: the old reader needs it
from bench_workbooks import old_xlsx_rows

# What an upload does with the file: the new reader through the upload path, the old one under the same column reading.
READERS = {
    "new": lambda data: read_numbers_and_zones(SimpleUploadedFile("list.xlsx", data))[0],
    "old": lambda data: _phone_column(old_xlsx_rows(data), {}),
}
translation.activate("en")

def status_kb(field):
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith(field + ":")).split()[1])

for line in sys.stdin:
    reader, path = json.loads(line)
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reading)
        size_at_start, started = status_kb("VmRSS"), time.perf_counter()
        with open(path, "rb") as source:
            data = source.read()
        try:
            outcome = f"{len(READERS[reader](data))} numbers"
        except UploadError as exc:
            outcome = "refused: " + str(exc)[:90]
        seconds, peak = time.perf_counter() - started, status_kb("VmHWM")
        with os.fdopen(writing, "w") as out:
            json.dump({"outcome": outcome, "seconds": seconds, "peak_mb": peak / 1024,
                       "grew_mb": (peak - size_at_start) / 1024}, out)
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as source:
        print(source.read(), flush=True)
    os.waitpid(pid, 0)
"""


def measure(jobs: list[tuple[str, Path]]) -> list[dict]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "exolve_portal.settings", "PYTHONPATH": str(REPO / "bench")}
    finished = subprocess.run(
        [sys.executable, "-c", MEASURE, str(REPO)],
        input="".join(json.dumps([reader, str(path)]) + "\n" for reader, path in jobs),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    return [json.loads(line) for line in finished.stdout.splitlines()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="readings of each file; the median is kept")
    parser.add_argument("--json", help="also write the results to this file")
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exolve_portal.settings")
    import django

    django.setup()
    from tests.audiences.test_hostile_workbooks import hostile_files

    files = {"normal 10,000 rows": normal_file()}
    files.update({kind: data for kind, (data, _expected) in hostile_files().items()})
    files.update(files_at_the_limits())
    with tempfile.TemporaryDirectory(prefix="bench-workbooks-") as folder:
        paths = {}
        for index, (kind, data) in enumerate(files.items()):
            paths[kind] = Path(folder, f"{index}.xlsx")
            paths[kind].write_bytes(data)
        sizes = {kind: len(data) for kind, data in files.items()}
        del files
        jobs = [("old", paths["normal 10,000 rows"])] + [("new", path) for path in paths.values()]
        # Interleaved runs: a slow moment of the machine falls on every file alike.
        reports = measure(jobs * options.runs)
    results = {}
    for index, (reader, path) in enumerate(jobs):
        kind = next(k for k, p in paths.items() if p == path) + (" (old reader)" if reader == "old" else "")
        runs = reports[index :: len(jobs)]
        results[kind] = {
            "bytes": sizes[kind.removesuffix(" (old reader)")],
            "outcome": runs[0]["outcome"],
            "seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mb": statistics.median(r["peak_mb"] for r in runs),
            "grew_mb": statistics.median(r["grew_mb"] for r in runs),
        }
    normal = results["normal 10,000 rows"]
    print(f"{'file':50} {'bytes':>9} {'peak MB':>8} {'x':>5} {'grew MB':>8} {'s':>6} {'x':>5}  outcome")
    failures = 0
    for kind, result in results.items():
        result["peak_ratio"] = result["peak_mb"] / normal["peak_mb"]
        result["time_ratio"] = result["seconds"] / normal["seconds"]
        if kind.endswith("(old reader)"):
            result["target"] = "reference: the new reader's time over this <= 1.00"
            ok = normal["seconds"] <= result["seconds"]
        else:
            ok = result["peak_ratio"] <= MEMORY_TARGET and result["time_ratio"] <= TIME_TARGET
        failures += not ok
        print(
            f"{kind:50} {result['bytes']:>9} {result['peak_mb']:>8.1f} {result['peak_ratio']:>5.2f} "
            f"{result['grew_mb']:>8.1f} {result['seconds']:>6.3f} {result['time_ratio']:>5.2f}  "
            f"{result['outcome'][:70]}{'' if ok else '  <- OFF TARGET'}"
        )
    old = results["normal 10,000 rows (old reader)"]
    print(
        f"\nnormal file, new reader over the old one: time {normal['seconds'] / old['seconds']:.2f} x, "
        f"peak {normal['peak_mb'] / old['peak_mb']:.2f} x"
    )
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
