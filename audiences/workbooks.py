"""Reading the first sheet of an uploaded workbook (XLSX) within fixed bounds of memory and time.

Any Operator may upload a workbook, so a workbook is hostile until read. openpyxl, which this
replaced, read `styles.xml`, `workbook.xml` and `[Content_Types].xml` whole, kept every parsed row
attached to its sheet, built a row of any width and checked the size of the shared strings only
when their part was named so: files under the 5 MB upload limit took gigabytes (issue 19). Here:

- The archive is checked before any part is parsed, whatever the parts are called: the size of
  its directory, the number of members, each member's unpacked size, their total and each
  member's compression ratio (limits below, in multiples of `EXOLVE_UPLOAD_MAX_BYTES`). Only
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

Every limit holds inside the process: no child process is needed.
"""

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from xml.parsers import expat

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .phones import NotCallable

# --- Limits (multiples of the upload limits, read from settings at each reading) -----------------
# A real workbook's directory is a few KB; zipfile builds an object for every entry of it.
MAX_DIRECTORY_BYTES = 256 * 1024
MAX_MEMBERS = 1000
# One member unpacked, and all of them: a sheet deflates about 8 times.
MEMBER_BYTES_PER_UPLOAD_BYTE = 10
TOTAL_BYTES_PER_UPLOAD_BYTE = 20
# Unpacked over packed, for members above RATIO_FLOOR_BYTES: spreadsheets reach about 10; deflate 1,032.
MAX_COMPRESSION_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024
# Rows of the sheet, empty ones included: a multiple of EXOLVE_UPLOAD_MAX_ROWS plus room for headers and gaps.
ROWS_PER_UPLOAD_ROW = 3
ROWS_SLACK = 1000
# Cells in one row, and the last column a value may stand in.
MAX_CELLS_PER_ROW = 1000
# Cells of the sheet, empty ones included: 7 per allowed row plus room for small lists (80,000 at
# the default 10,000 rows: 8 columns). A reading's time grows with its cells: at this limit it is
# within 2 x that of a normal 10,000-row list (bench/bench_workbooks.py).
CELLS_PER_UPLOAD_ROW = 7
CELLS_SLACK = 10_000
# Shared strings (distinct texts of the whole workbook) and their characters.
SHARED_STRINGS_PER_UPLOAD_ROW = 9
SHARED_STRINGS_SLACK = 10_000  # 100,000 at the default 10,000 rows
SHARED_CHARACTERS_PER_UPLOAD_BYTE = 1
# Characters of text written in the sheet itself (values, inline strings, formulas).
SHEET_CHARACTERS_PER_UPLOAD_BYTE = 1
# Excel's own limit for the text of one cell.
MAX_CELL_CHARACTERS = 32_767
# Elements of a part: per cell of the sheet, per shared string, and for the small parts.
ELEMENTS_PER_CELL = 4
ELEMENTS_PER_SHARED_STRING = 10
ELEMENTS_SLACK = 30_000
MAX_SMALL_PART_ELEMENTS = 20_000
MAX_DEPTH = 64
MAX_TOKEN_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024

CONTENT_TYPES = "[Content_Types].xml"
PACKAGE_RELATIONSHIPS = "_rels/.rels"
DEFAULT_WORKBOOK = "xl/workbook.xml"
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


@dataclass(frozen=True)
class WorkbookLimits:
    """The limits of one reading, from EXOLVE_UPLOAD_MAX_BYTES and EXOLVE_UPLOAD_MAX_ROWS."""

    member_bytes: int
    total_bytes: int
    rows: int
    cells: int
    shared_strings: int
    shared_characters: int
    sheet_characters: int

    @classmethod
    def from_settings(cls) -> "WorkbookLimits":
        upload_bytes = settings.EXOLVE_UPLOAD_MAX_BYTES
        upload_rows = settings.EXOLVE_UPLOAD_MAX_ROWS
        return cls(
            member_bytes=MEMBER_BYTES_PER_UPLOAD_BYTE * upload_bytes,
            total_bytes=TOTAL_BYTES_PER_UPLOAD_BYTE * upload_bytes,
            rows=ROWS_PER_UPLOAD_ROW * upload_rows + ROWS_SLACK,
            cells=CELLS_PER_UPLOAD_ROW * upload_rows + CELLS_SLACK,
            shared_strings=SHARED_STRINGS_PER_UPLOAD_ROW * upload_rows + SHARED_STRINGS_SLACK,
            shared_characters=SHARED_CHARACTERS_PER_UPLOAD_BYTE * upload_bytes,
            sheet_characters=SHEET_CHARACTERS_PER_UPLOAD_BYTE * upload_bytes,
        )


class WorkbookError(ValueError):
    """The workbook cannot be read; `str()` says why and what to do, in plain words."""


class NotAWorkbook(WorkbookError):
    """A ZIP archive that is no workbook (a .docx, an archive of files)."""


class _Stop(Exception):
    """Raised inside expat's handlers: everything needed has been read."""


def damaged() -> str:
    return _("The XLSX file is damaged and cannot be read. Open it in Excel, save it again and upload it.")


def _unusual(reason: str) -> WorkbookError:
    return WorkbookError(
        _(
            "This XLSX file is built in a way Excel never builds a workbook (%(reason)s), so it is not read. "
            "Open it in Excel, save it again and upload the new file."
        )
        % {"reason": reason}
    )


def _too_large_unpacked(limit: int) -> WorkbookError:
    return WorkbookError(
        _(
            "The XLSX file is too large once unpacked (more than %(limit)d MB). Copy the phone column "
            "into a new workbook, save it and upload that file."
        )
        % {"limit": limit // (1024 * 1024)}
    )


def _too_much_text(limit: int) -> WorkbookError:
    return WorkbookError(
        _(
            "The workbook holds more than %(limit)d characters of text, more than a list of numbers needs. "
            "Copy the phone column into a new workbook, save it and upload that file."
        )
        % {"limit": limit}
    )


def _too_many_texts(limit: int) -> WorkbookError:
    return WorkbookError(
        ngettext(
            "The workbook holds more than %(limit)d different text, more than a list of numbers needs. "
            "Copy the phone column into a new workbook, save it and upload that file.",
            "The workbook holds more than %(limit)d different texts, more than a list of numbers needs. "
            "Copy the phone column into a new workbook, save it and upload that file.",
            limit,
        )
        % {"limit": limit}
    )


def _long_cell() -> WorkbookError:
    return WorkbookError(
        _(
            "A cell of the workbook holds more than %(limit)d characters, more than Excel allows. "
            "Open the file in Excel, save it again and upload it."
        )
        % {"limit": MAX_CELL_CHARACTERS}
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


# --- The archive --------------------------------------------------------------------------------


def _open_archive(data: bytes, limits: WorkbookLimits) -> zipfile.ZipFile:
    """The archive, once its directory and every member's declared sizes are within the limits."""
    source = io.BytesIO(data)
    # zipfile reads the directory whole, in the size its end record gives: check that size first.
    end = zipfile._EndRecData(source)  # noqa: SLF001 (the very record ZipFile reads next)
    if end is None:
        raise WorkbookError(damaged())
    if end[zipfile._ECD_SIZE] > MAX_DIRECTORY_BYTES:  # noqa: SLF001
        raise _unusual(_("more than %(limit)d parts") % {"limit": MAX_MEMBERS})
    archive = zipfile.ZipFile(source)
    try:
        _check_members(archive.infolist(), limits)
    except WorkbookError:
        archive.close()
        raise
    return archive


def _check_members(members: list[zipfile.ZipInfo], limits: WorkbookLimits):
    if len(members) > MAX_MEMBERS:
        raise _unusual(_("more than %(limit)d parts") % {"limit": MAX_MEMBERS})
    total = 0
    for info in members:
        if info.file_size > limits.member_bytes:
            raise _too_large_unpacked(limits.member_bytes)
        total += info.file_size
        if total > limits.total_bytes:
            raise _too_large_unpacked(limits.total_bytes)
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise _unusual(_("packed more than %(ratio)d times") % {"ratio": MAX_COMPRESSION_RATIO})


def _member_chunks(archive: zipfile.ZipFile, name: str, limits: WorkbookLimits) -> Iterator[bytes]:
    """The unpacked bytes of member `name`, in pieces; stops at the limits, whatever its header says."""
    info = archive.getinfo(name)
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise WorkbookError(damaged())  # encrypted or packed in a way Excel never uses
    ratio_limit = max(RATIO_FLOOR_BYTES, MAX_COMPRESSION_RATIO * info.compress_size)
    read = 0
    with archive.open(info) as member:
        while chunk := member.read(CHUNK_BYTES):
            read += len(chunk)
            if read > limits.member_bytes:
                raise _too_large_unpacked(limits.member_bytes)
            if read > ratio_limit:
                raise _unusual(_("packed more than %(ratio)d times") % {"ratio": MAX_COMPRESSION_RATIO})
            yield chunk


# --- Streaming XML ------------------------------------------------------------------------------


class _Part:
    """Parses one part with expat; subclasses name the elements they handle (`on_start`, `on_end`).

    Names are matched without their prefix ("x:row" is a row: some generators write prefixes);
    every other element is only counted.
    """

    max_elements = MAX_SMALL_PART_ELEMENTS
    on_start: dict[str, str] = {}
    on_end: dict[str, str] = {}

    def __init__(self):
        self.depth = 0
        self.elements = 0
        self.root = None
        self.starts = {name: getattr(self, method) for name, method in self.on_start.items()}
        self.ends = {name: getattr(self, method) for name, method in self.on_end.items()}

    def parse(self, chunks: Iterator[bytes]) -> Iterator[None]:
        """Feeds the part to expat; yields after each piece (for a caller that streams results)."""
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._doctype
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self.characters
        since_markup = 0
        try:
            for chunk in chunks:
                last = chunk.rfind(b"<")
                if last < 0:
                    since_markup += len(chunk)
                elif since_markup + chunk.find(b"<") > MAX_TOKEN_BYTES:
                    since_markup = MAX_TOKEN_BYTES + 1
                else:
                    since_markup = len(chunk) - last - 1
                if since_markup > MAX_TOKEN_BYTES:
                    raise _unusual(_("more than %(limit)d bytes without markup") % {"limit": MAX_TOKEN_BYTES})
                parser.Parse(chunk, False)
                yield
            parser.Parse(b"", True)
        except _Stop:
            pass
        yield

    def _doctype(self, *args):
        raise _unusual(_("a DOCTYPE declaration"))

    def _start(self, name, attributes):
        self.elements += 1
        self.depth += 1
        if self.elements > self.max_elements:
            raise _unusual(_("more than %(limit)d elements in one part") % {"limit": self.max_elements})
        if self.depth > MAX_DEPTH:
            raise _unusual(_("elements nested more than %(limit)d deep") % {"limit": MAX_DEPTH})
        if self.root is None:
            self.root = name.rpartition(":")[2]
        handler = self.starts.get(name)
        if handler is not None:
            handler(attributes)
        elif ":" in name:
            handler = self.starts.get(name.rpartition(":")[2])
            if handler is not None:
                handler(attributes)

    def _end(self, name):
        self.depth -= 1
        handler = self.ends.get(name)
        if handler is not None:
            handler()
        elif ":" in name:
            handler = self.ends.get(name.rpartition(":")[2])
            if handler is not None:
                handler()

    def characters(self, data: str):
        pass

    def read(self, chunks: Iterator[bytes]):
        for _piece in self.parse(chunks):
            pass
        return self


class _Elements(_Part):
    """The attributes of every element of one name (relationships, sheets, content types), in order."""

    def __init__(self, wanted: str):
        self.on_start = {wanted: "collect"}
        super().__init__()
        self.found: list[dict] = []

    def collect(self, attributes):
        if len(self.found) >= MAX_MEMBERS:
            raise _unusual(_("more than %(limit)d parts") % {"limit": MAX_MEMBERS})
        self.found.append({key.rpartition(":")[2]: value for key, value in attributes.items()})


def _elements(archive, name, wanted, limits) -> _Elements:
    return _Elements(wanted).read(_member_chunks(archive, name, limits))


def _relationships(archive, part: str, limits) -> dict[str, tuple[str, str]]:
    """{id: (type, target part)} of the internal relationships of `part`, targets resolved as openpyxl does."""
    folder, _slash, file_name = part.rpartition("/")
    rels = f"{folder}/_rels/{file_name}.rels" if folder else f"_rels/{file_name}.rels"
    if rels not in archive.NameToInfo:
        return {}
    result = {}
    for rel in _elements(archive, rels, "Relationship", limits).found:
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        target = target[1:] if target.startswith("/") else _join(folder, target)
        result.setdefault(rel.get("Id", ""), (rel.get("Type", ""), target))
    return result


def _join(folder: str, target: str) -> str:
    """posixpath.normpath(folder/target), without climbing above the archive's root."""
    parts: list[str] = []
    for piece in f"{folder}/{target}".split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _locate_parts(archive: zipfile.ZipFile, limits) -> tuple[str, str | None]:
    """(the first worksheet's part, the shared strings' part or None)."""
    names = archive.NameToInfo
    if CONTENT_TYPES not in names:
        raise NotAWorkbook(damaged())
    package = _relationships(archive, PACKAGE_RELATIONSHIPS, limits).values()
    workbook = next((target for kind, target in package if kind.endswith("/officeDocument")), DEFAULT_WORKBOOK)
    if workbook not in names:
        raise NotAWorkbook(damaged())
    sheets = _elements(archive, workbook, "sheet", limits)
    if sheets.root != "workbook":
        raise NotAWorkbook(damaged())  # a .docx or a presentation
    relationships = _relationships(archive, workbook, limits)
    strings = next(
        (target for kind, target in relationships.values() if kind.endswith("/sharedStrings") and target in names),
        None,
    )
    if strings is None:  # found through the content types, as openpyxl finds it
        for override in _elements(archive, CONTENT_TYPES, "Override", limits).found:
            part = override.get("PartName", "").lstrip("/")
            if override.get("ContentType") == SHARED_STRINGS_TYPE and part in names:
                strings = part
                break
    for sheet in sheets.found:
        kind, target = relationships.get(sheet.get("id", ""), ("", ""))
        if kind.endswith("/worksheet") and target in names:
            return target, strings
    raise WorkbookError(_("The workbook has no sheets."))


# --- Shared strings -----------------------------------------------------------------------------


class _SharedStrings(_Part):
    """Every `<si>`'s text (its `<t>`s, phonetic runs left out), counted and bounded."""

    on_start = {"si": "start_item", "t": "start_text", "rPh": "start_phonetic"}
    on_end = {"si": "end_item", "t": "end_text", "rPh": "end_phonetic"}

    def __init__(self, limits: WorkbookLimits):
        super().__init__()
        self.limits = limits
        self.max_elements = ELEMENTS_PER_SHARED_STRING * limits.shared_strings + ELEMENTS_SLACK
        self.strings: list[str] = []
        self.character_count = 0
        self.pieces: list[str] | None = None
        self.text: list[str] | None = None
        self.text_length = 0
        self.phonetic = 0

    def start_item(self, attributes):
        self.pieces = []

    def start_text(self, attributes):
        if self.pieces is not None and not self.phonetic:
            self.text, self.text_length = [], 0

    def start_phonetic(self, attributes):
        self.phonetic += 1

    def end_phonetic(self):
        self.phonetic -= 1

    def characters(self, data):
        if self.text is not None:
            self.text_length += len(data)
            if self.text_length > MAX_CELL_CHARACTERS:
                raise _long_cell()
            self.text.append(data)

    def end_text(self):
        if self.text is not None:
            self.pieces.append("".join(self.text))
            self.text = None

    def end_item(self):
        if self.pieces is None:
            return
        # openpyxl's reading of the "_x005F_" escape, kept so that texts read as before.
        text = "".join(self.pieces).replace("x005F_", "")
        self.pieces = None
        if len(text) > MAX_CELL_CHARACTERS:
            raise _long_cell()
        self.character_count += len(text)
        if self.character_count > self.limits.shared_characters:
            raise _too_much_text(self.limits.shared_characters)
        if len(self.strings) >= self.limits.shared_strings:
            raise _too_many_texts(self.limits.shared_strings)
        self.strings.append(text)


def _read_shared_strings(archive, name, limits) -> list[str]:
    return _SharedStrings(limits).read(_member_chunks(archive, name, limits)).strings


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
