"""Reading the first sheet of an uploaded workbook (XLSX) within fixed bounds of memory and time.

Any Operator may upload a workbook, so a workbook is hostile until read. openpyxl, which this
replaced, read `styles.xml`, `workbook.xml` and `[Content_Types].xml` whole, kept every parsed row
attached to its sheet, built a row of any width and checked the size of the shared strings only
when their part was named so: files under the 5 MB upload limit took gigabytes (issue 19). Here:

- The archive is checked before any part is parsed, whatever the parts are called: the size of
  its directory, the number of members, each member's unpacked size, their total and each
  member's compression ratio (limits in workbooks_zip, in multiples of `EXOLVE_UPLOAD_MAX_BYTES`). Only
  stored and deflated members are read (what Excel writes; an LZMA member may ask for a
  dictionary of gigabytes), and every member is read through a reader that stops at its limit:
  the sizes the headers declare are checked, not trusted.
- Only what is needed is read: the package's relationships, the workbook and its relationships
  (to find the first worksheet and the shared strings), the shared strings and the first
  worksheet. Styles are not read: a date-formatted cell is read as its serial number (phone
  numbers are text or whole numbers).
- Every part read is parsed by expat as a stream, in pieces of `CHUNK_BYTES`, keeping only the
  text of the elements that hold values: no tree is built, so nothing parsed stays behind. A
  part that declares a DOCTYPE is refused at its start, before any entity is declared (external
  entities, "billion laughs"). Every element counts toward a limit per part; nesting is limited;
  no more than `MAX_TOKEN_BYTES` may pass without a "<" (expat 2.5 scans an unfinished tag again
  at each piece: a tag of megabytes would cost quadratic time).
- Rows (empty ones included), cells per row, cells, shared strings and characters are counted,
  and the first limit passed stops the reading with a plain message.

Every limit holds inside the process: no child process is needed. The limits and the package
checks are in audiences.workbooks_zip; this module reads the shared strings and the sheet.
"""

import struct
import zipfile
import zlib
from collections.abc import Iterator
from functools import lru_cache
from xml.parsers import expat

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .phones import NotCallable
from .workbooks_zip import (  # noqa: F401  (the limits and errors are part of this module's API)
    ELEMENTS_PER_CELL,
    ELEMENTS_PER_SHARED_STRING,
    ELEMENTS_SLACK,
    MAX_CELL_CHARACTERS,
    MAX_CELLS_PER_ROW,
    MAX_COMPRESSION_RATIO,
    MAX_DEPTH,
    NotAWorkbook,
    WorkbookError,
    WorkbookLimits,
    _locate_parts,
    _long_cell,
    _member_chunks,
    _open_archive,
    _Part,
    _read_shared_strings,
    _Stop,
    _too_many_texts,
    _too_much_text,
    damaged,
)


def first_sheet_rows(data: bytes, limits: WorkbookLimits | None = None) -> Iterator[list]:
    """The rows of the first worksheet of the workbook `data`, one list per `<row>`, streamed.

    A row holds the cell values from column A on: text (numbers as written, whole numbers
    without ".0", booleans as "True"/"False"), "" for an empty cell, or a `NotCallable` for a
    formula whose result is not saved. Raises `WorkbookError` (`NotAWorkbook` for an archive
    that is no workbook) with a plain message, and nothing else, at the first limit passed.
    """
    limits = limits or WorkbookLimits.from_settings()
    try:
        archive = _open_archive(data, limits)
        with archive:
            sheet, strings = _locate_parts(archive, limits)
            shared = _read_shared_strings(archive, strings, limits) if strings else []
            yield from _SheetReader(shared, limits).rows(_member_chunks(archive, sheet, limits))
    except WorkbookError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        expat.ExpatError,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        LookupError,
        struct.error,
        zlib.error,
    ) as exc:
        raise WorkbookError(damaged()) from exc


# --- The sheet ----------------------------------------------------------------------------------


def _column(reference: str) -> int:
    """1 for "A1", 28 for "AB7"; ValueError for what is no cell reference."""
    letters = reference.rstrip("0123456789")
    if len(letters) == len(reference):
        raise ValueError(reference)
    return _column_of_letters(letters)


@lru_cache(maxsize=1024)
def _column_of_letters(letters: str) -> int:
    letters = letters.replace("$", "").upper()
    if not (1 <= len(letters) <= 3 and letters.isascii() and letters.isalpha()):
        raise ValueError(letters)
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


def formula_without_result(text: str) -> NotCallable:
    return NotCallable(
        text,
        _(
            "A formula whose result is not saved in the file. Open the file in Excel "
            "and save it again, or paste the numbers as values."
        ),
    )


class _SheetReader(_Part):
    """The rows of `<sheetData>`, each handed over at its end and then forgotten."""

    on_start = {
        "row": "start_row",
        "c": "start_cell",
        "v": "start_value",
        "f": "start_formula",
        "is": "start_inline",
        "t": "start_text",
        "rPh": "start_phonetic",
    }
    on_end = {
        "row": "end_row",
        "c": "end_cell",
        "v": "end_value",
        "f": "end_formula",
        "t": "end_text",
        "rPh": "end_phonetic",
        "sheetData": "end_sheet_data",
    }

    def __init__(self, shared: list[str], limits: WorkbookLimits):
        super().__init__()
        self.shared = shared
        self.limits = limits
        self.max_elements = ELEMENTS_PER_CELL * limits.cells + limits.rows + ELEMENTS_SLACK
        self.ready: list[list] = []
        self.row: list | None = None
        self.row_number = 0
        self.rows_seen = 0
        self.cells = 0
        self.cells_in_row = 0
        self.column = 0
        self.character_count = 0
        self.cell_type: str | None = None
        self.in_cell = False
        self.value: str | None = None
        self.formula: str | None = None
        self.formula_attributes: dict = {}
        self.inline: list[str] | None = None
        self.text: list[str] | None = None
        self.text_length = 0
        self.phonetic = 0
        self.shared_formulas: dict[str, tuple[str, str]] = {}

    def _start(self, name, attributes):
        # Values and cells first, without the generic dispatch: they are most of a sheet's elements.
        if name == "v" or name == "c":
            self.elements += 1
            self.depth += 1
            if self.elements > self.max_elements or self.depth > MAX_DEPTH:
                super()._start(name, attributes)  # says which limit
            if name == "v":
                if self.in_cell:
                    self.text, self.text_length = [], 0
            else:
                self.start_cell(attributes)
        else:
            super()._start(name, attributes)

    def _end(self, name):
        if name == "v":
            self.depth -= 1
            if self.text is not None:
                self.value = "".join(self.text)
                self.text = None
        elif name == "c":
            self.depth -= 1
            self.end_cell()
        else:
            super()._end(name)

    def rows(self, chunks: Iterator[bytes]) -> Iterator[list]:
        try:
            for _piece in self.parse(chunks):
                yield from self.ready
                self.ready.clear()
        except WorkbookError:
            # The rows before the limit first: a caller that stops at its own limit says so.
            yield from self.ready
            raise

    def start_row(self, attributes):
        if self.in_cell:
            return
        self.rows_seen += 1
        if self.rows_seen > self.limits.rows:
            raise WorkbookError(
                ngettext(
                    "The sheet has more than %(limit)d row (empty rows count too). Copy the rows with "
                    "numbers into a new workbook, save it and upload that file.",
                    "The sheet has more than %(limit)d rows (empty rows count too). Copy the rows with "
                    "numbers into a new workbook, save it and upload that file.",
                    self.limits.rows,
                )
                % {"limit": self.limits.rows}
            )
        reference = attributes.get("r")
        self.row_number = int(reference) if reference and reference.isdigit() else self.row_number + 1
        self.row = []
        self.cells_in_row = 0
        self.column = 0

    def end_row(self):
        if self.row is not None and not self.in_cell:
            self.ready.append(self.row)
            self.row = None

    def end_sheet_data(self):
        raise _Stop  # what follows (merged cells, page setup, ...) is not needed

    def start_cell(self, attributes):
        self.cells += 1
        self.cells_in_row += 1
        if self.cells > self.limits.cells:
            raise WorkbookError(
                ngettext(
                    "The sheet has more than %(limit)d cell. Copy the columns you need into a new "
                    "workbook, save it and upload that file.",
                    "The sheet has more than %(limit)d cells. Copy the columns you need into a new "
                    "workbook, save it and upload that file.",
                    self.limits.cells,
                )
                % {"limit": self.limits.cells}
            )
        reference = attributes.get("r")
        self.column = _column(reference) if reference else self.column + 1
        if self.cells_in_row > MAX_CELLS_PER_ROW:
            raise self._too_wide()
        self.in_cell = True
        self.cell_type = attributes.get("t")
        self.value = self.formula = self.inline = None
        self.formula_attributes = {}

    def end_cell(self):
        self.in_cell = False
        value = self._value()
        if value != "" and self.row is not None:
            row, column = self.row, self.column
            if column > MAX_CELLS_PER_ROW:
                raise self._too_wide()
            if column == len(row) + 1:
                row.append(value)
            else:
                if column > len(row):
                    row.extend([""] * (column - len(row)))
                row[column - 1] = value

    def _too_wide(self) -> WorkbookError:
        return WorkbookError(
            ngettext(
                "Row %(row)d of the sheet has more than %(limit)d column. Copy the columns you need "
                "into a new workbook, save it and upload that file.",
                "Row %(row)d of the sheet has more than %(limit)d columns. Copy the columns you need "
                "into a new workbook, save it and upload that file.",
                MAX_CELLS_PER_ROW,
            )
            % {"row": self.row_number, "limit": MAX_CELLS_PER_ROW}
        )

    def start_value(self, attributes):
        if self.in_cell:
            self.text, self.text_length = [], 0

    def end_value(self):
        if self.text is not None:
            self.value = "".join(self.text)
            self.text = None

    def start_formula(self, attributes):
        if self.in_cell:
            self.text, self.text_length = [], 0
            self.formula_attributes = attributes

    def end_formula(self):
        if self.text is not None:
            self.formula = "".join(self.text)
            self.text = None

    def start_inline(self, attributes):
        if self.in_cell:
            self.inline = []

    def start_text(self, attributes):
        if self.inline is not None and not self.phonetic:
            self.text, self.text_length = [], 0

    def end_text(self):
        if self.text is not None and self.inline is not None:
            self.inline.append("".join(self.text))
            self.text = None

    def start_phonetic(self, attributes):
        self.phonetic += 1

    def end_phonetic(self):
        self.phonetic -= 1

    def characters(self, data):
        if self.text is not None:
            self.text_length += len(data)
            if self.text_length > MAX_CELL_CHARACTERS:
                raise _long_cell()
            self.character_count += len(data)
            if self.character_count > self.limits.sheet_characters:
                raise _too_much_text(self.limits.sheet_characters)
            self.text.append(data)

    def _value(self):
        """The cell just read as openpyxl's data_only reading gave it (then made text), or a NotCallable."""
        kind = self.cell_type or "n"
        if kind == "inlineStr":
            return "".join(self.inline).strip() if self.inline is not None else self._formula()
        value = self.value
        if self.formula is not None and self.formula_attributes.get("t") == "shared":
            self._remember_shared_formula()
        if not value:
            return self._formula()
        if kind == "n":
            return _number_text(value)
        if kind == "s":
            index = int(value)
            if index < 0:
                raise ValueError(value)
            return self.shared[index].strip()
        if kind == "b":
            return str(bool(int(value)))
        return value.strip()  # "str", "e" (#N/A, ...), "d" (an ISO date as written)

    def _remember_shared_formula(self):
        index = self.formula_attributes.get("si")
        if self.formula and index is not None and index not in self.shared_formulas:
            self.shared_formulas[index] = ("=" + self.formula, _reference(self.row_number, self.column))

    def _formula(self):
        if self.formula is None:
            return ""
        text = "=" + self.formula
        index = self.formula_attributes.get("si")
        if self.formula_attributes.get("t") == "shared" and not self.formula and index in self.shared_formulas:
            text = _translate(*self.shared_formulas[index], _reference(self.row_number, self.column))
        return formula_without_result(text)


def _reference(row: int, column: int) -> str:
    letters = ""
    while column > 0:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return f"{letters}{row}"


def _translate(formula: str, origin: str, destination: str) -> str:
    """A shared formula as it reads in another cell (Excel writes it once, for the first cell)."""
    from openpyxl.formula.translate import Translator

    try:
        return Translator(formula, origin).translate_formula(destination)
    except Exception:  # a formula openpyxl's tokenizer cannot read: show it as written
        return formula


def _number_text(value: str) -> str:
    """A number as text: whole numbers without ".0" (Excel stores 79991234567 as a float)."""
    if "." in value or "E" in value or "e" in value:
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    return str(int(value))
