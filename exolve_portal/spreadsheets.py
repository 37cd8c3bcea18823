"""Rows out to CSV and XLSX files: the one writer behind every export (calls, stop list).

A writer takes headers and an iterable of rows (tuples of str, int, float, datetime or
None) and never holds more than a sample of them, so an export of any size runs in
constant memory.

- CSV: UTF-8 with a byte-order mark (spreadsheet programs then read Cyrillic right),
  comma-separated, or semicolon-separated "for Excel" (a Russian Excel splits columns
  on ";" and shows a comma file as one column).
- XLSX: one sheet, header row bold and frozen, columns sized to the header and the
  first SAMPLE_ROWS rows, datetimes as spreadsheet dates (local time, no time zone).

Every text cell is neutralised against spreadsheet formulas: one that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, so a number
typed as "+7 999..." or a name like "=HYPERLINK(...)" is shown, never run.

Why the XLSX is written here and not by a library: the sheet's rows are the hot loop of
an export, and every maintained Python writer (openpyxl, pyexcelerate, XlsxWriter) spends
several times what one f-string per cell costs; none keeps the XLSX export within 2x of
the CSV of the same rows (bench/README.md has the figures). What is written is the minimal
SpreadsheetML package (ECMA-376): inline strings, numbers, a date style; the tests read
every file back with openpyxl, and LibreOffice opens it.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from itertools import chain, islice
from xml.sax.saxutils import escape, quoteattr

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

CSV = "csv"
CSV_EXCEL = "csv-excel"  # semicolon-separated, what a Russian Excel opens as columns
XLSX = "xlsx"
FORMATS = (CSV, CSV_EXCEL, XLSX)
DELIMITERS = {CSV: ",", CSV_EXCEL: ";"}
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    CSV_EXCEL: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"

# Column widths (in characters) come from the header and this many first rows.
# Rows read from the database at a time by the exports (no model instances, never all held).
CHUNK_SIZE = 2000
SAMPLE_ROWS = 500
MIN_WIDTH, MAX_WIDTH = 6, 60
DATETIME_WIDTH = 19  # "2026-12-01 17:24:15"


def extension(file_format: str) -> str:
    return "xlsx" if file_format == XLSX else "csv"


def export_filename(file_format: str, stem: str = "calls") -> str:
    """The download's name, what and when: calls-20261201-1724.csv (the CSV for Excel: ...-excel.csv)."""
    suffix = "-excel" if file_format == CSV_EXCEL else ""
    return f"{stem}-{timezone.localtime():%Y%m%d-%H%M}{suffix}.{extension(file_format)}"


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write(handle, file_format: str, *, title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Write `rows` under `headers` to a binary `handle` in `file_format`; returns the number of rows."""
    if file_format == XLSX:
        return write_xlsx(handle, title=title, headers=headers, rows=rows)
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    try:
        count = -1  # the header line is not a row
        for line in csv_lines(headers, rows, delimiter=DELIMITERS[file_format]):
            text.write(line)
            count += 1
    finally:
        text.flush()
        text.detach()  # the caller owns `handle`
    return count


# --- CSV ---------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose write() hands the line back (csv.writer writes, we yield)."""

    def write(self, value):
        return value


def csv_lines(headers: Sequence[str], rows: Iterable[Sequence], *, delimiter: str = ",") -> Iterator[str]:
    """The CSV text, one line at a time: the byte-order mark and the header first."""
    writer = csv.writer(_Echo(), delimiter=delimiter)
    tz = timezone.get_current_timezone()
    yield BOM + writer.writerow([neutralise(header) for header in headers])
    for row in rows:
        yield writer.writerow([_csv_cell(value, tz) for value in row])


def _csv_cell(value, tz):
    kind = type(value)
    if kind is str:
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    if value is None:
        return ""
    if kind is datetime:
        return _local(value, tz).isoformat(" ", "seconds")
    return value


def _local(value: datetime, tz) -> datetime:
    """A naive local datetime (spreadsheets have no time zones)."""
    return value.astimezone(tz).replace(tzinfo=None) if value.tzinfo is not None else value


# --- XLSX --------------------------------------------------------------------------------

_EXCEL_EPOCH = datetime(1899, 12, 30)
_DAY = timedelta(days=1)
# Cell styles, indexes into cellXfs of _STYLES.
_BOLD, _DATETIME, _DATE = 1, 2, 3

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = (
    _XML_DECLARATION + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _XML_DECLARATION + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    _XML_DECLARATION + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_FONT = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
_STYLES = (
    _XML_DECLARATION + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/>'
    '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
    f'<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
# Characters a sheet name may not hold.
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def write_xlsx(handle, *, title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Write an XLSX workbook of one sheet named `title` to a binary `handle`; returns the number of rows."""
    rows = iter(rows)
    sample = list(islice(rows, SAMPLE_ROWS))
    widths = column_widths(headers, sample)
    tz = timezone.get_current_timezone()
    sheet_name = _NOT_IN_SHEET_NAME.sub(" ", title)[:31].strip() or "Sheet1"
    letters = column_letters(len(headers))
    count = 0
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _ROOT_RELS)
        package.writestr(
            "xl/workbook.xml",
            _XML_DECLARATION + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name={quoteattr(sheet_name)} sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        package.writestr("xl/styles.xml", _STYLES)
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            sheet = io.TextIOWrapper(raw, encoding="utf-8")
            sheet.write(_sheet_start(widths))
            sheet.write(_row_xml(1, [neutralise(header) for header in headers], tz, letters, style=_BOLD))
            for number, row in enumerate(chain(sample, rows), start=2):
                sheet.write(_row_xml(number, row, tz, letters))
                count += 1
            sheet.write("</sheetData></worksheet>")
            sheet.flush()
            sheet.detach()
    return count


def _sheet_start(widths: list[float]) -> str:
    columns = "".join(
        f'<col min="{index}" max="{index}" width="{width:.1f}" customWidth="1"/>'
        for index, width in enumerate(widths, start=1)
    )
    return (
        _XML_DECLARATION + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        # The header row stays in view while scrolling.
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{columns}</cols><sheetData>"
    )


def _row_xml(number: int, row: Sequence, tz, letters: Sequence[str], style: int = 0) -> str:
    """One <row>: empty cells left out, texts inline, datetimes as serial days with a date style."""
    style_attr = f' s="{style}"' if style else ""
    cells = [f'<row r="{number}">']
    for column, value in enumerate(row):
        kind = type(value)
        if kind not in _CELL_KINDS:  # Decimal, a lazy translation, ...: written as its text
            value, kind = str(value), str
        if kind is str:
            if not value:
                continue
            if value.startswith(FORMULA_TRIGGERS):
                value = "'" + value
            if _NEEDS_ESCAPING.search(value):  # most texts (numbers, names) need nothing
                value = escape(_NOT_IN_XML.sub("", value), _XML_TEXT_ENTITIES)
            cells.append(
                f'<c r="{letters[column]}{number}"{style_attr} t="inlineStr">'
                f'<is><t xml:space="preserve">{value}</t></is></c>'
            )
        elif value is None:
            continue
        elif kind is datetime:
            if value.tzinfo is not None:
                value = value.astimezone(tz).replace(tzinfo=None)
            cells.append(
                f'<c r="{letters[column]}{number}" s="{_DATETIME}"><v>{(value - _EXCEL_EPOCH) / _DAY!r}</v></c>'
            )
        elif kind is date:
            cells.append(
                f'<c r="{letters[column]}{number}" s="{_DATE}"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'
            )
        elif kind is bool:
            cells.append(f'<c r="{letters[column]}{number}"{style_attr} t="b"><v>{int(value)}</v></c>')
        else:
            cells.append(f'<c r="{letters[column]}{number}"{style_attr}><v>{value!r}</v></c>')
    cells.append("</row>")
    return "".join(cells)


_CELL_KINDS = frozenset({str, type(None), int, float, bool, datetime, date})
# Characters XML 1.0 cannot carry at all; dropped (a spreadsheet program would refuse the file).
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_ESCAPING = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A carriage return kept as a character reference: a raw one would be read back as a newline.
_XML_TEXT_ENTITIES = {"\r": "&#13;"}


def column_letters(count: int) -> list[str]:
    """The first `count` column names: "A", "B", ... "Z", "AA", ..."""
    letters = []
    for index in range(1, count + 1):
        name = ""
        while index:
            index, remainder = divmod(index - 1, 26)
            name = chr(65 + remainder) + name
        letters.append(name)
    return letters


def column_widths(headers: Sequence[str], sample: Iterable[Sequence]) -> list[float]:
    """Each column's width in characters: its longest text among the header and `sample`, within bounds."""
    widths = [len(str(header)) + 2 for header in headers]  # bold header: a little more room
    for row in sample:
        for index, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime):
                length = DATETIME_WIDTH
            else:
                length = max(len(line) for line in str(value).splitlines() or [""])
            if length + 1 > widths[index]:
                widths[index] = length + 1
    return [float(min(MAX_WIDTH, max(MIN_WIDTH, width))) for width in widths]


# --- HTTP responses ----------------------------------------------------------------------


def response(file_format: str, *, title: str, headers: Sequence[str], rows: Iterable[Sequence], filename: str):
    """The file as a download: CSV streamed as it is read, XLSX built in a temporary file then sent."""
    if file_format == XLSX:
        # Anonymous temporary file: removed by the OS once FileResponse closes it.
        handle = tempfile.TemporaryFile(suffix=".xlsx")
        write_xlsx(handle, title=title, headers=headers, rows=rows)
        handle.seek(0)
        return FileResponse(handle, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[XLSX])
    lines = csv_lines(headers, rows, delimiter=DELIMITERS[file_format])
    streamed = StreamingHttpResponse(lines, content_type=CONTENT_TYPES[file_format])
    streamed["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return streamed
