"""Reading the phone column of an uploaded CSV or XLSX file.

The phone column is found by its header (phone, телефон, number, номер, ...); a file
with a single column needs no header. Limits (size, rows) come from settings so a
100,000-row file gets a clear message instead of a slow page. Whatever the bytes are
(a damaged workbook, a picture renamed .csv, a ZIP archive), the caller gets an
UploadError with a plain reason, never another exception.

An XLSX workbook is read by `audiences.workbooks`, not openpyxl: any Operator may upload one,
and openpyxl read some parts whole, kept parsed rows and built rows of any width, so files
under the upload limit took gigabytes (issue 19). That reader checks the archive before
parsing, streams only the parts it needs, counts every row and cell, and stops with a plain
message at the first limit passed; the first sheet's rows reach `_phone_column` one by one,
which stops at the row limit.
"""

import csv
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .phones import MAX_VALUE_CHARS, InvalidNumber, NotCallable, normalize, split_numbers
from .upload_columns import (
    PHONE_HEADERS,  # noqa: F401 (part of this module's API)
    ColumnsRead,
    DetailColumns,
    column_letter,
    phone_header_index,
    zone_header_index,
)
from .workbooks import NotAWorkbook, WorkbookError, first_sheet_rows
from .zones import get_zone, zone_of_number

logger = logging.getLogger(__name__)

# How many rows from the top may stand above the header (a title, a date, blank rows).
HEADER_SEARCH_ROWS = 20
# Characters of the rows' other cells kept in all (a list's names and notes, not a second copy of a huge file).
MAX_DETAILS_TOTAL_CHARS = 2_000_000


class UploadError(ValueError):
    """The file cannot be used; `str()` says why in plain words."""


class NoPhoneColumn(UploadError):
    """No column is recognised as the phones; `headers` are the columns found, for a person to choose from."""

    def __init__(self, message: str, headers: list[str]):
        super().__init__(message)
        self.headers = headers


@dataclass
class UploadedList:
    """What an uploaded list holds: its phone column's values and what its rows say besides."""

    values: list = field(default_factory=list)  # as in the file (str) or NotCallable
    rows: list[int] = field(default_factory=list)  # the file's row of each value (for a report per row)
    zones: dict[str, str] = field(default_factory=dict)  # value as in the file -> IANA zone of its row
    details: dict[str, dict] = field(default_factory=dict)  # value as in the file -> {"name": ..., header: cell}
    read: ColumnsRead = field(default_factory=ColumnsRead)
    detail_chars: int = 0
    detail_limit: int = MAX_DETAILS_TOTAL_CHARS
    details_cut: bool = False  # some row's other cells were not kept (the limit was reached)


ZIP_MAGIC = b"PK\x03\x04"
# Old Excel (.xls) files and password-protected workbooks are OLE containers.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Pictures and documents staff may choose by mistake (renamed or not): refused as "not a table"
# before any decoding, even when their first bytes happen to read as text.
OTHER_FILE_MAGICS = (
    b"\x89PNG",  # PNG
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"%PDF-",
    b"RIFF",  # WebP, WAV, AVI
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
)
# Control characters no table saved as text contains (tab, newlines and form feed aside).
BINARY_CHARACTERS = frozenset(chr(c) for c in (*range(0, 9), *range(14, 32)))
# No row of a list of people (a phone, names, an address) is longer than this as text.
MAX_CSV_LINE_CHARS = 10_000
# Rows a file may have beyond its numbers (a header, blank rows, rows without a number);
# every row read counts, empty ones too, so a file of empty rows is refused early.
MAX_ROWS_WITHOUT_NUMBER = 1_000
# Byte-order marks of text saved as UTF-16 ("Unicode text" in Excel).
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# The start of a line longer than MAX_CSV_LINE_CHARS (anchored at line starts: linear time).
_LONG_LINE = re.compile(rf"(?:\A|(?<=[\r\n]))[^\r\n]{{{MAX_CSV_LINE_CHARS + 1}}}")
# One line of a CSV text with its ending, as a file opened with newline="" gives it.
_CSV_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def not_a_table() -> str:
    return _(
        "This file is not a table (CSV or XLSX). Open the list in Excel or another "
        "spreadsheet, save it as .xlsx or .csv and upload that file."
    )


def read_numbers_file(uploaded) -> list:
    """The values of the phone column of `uploaded` (a Django UploadedFile).

    Each value is a string as it stands in the file, or a `NotCallable` (a formula
    without a saved result) that the preview lists with its reason. Raises UploadError.
    """
    return read_numbers_and_zones(uploaded)[0]


def read_numbers_and_zones(uploaded) -> tuple[list, dict[str, str]]:
    """(the values of the phone column, {value as in the file: IANA zone of its row}).

    The zones come from an optional column headed "time zone" ("часовой пояс", "tz",
    ...); a row whose zone is empty or not a known IANA name has none (the broadcast's
    zone applies), and the file is read all the same.
    """
    table = read_list(uploaded)
    return table.values, table.zones


def read_list(uploaded, data: bytes | None = None, column: str = "", detail_limit: int = 0) -> UploadedList:
    """The phone column, zones, the rows' other cells and which column and rows were read.

    `data`, when given, is the file's content already read (a file kept from an earlier preview);
    `column`, the header of the phone column a person chose (NoPhoneColumn lists the headers);
    `detail_limit`, the characters of other cells kept in all (MAX_DETAILS_TOTAL_CHARS by default).
    Raises UploadError.
    """
    max_bytes = settings.EXOLVE_UPLOAD_MAX_BYTES
    if uploaded.size is not None and uploaded.size > max_bytes:
        raise UploadError(_too_large(uploaded.size, max_bytes))
    name = (uploaded.name or "").lower()
    if data is None:
        data = uploaded.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadError(_too_large(len(data), max_bytes))
    if not data.strip():
        raise UploadError(_("The file is empty."))
    if data[:4] == ZIP_MAGIC:
        reading, rows = "xlsx", _xlsx_rows(data)
    elif not name.endswith((".csv", ".txt", ".xlsx")):
        raise UploadError(_("Only CSV and XLSX files can be read. Save the list as .csv or .xlsx."))
    elif data.startswith(OTHER_FILE_MAGICS):
        raise UploadError(not_a_table())
    elif data[:8] == OLE_MAGIC:
        raise UploadError(
            _(
                "This is an old Excel file (.xls) or a workbook protected by a password. "
                "Open it in Excel and save it as .xlsx (without a password) or .csv."
            )
        )
    else:
        # Text under any of the three names is read as CSV (a CSV saved as .xlsx too).
        reading, rows = "csv", _csv_rows(data)
    try:
        return _read_table(rows, column, detail_limit or MAX_DETAILS_TOTAL_CHARS)
    except UploadError:
        raise
    except csv.Error as exc:
        raise UploadError(
            _("The CSV file is damaged (%(reason)s). Save it again from the spreadsheet.") % {"reason": exc}
        ) from exc
    except Exception as exc:
        # Whatever a damaged workbook makes openpyxl raise (XML, ZIP, KeyError, ...).
        logger.info("Unreadable %s upload %r: %r", reading, uploaded.name, exc)
        raise UploadError(
            _("The XLSX file is damaged and cannot be read. Open it in Excel, save it again and upload it.")
        ) from exc


def numbers_zones(file_zones: dict[str, str], valid) -> dict[str, str]:
    """{normalised number of `valid`: zone} from {value as in the file: zone}, where the number tells none."""
    return by_number(file_zones, valid, keep=lambda number: not zone_of_number(number))


def by_number(by_value: dict, valid, keep=None) -> dict:
    """{normalised number of `valid`: item} from {value as in the file: item} (the first value of a number wins)."""
    valid = set(valid)
    result: dict = {}
    for raw, item in by_value.items():
        try:
            pieces = split_numbers(raw)
        except InvalidNumber:
            continue
        for piece in pieces:
            try:
                number = normalize(piece)
            except InvalidNumber:
                continue
            if number in valid and (keep is None or keep(number)):
                result.setdefault(number, item)
    return result


def _too_large(size, limit) -> str:
    return _("The file is too large (%(size)s bytes); the limit is %(limit)s bytes.") % {
        "size": size,
        "limit": limit,
    }


def _csv_rows(data: bytes):
    """The rows of a CSV (or tab-separated) text, in time linear in its length.

    UTF-8 (with or without a byte-order mark), UTF-16 with its mark (Excel's "Unicode
    text") or Windows-1251. A line longer than MAX_CSV_LINE_CHARS is refused, naming it,
    before the CSV reader builds any row from it.
    """
    encodings = ("utf-16",) if data.startswith(UTF16_BOMS) else ("utf-8-sig", "cp1251")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # cp1251 leaves one byte (0x98) undefined: no text file has it, a picture may
        raise UploadError(not_a_table())
    if not BINARY_CHARACTERS.isdisjoint(text[:65536]) or "\x00" in text:
        raise UploadError(not_a_table())
    if long_line := _LONG_LINE.search(text):
        start = long_line.start()
        end = min((i for i in (text.find("\r", start), text.find("\n", start)) if i >= 0), default=len(text))
        raise UploadError(
            _(
                "Line %(line)d of the file is %(length)d characters long: no row of a list of numbers "
                "is that long. Check that this is the list, save it again as CSV and upload it."
            )
            % {"line": max(text.count("\n", 0, start), text.count("\r", 0, start)) + 1, "length": end - start}
        )
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # Lines handed over one at a time: io.StringIO would first copy the whole text (4 bytes a character).
    return csv.reader((line.group() for line in _CSV_LINE.finditer(text)), dialect)


def _xlsx_rows(data: bytes):
    """The rows of the first worksheet, streamed and bounded: lists of cell values (str or NotCallable)."""
    try:
        yield from first_sheet_rows(data)
    except NotAWorkbook as exc:
        raise UploadError(not_a_table()) from exc  # a ZIP archive, a .docx, ...
    except WorkbookError as exc:
        raise UploadError(str(exc)) from exc


def _text(cell) -> str:
    return cell.raw if isinstance(cell, NotCallable) else str(cell).strip()


def _phone_column(rows, zones: dict[str, str] | None = None) -> list:
    """The phone column's values; `zones` (when given) gets each value's zone from a time-zone column."""
    table = _read_table(rows)
    if zones is not None:
        zones.update(table.zones)
    return table.values


@dataclass
class _Layout:
    column: int
    zone_column: int | None = None
    details: DetailColumns | None = None


def _read_table(rows, chosen: str = "", detail_limit: int = MAX_DETAILS_TOTAL_CHARS) -> UploadedList:
    """Read the rows: the header is the first of the first HEADER_SEARCH_ROWS rows naming a phone column.

    Rows above it (a title) are skipped and counted; without such a header, the first
    non-empty row decides (a single column, its first row a header unless it holds digits).
    Every row read counts toward the limit (EXOLVE_UPLOAD_MAX_ROWS numbers, and
    MAX_ROWS_WITHOUT_NUMBER rows more), empty ones too; a phone cell longer than
    MAX_VALUE_CHARS is refused, naming its row, before it is parsed.
    """
    table = UploadedList(detail_limit=detail_limit)
    layout = None
    above: list[tuple[int, list, list[str]]] = []  # rows before the header is known
    for row_number, row in enumerate(rows, 1):
        _check_row_count(row_number)
        if layout is not None:
            _read_row(table, layout, row_number, row)
            continue
        cells = [_text(c) for c in row]
        index = phone_header_index(cells, chosen) if any(cells) else None
        if index is not None:
            layout = _header_layout(table, cells, index)
            # Rows above the header (a title, a date) are skipped; the preview says so.
            table.read.title_rows = row_number - 1 if any(any(texts) for _n, _row, texts in above) else 0
            continue
        above.append((row_number, row, cells))
        if row_number >= HEADER_SEARCH_ROWS:
            layout = _layout_without_header(table, above, chosen)
    if layout is None and above:
        layout = _layout_without_header(table, above, chosen)
    if layout is None or not table.values:
        raise UploadError(_("The file has no phone numbers."))
    return table


def _header_layout(table: UploadedList, cells: list[str], index: int) -> _Layout:
    zone = zone_header_index(cells, index)
    table.read.header = cells[index]
    table.read.letter = column_letter(index)
    table.read.headers = [cell for cell in cells if cell][:100]
    skip = {index} if zone is None else {index, zone}
    return _Layout(index, zone, DetailColumns.of_header(cells, skip))


def _layout_without_header(table: UploadedList, above: list, chosen: str = "") -> _Layout | None:
    """No recognised header among the first rows: the first non-empty row decides; the rows kept are read."""
    rows = [item for item in above if any(item[2])]
    above.clear()
    if not rows:
        return None
    if chosen:
        raise NoPhoneColumn(
            _("The column “%(column)s” is not in the file's first rows. Choose another.") % {"column": chosen[:100]},
            _headers_of(rows),
        )
    first_number, _first_row, first_cells = rows[0]
    column, is_header = _choose_column(first_cells)
    layout = _Layout(column)
    table.read.letter = column_letter(column)
    if is_header:
        table.read.header = first_cells[column]
        rows = rows[1:]
    for row_number, row, _cells in rows:
        _read_row(table, layout, row_number, row)
    return layout


def _check_row_count(row_number: int) -> None:
    max_rows = settings.EXOLVE_UPLOAD_MAX_ROWS
    if row_number > max_rows + MAX_ROWS_WITHOUT_NUMBER:
        raise UploadError(
            _(
                "The file has more than %(rows)d rows; a list of at most %(limit)d numbers "
                "has fewer. Delete the empty rows (or send the list in parts) and upload it again."
            )
            % {"rows": max_rows + MAX_ROWS_WITHOUT_NUMBER, "limit": max_rows}
        )


def _read_row(table: UploadedList, layout: _Layout, row_number: int, row) -> None:
    """The phone cell of one row (and its zone and other cells), appended to `table`."""
    value = row[layout.column] if layout.column < len(row) else ""
    text = _text(value)
    if not text:
        return
    if len(text) > MAX_VALUE_CHARS:
        raise UploadError(
            _(
                "Row %(row)d: the phone cell is %(length)d characters long, longer than any phone "
                "number (at most %(limit)d characters). Put each number in its own row."
            )
            % {"row": row_number, "length": len(text), "limit": MAX_VALUE_CHARS}
        )
    table.values.append(value if isinstance(value, NotCallable) else text)
    table.rows.append(row_number)
    table.read.first_row = table.read.first_row or row_number
    table.read.last_row = row_number
    max_rows = settings.EXOLVE_UPLOAD_MAX_ROWS
    if len(table.values) > max_rows:
        # Stop reading here: the rest of a huge file is never parsed.
        raise UploadError(
            ngettext(
                "The file has more than %(limit)d number; send at most %(limit)d at once.",
                "The file has more than %(limit)d numbers; send at most %(limit)d at once.",
                max_rows,
            )
            % {"limit": max_rows}
        )
    if isinstance(value, NotCallable):
        return
    if layout.zone_column is not None:
        zone = _text(row[layout.zone_column]) if layout.zone_column < len(row) else ""
        if zone and len(zone) <= MAX_VALUE_CHARS and get_zone(zone) is not None:
            table.zones.setdefault(text, zone)
    if layout.details is not None and text not in table.details:
        if table.detail_chars >= table.detail_limit:
            table.details_cut = True
        elif details := layout.details.of_row(row, _text):
            table.details[text] = details
            table.detail_chars += sum(len(k) + len(v) for k, v in details.items())


def _choose_column(first_row: list[str]) -> tuple[int, bool]:
    """(index of the phone column, whether the first row is a header)."""
    index = phone_header_index(first_row)
    if index is not None:
        return index, True
    filled = [i for i, cell in enumerate(first_row) if cell]
    if len(filled) == 1:
        index = filled[0]
        # A single column: its first row is a header unless it holds digits.
        return index, not any(ch.isdigit() for ch in first_row[index])
    found = ", ".join(f"“{cell}”" for cell in first_row if cell)
    raise NoPhoneColumn(
        _(
            "No phone column found among the columns %(columns)s. Name the column “phone” (or “телефон”, "
            "“моб. телефон”, “номер”), or upload a file with a single column."
        )
        % {"columns": found[:500]},
        [cell[:100] for cell in first_row if cell][:50],
    )


def _headers_of(rows: list) -> list[str]:
    """The cells of the widest of the first rows: the likeliest header, for a person to choose from."""
    widest = max((cells for _n, _row, cells in rows), key=lambda cells: sum(1 for c in cells if c))
    return [cell[:100] for cell in widest if cell][:50]
