"""Stop-list numbers in and out of files, for the admin's import and export and `manage.py stop_list`.

Import reads a CSV or XLSX file (calls.uploads) and/or pasted numbers, normalises each
one (calls.phones) and puts the valid ones on the list through `stop_list.add` (which
audits them). Export writes number, reason, note, added by and added at, as CSV or
XLSX (CSV for Excel too), written by calls.spreadsheets like the calls export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import spreadsheets, stop_list
from .exports import CHUNK_SIZE, export_filename
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


def write_file(handle, file_format: str, queryset=None) -> int:
    """Write the export to a binary `handle` in `file_format`; returns the number of rows."""
    return spreadsheets.write(
        handle, file_format, title=gettext("Stop list"), headers=headers(), rows=export_rows(queryset)
    )


def export_response(file_format: str, queryset=None):
    """The export as a download: CSV streamed, XLSX built in a temporary file then sent."""
    return spreadsheets.response(
        file_format,
        title=gettext("Stop list"),
        headers=headers(),
        rows=export_rows(queryset),
        filename=export_filename(file_format, "stop-list"),
    )
