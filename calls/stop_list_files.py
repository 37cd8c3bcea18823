"""Stop-list numbers in and out of files, for the admin's import and export and `manage.py stop_list`.

Import reads a CSV or XLSX file (calls.uploads) and/or pasted numbers, normalises each
one (calls.phones) and puts the valid ones on the list through `stop_list.add` (which
audits them). Export writes number, reason, note, added by and added at, as CSV or
XLSX, with every text cell neutralised against spreadsheet formulas (calls.exports).
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field

from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from . import stop_list
from .exports import CHUNK_SIZE, csv_cells, export_filename, neutralise, xlsx_cells
from .models import StopListEntry, StopListReason
from .phones import parse_numbers

# (header, field path), in column order.
COLUMNS = [
    (_("number"), "number"),
    (_("reason"), "reason"),
    (_("note"), "note"),
    (_("added by"), "added_by__username"),
    (_("added at"), "added_at"),
]
FORMATS = ("csv", "xlsx")


@dataclass
class ImportResult:
    """What an import did: how many numbers were added, already listed, unreadable."""

    added: int = 0
    already_listed: int = 0
    duplicates: int = 0  # numbers given more than once, put on the list once
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (as given, reason)


def import_numbers(values, *, reason: str = StopListReason.ASKED, note: str = "", user=None) -> ImportResult:
    """Put the valid numbers of `values` (as typed or read from a file) on the stop list."""
    parsed = parse_numbers(values)
    added = stop_list.add(parsed.valid, reason=reason, note=note, user=user)
    return ImportResult(
        added=added,
        already_listed=len(parsed.valid) - added,
        duplicates=len(parsed.duplicates),
        invalid=parsed.invalid,
    )


def headers() -> list[str]:
    return [str(header) for header, _field in COLUMNS]


def export_rows(queryset=None):
    """The export's rows, read CHUNK_SIZE at a time (no model instances)."""
    queryset = StopListEntry.objects.all() if queryset is None else queryset
    labels = {value: str(label) for value, label in StopListReason.choices}
    rows = queryset.order_by("number").values_list(*[path for _header, path in COLUMNS])
    for number, reason, note, added_by, added_at in rows.iterator(chunk_size=CHUNK_SIZE):
        yield number, labels.get(reason, reason), note, added_by or "", added_at


def write_csv(handle, queryset=None) -> int:
    """Write the export as CSV to a text `handle`; returns the number of rows."""
    writer = csv.writer(handle)
    # A byte-order mark so spreadsheet programs read the file as UTF-8 (Cyrillic notes).
    handle.write("\ufeff")
    writer.writerow([neutralise(h) for h in headers()])
    count = 0
    for row in export_rows(queryset):
        writer.writerow(csv_cells(row))
        count += 1
    return count


def write_xlsx(handle, queryset=None) -> int:
    """Write the export as XLSX to a binary `handle`; returns the number of rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(_("Stop list"))[:31])
    header_cells = []
    for header in headers():
        cell = WriteOnlyCell(sheet, value=neutralise(header))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in export_rows(queryset):
        sheet.append(xlsx_cells(row))
        count += 1
    workbook.save(handle)
    return count


class _Echo:
    """A file-like object whose write() hands the line back (csv.writer writes, we yield)."""

    def write(self, value):
        return value


def csv_response(queryset=None) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow([neutralise(h) for h in headers()])
        for row in export_rows(queryset):
            yield writer.writerow(csv_cells(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename("csv", "stop-list")}"'
    return response


def xlsx_response(queryset=None) -> FileResponse:
    # Anonymous temporary file: removed by the OS once FileResponse closes it.
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    write_xlsx(handle, queryset)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=export_filename("xlsx", "stop-list"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
