"""Reading the phone column of an uploaded CSV or XLSX file.

The phone column is found by its header (phone, телефон, number, номер, ...); a file
with a single column needs no header. Limits (size, rows) come from settings so a
100,000-row file gets a clear message instead of a slow page.
"""

import csv
import io
import zipfile

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Lower-cased header words that name a phone column.
PHONE_HEADERS = (
    "phone",
    "phones",
    "phone number",
    "phone_number",
    "telephone",
    "tel",
    "mobile",
    "number",
    "msisdn",
    "destination",
    "телефон",
    "номер",
    "номер телефона",
    "мобильный",
    "тел",
    "тел.",
)


class UploadError(ValueError):
    """The file cannot be used; `str()` says why in plain words."""


def read_numbers_file(uploaded) -> list[str]:
    """The values of the phone column of `uploaded` (a Django UploadedFile), as strings."""
    max_bytes = settings.EXOLVE_UPLOAD_MAX_BYTES
    if uploaded.size is not None and uploaded.size > max_bytes:
        raise UploadError(
            _("The file is too large (%(size)s bytes); the limit is %(limit)s bytes.")
            % {"size": uploaded.size, "limit": max_bytes}
        )
    name = (uploaded.name or "").lower()
    data = uploaded.read()
    if not data.strip():
        raise UploadError(_("The file is empty."))
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        rows = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")):
        rows = _csv_rows(data)
    else:
        raise UploadError(_("Only CSV and XLSX files can be read. Save the list as .csv or .xlsx."))
    return _phone_column(rows)


def _csv_rows(data: bytes):
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1251 decodes any byte string
        raise UploadError(_("The file's text encoding is not UTF-8 or Windows-1251."))
    if "\x00" in text:
        raise UploadError(_("This does not look like a CSV file."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text), dialect)


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UploadError(_("The file could not be read as an XLSX workbook.")) from exc
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise UploadError(_("The workbook has no sheets."))
    for row in sheet.iter_rows(values_only=True):
        yield ["" if cell is None else _cell_text(cell) for cell in row]
    workbook.close()


def _cell_text(cell) -> str:
    # Excel stores long numbers as floats: 79991234567.0 must not become "79991234567.0".
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _phone_column(rows) -> list[str]:
    max_rows = settings.EXOLVE_UPLOAD_MAX_ROWS
    column = None
    values = []
    for row in rows:
        cells = [str(c).strip() for c in row]
        if not any(cells):
            continue
        if column is None:
            column, is_header = _choose_column(cells)
            if is_header:
                continue
        value = cells[column] if column < len(cells) else ""
        if value:
            values.append(value)
            if len(values) > max_rows:
                raise UploadError(
                    ngettext(
                        "The file has more than %(limit)d number; send at most %(limit)d at once.",
                        "The file has more than %(limit)d numbers; send at most %(limit)d at once.",
                        max_rows,
                    )
                    % {"limit": max_rows}
                )
    if column is None or not values:
        raise UploadError(_("The file has no phone numbers."))
    return values


def _choose_column(first_row: list[str]) -> tuple[int, bool]:
    """(index of the phone column, whether the first row is a header)."""
    for index, cell in enumerate(first_row):
        if cell.lower().strip(" :") in PHONE_HEADERS:
            return index, True
    filled = [i for i, cell in enumerate(first_row) if cell]
    if len(filled) == 1:
        index = filled[0]
        # A single column: its first row is a header unless it holds digits.
        return index, not any(ch.isdigit() for ch in first_row[index])
    raise UploadError(
        _(
            "No phone column found. Name the column “phone” (or “телефон”, "
            "“number”, “номер”), or upload a file with a single column."
        )
    )
