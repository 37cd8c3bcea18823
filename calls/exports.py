"""CSV and XLSX export of calls that streams: rows are read in chunks and never all held.

- CSV: a StreamingHttpResponse over `values_list(...).iterator(chunk_size=...)`.
- XLSX: openpyxl's write-only workbook, filled chunk by chunk and written to a
  temporary file, then sent with FileResponse (the file goes away when closed).

Every text cell is neutralised against spreadsheet formulas: one that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, so a number
typed as "+7 999..." or a name like "=HYPERLINK(...)" is shown, never run.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CallState, Purpose
from .outcomes import outcome_expression, outcome_label
from .statuses import status_label

CHUNK_SIZE = 2000
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# (header, value expression or field path), in column order.
COLUMNS = [
    (_("call no."), "pk"),
    (_("queued"), "queued_at"),
    (_("number"), "destination"),
    (_("voice message"), "export_message"),
    (_("broadcast"), "broadcast_id"),
    (_("from"), "source"),
    (_("state"), "state"),
    (_("outcome"), "export_outcome"),
    (_("Exolve status"), "status"),
    (_("duration (s)"), "duration"),
    (_("started"), "started"),
    (_("ended"), "ended"),
    (_("Exolve call id"), "call_id"),
    (_("sent by"), "requested_by__username"),
    (_("last error"), "error"),
    (_("attempt"), "attempt"),
    (_("purpose"), "broadcast__purpose"),
]
_PURPOSE_LABELS = dict(Purpose.choices)
_STATE_LABELS = dict(CallState.choices)


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def export_rows(queryset) -> Iterator[tuple]:
    """The export's rows for `queryset`, read `CHUNK_SIZE` at a time (no model instances)."""
    rows = (
        queryset.order_by("-queued_at", "-pk")
        .annotate(
            export_message=Coalesce(
                F("voice_message__name"), NullIf(F("broadcast__voice_message_name"), Value("")), F("service_id")
            ),
            export_outcome=outcome_expression(),
        )
        .values_list(*[field for _header, field in COLUMNS])
    )
    state_index = _index("state")
    outcome_index = _index("export_outcome")
    purpose_index = _index("broadcast__purpose")
    status_index = _index("status")
    labels = {state: str(label) for state, label in _STATE_LABELS.items()}
    purposes = {purpose: str(label) for purpose, label in _PURPOSE_LABELS.items()}
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        row = list(row)
        row[state_index] = labels.get(row[state_index], row[state_index])
        row[outcome_index] = outcome_label(row[outcome_index])
        row[status_index] = status_label(row[status_index])
        row[purpose_index] = purposes.get(row[purpose_index], row[purpose_index] or "")
        yield tuple(row)


def _index(field: str) -> int:
    return [name for _header, name in COLUMNS].index(field)


def headers() -> list[str]:
    return [str(header) for header, _field in COLUMNS]


def _local(value: datetime) -> datetime:
    """A naive local datetime (spreadsheets have no time zones)."""
    return timezone.localtime(value).replace(tzinfo=None)


def csv_cells(row: Iterable) -> list:
    cells = []
    for value in row:
        if value is None:
            cells.append("")
        elif isinstance(value, datetime):
            cells.append(_local(value).strftime("%Y-%m-%d %H:%M:%S"))
        else:
            cells.append(neutralise(value))
    return cells


def xlsx_cells(row: Iterable) -> list:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cells = []
    for value in row:
        if isinstance(value, datetime):
            value = _local(value)
        elif isinstance(value, str):
            # Control characters make openpyxl refuse the whole file.
            value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
        cells.append(value)
    return cells


class _Echo:
    """A file-like object whose write() hands the line back (csv.writer writes, we yield)."""

    def write(self, value):
        return value


def stream_csv(queryset, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        # A byte-order mark so spreadsheet programs read the file as UTF-8 (Cyrillic names).
        yield "\ufeff" + writer.writerow([neutralise(h) for h in headers()])
        for row in export_rows(queryset):
            yield writer.writerow(csv_cells(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_file(queryset, filename: str) -> FileResponse:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(_("Calls"))[:31])
    header_cells = []
    for header in headers():
        cell = WriteOnlyCell(sheet, value=neutralise(header))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in export_rows(queryset):
        sheet.append(xlsx_cells(row))
    # Anonymous temporary file: removed by the OS once FileResponse closes it.
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def export_filename(extension: str, stem: str = "calls") -> str:
    return f"{stem}-{timezone.localtime():%Y%m%d-%H%M}.{extension}"
