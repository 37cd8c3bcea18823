"""The package checks of an uploaded workbook (XLSX): its archive and its XML, read within bounds.

The limits, the archive's checks before any part is parsed, the reader of a member that stops
at its limit, and the streaming expat parser every part goes through (no DOCTYPE, elements,
depth and token sizes counted), and the shared strings. What is read of the sheet is audiences.workbooks, which
explains the whole.
"""

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from xml.parsers import expat

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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
