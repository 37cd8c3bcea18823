"""The calls export: which columns, in which order, and the rows of a filtered queryset.

Rows are read `CHUNK_SIZE` at a time from `values_list(...).iterator()` (no model
instances, never all held) and written by exolve_portal.spreadsheets (CSV streamed, CSV for
Excel, XLSX), formulas neutralised there. An export of more than
EXOLVE_EXPORT_IN_REQUEST rows runs as a background job instead (pages.jobs).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db.models import F, OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from audiences.phones import display_number
from audiences.upload_columns import NAME_KEY
from calls.models import Basis, CallState, Purpose, SmsFollowUp, basis_label
from calls.outcomes import Outcome, outcome_expression
from calls.sms_followups import sms_label
from calls.statuses import STATUS_LABELS
from exolve_portal import spreadsheets
from exolve_portal.private_files import open_private, private_folder

# Part of this module's API, defined with the writer (the stop list's export uses them too).
from exolve_portal.spreadsheets import CHUNK_SIZE, export_filename, neutralise  # noqa: F401

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
    # The person as the office's own list has them: the number as written, the name, the other columns.
    (_("number as written"), "export_written"),
    (pgettext_lazy("person", "name"), "details"),
    (_("from the list"), "export_details"),
    (_("broadcast name"), "export_broadcast_name"),  # new columns go last: the columns before keep their places
    (_("basis"), "broadcast__basis"),
    # The person's follow-up SMS (issue 25): sent, refused (with the reason), unknown...; empty: none.
    (_("SMS"), "export_sms"),
    (_("SMS reason"), "export_sms_reason"),
    (_("Exolve SMS id"), "export_sms_id"),
]
_PURPOSE_LABELS = dict(Purpose.choices)
_STATE_LABELS = dict(CallState.choices)


def export_rows(queryset) -> Iterator[tuple]:
    """The export's rows for `queryset`, read `CHUNK_SIZE` at a time (no model instances)."""
    rows = (
        queryset.order_by("-queued_at", "-pk")
        .annotate(
            export_message=Coalesce(
                F("voice_message__name"), NullIf(F("broadcast__voice_message_name"), Value("")), F("service_id")
            ),
            export_outcome=outcome_expression(),
            export_written=F("destination"),
            export_details=F("details"),
            export_broadcast_name=Coalesce(F("broadcast__name"), Value("")),
            **sms_columns(),
        )
        .values_list(*[field for _header, field in COLUMNS])
    )
    state_index = _index("state")
    outcome_index = _index("export_outcome")
    purpose_index = _index("broadcast__purpose")
    basis_index = _index("broadcast__basis")
    status_index = _index("status")
    written_index = _index("export_written")
    name_index = _index("details")
    details_index = _index("export_details")
    sms_index = _index("export_sms")
    # Labels looked up once, in the active language, not once per row.
    labels = {state: str(label) for state, label in _STATE_LABELS.items()}
    outcomes = {outcome: str(label) for outcome, label in Outcome.choices}
    statuses = {status: str(label) for status, label in STATUS_LABELS.items()}  # an unknown one as it is
    purposes = {purpose: str(label) for purpose, label in _PURPOSE_LABELS.items()}
    bases = {basis: basis_label(basis) for basis in ("", *Basis.values)}  # None: a call without a broadcast
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        row = list(row)
        row[state_index] = labels.get(row[state_index], row[state_index])
        row[outcome_index] = outcomes.get(row[outcome_index], row[outcome_index])
        row[status_index] = statuses.get(row[status_index], row[status_index])
        row[purpose_index] = purposes.get(row[purpose_index], row[purpose_index] or "")
        row[basis_index] = bases.get(row[basis_index], row[basis_index] or "")
        row[written_index] = display_number(row[written_index], national=True)
        row[name_index], row[details_index] = _name_and_rest(row[name_index])
        row[sms_index] = sms_label(row[sms_index])
        yield tuple(row)


def sms_columns() -> dict:
    """The person's follow-up SMS in this broadcast: its state, reason and message id (subqueries)."""
    person = SmsFollowUp.objects.filter(broadcast_id=OuterRef("broadcast_id"), destination=OuterRef("destination"))
    return {
        "export_sms": Subquery(person.values("state")[:1]),
        "export_sms_reason": Coalesce(Subquery(person.values("error")[:1]), Value(""), output_field=TextField()),
        "export_sms_id": Coalesce(Subquery(person.values("message_id")[:1]), Value(""), output_field=TextField()),
    }


def _name_and_rest(details) -> tuple[str, str]:
    """The person's name and the uploaded list's other columns ("header: cell; ...") of a call."""
    if not isinstance(details, dict):
        return "", ""
    rest = "; ".join(f"{key}: {value}" for key, value in details.items() if key != NAME_KEY)
    return details.get(NAME_KEY, ""), rest


def _index(field: str) -> int:
    return [name for _header, name in COLUMNS].index(field)


def headers() -> list[str]:
    return [str(header) for header, _field in COLUMNS]


def write_export(handle, rows: Iterable[tuple], file_format: str) -> int:
    """Write export rows to a binary `handle` in `file_format`; returns how many."""
    return spreadsheets.write(handle, file_format, title=sheet_title(), headers=headers(), rows=rows)


def export_response(queryset, file_format: str, filename: str):
    """The export of `queryset` as a download in `file_format` (CSV streamed, XLSX built then sent)."""
    return spreadsheets.response(
        file_format, title=sheet_title(), headers=headers(), rows=export_rows(queryset), filename=filename
    )


def sheet_title() -> str:
    return gettext("Calls")


# --- Files of background exports ----------------------------------------------------------


def export_dir() -> Path:
    """Where background exports are kept until downloaded (EXOLVE_EXPORT_DIR, under var/ by default)."""
    return Path(settings.EXOLVE_EXPORT_DIR)


def save_export(queryset, file_format: str, *, stem: str, progress=None) -> tuple[str, int]:
    """Write the export of `queryset` to a new file in export_dir(); returns (file name, rows).

    The file appears under its name only once complete, so a half-written one is never sent.
    `progress(done)` is called every CHUNK_SIZE rows.
    """
    directory = private_folder(export_dir())  # phone numbers: 0700, the files 0600
    # Unguessable, so a file name seen in a log serves nobody; the download view checks the user anyway.
    name = f"{stem}-{secrets.token_hex(8)}.{spreadsheets.extension(file_format)}"
    partial = directory / f"{name}.part"
    rows = export_rows(queryset)
    if progress is not None:
        rows = _counted(rows, progress)
    try:
        with open_private(partial) as handle:
            count = write_export(handle, rows, file_format)
        partial.replace(directory / name)
    finally:
        partial.unlink(missing_ok=True)
    return name, count


def _counted(rows, progress):
    for done, row in enumerate(rows, start=1):
        if done % CHUNK_SIZE == 0:
            progress(done)
        yield row


def saved_export(name: str) -> Path | None:
    """The file of a background export, or None once removed (or for a name that is not one)."""
    if not name or Path(name).name != name or name.endswith(".part"):
        return None
    path = export_dir() / name
    return path if path.is_file() else None


def remove_expired_exports(now: float | None = None) -> int:
    """Delete the background exports older than EXOLVE_EXPORT_KEEP_HOURS; returns how many."""
    cutoff = (now if now is not None else time.time()) - settings.EXOLVE_EXPORT_KEEP_HOURS * 3600
    removed = 0
    for path in export_dir().glob("*") if export_dir().is_dir() else []:
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
