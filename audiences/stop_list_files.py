"""Stop-list numbers in and out of files, for the admin's import and export and `manage.py stop_list`.

Import reads a CSV or XLSX file (audiences.uploads) and/or pasted numbers, normalises each
one (audiences.phones) and puts the valid ones on the list through `stop_list.add` (which
audits them). Export writes number, reason, note, added by and added at, as CSV or
XLSX (CSV for Excel too), written by exolve_portal.spreadsheets like the calls export.

An import is read STOP_LIST_IMPORT_CHUNK numbers at a time, in time linear in its
length; the admin puts more than STOP_LIST_IN_REQUEST numbers on the list in a
background job (audiences.stop_list_jobs) with a progress page, and no import holds more
than STOP_LIST_MAX_NUMBERS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from exolve_portal import spreadsheets
from exolve_portal.spreadsheets import CHUNK_SIZE, export_filename

from . import stop_list
from .models import StopListEntry, StopListReason
from .phones import CHARS_PER_NUMBER, NotCallable, TooManyNumbers, parse_numbers

# An import of more numbers than this (or of more text than they take) runs in the background.
STOP_LIST_IN_REQUEST = 5_000
# No import holds more numbers than this (the pasted text has EXOLVE_UPLOAD_MAX_BYTES too).
STOP_LIST_MAX_NUMBERS = 1_000_000
# Numbers parsed and put on the list at a time (one progress step of a job).
STOP_LIST_IMPORT_CHUNK = 5_000

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


def import_numbers(
    values, *, reason: str = StopListReason.ASKED, note: str = "", user=None, progress=None
) -> ImportResult:
    """Put the valid numbers of `values` (as typed or read from a file) on the stop list.

    Read STOP_LIST_IMPORT_CHUNK at a time; `progress(done, total)` is called after each.
    Raises TooManyNumbers above STOP_LIST_MAX_NUMBERS and LineTooLong for a value longer
    than any number (audiences.phones), before anything is added.
    """
    values = list(values)
    if len(values) > STOP_LIST_MAX_NUMBERS:
        raise TooManyNumbers(too_many_message())
    result = ImportResult()
    seen: set[str] = set()
    for start in range(0, len(values), STOP_LIST_IMPORT_CHUNK):
        parsed = parse_numbers(values[start : start + STOP_LIST_IMPORT_CHUNK])
        fresh = [number for number in parsed.valid if number not in seen]
        seen.update(fresh)
        added = stop_list.add(fresh, reason=reason, note=note, user=user)
        result.added += added
        result.already_listed += len(fresh) - added
        result.duplicates += len(parsed.duplicates) + len(parsed.valid) - len(fresh)
        result.invalid += parsed.invalid
        if progress is not None:
            progress(min(start + STOP_LIST_IMPORT_CHUNK, len(values)), len(values))
    return result


def runs_in_background(values) -> bool:
    """Whether an import of `values` is too long for a request: many numbers, or long text."""
    if len(values) > STOP_LIST_IN_REQUEST:
        return True
    chars = sum(len(value.raw if isinstance(value, NotCallable) else value) for value in values)
    return chars > STOP_LIST_IN_REQUEST * CHARS_PER_NUMBER


def too_many_message() -> str:
    return ngettext(
        "The list has more than %(limit)d number; put at most %(limit)d on the stop list at once.",
        "The list has more than %(limit)d numbers; put at most %(limit)d on the stop list at once.",
        STOP_LIST_MAX_NUMBERS,
    ) % {"limit": STOP_LIST_MAX_NUMBERS}


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
