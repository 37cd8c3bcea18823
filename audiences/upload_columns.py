"""The columns of an uploaded list as offices make them: which one holds the phones, which the names.

Headers are compared without case or punctuation ("Моб. телефон:" is "моб телефон"); a
header that contains "телефон" or "phone" names a phone column too. What a file says
besides the number (the person's name, a contract number, a city) is kept per row,
bounded (`MAX_DETAIL_COLUMNS` columns, `MAX_DETAIL_CHARS` characters a value), so the
calls can be read back against the office's own list.
"""

import re
from dataclasses import dataclass, field

# Headers (compared as `header_key` gives them) that name a phone column.
PHONE_HEADERS = frozenset(
    {
        "phone",
        "phones",
        "phone number",
        "telephone",
        "tel",
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "number",
        "msisdn",
        "destination",
        "телефон",
        "номер",
        "номер телефона",
        "мобильный",
        "мобильный телефон",
        "моб",
        "моб тел",
        "моб телефон",
        "тел",
        "сотовый",
        "сотовый телефон",
        "контактный телефон",
        "контактный номер",
    }
)
# Words that, inside a longer header, still name a phone column ("Телефон клиента").
PHONE_HEADER_WORDS = ("телефон", "phone")

# Headers of a person's name; several (Фамилия, Имя, Отчество) are joined in the file's order.
NAME_HEADERS = frozenset(
    {
        "фио",
        "ф и о",
        "фамилия имя отчество",
        "имя",
        "фамилия",
        "отчество",
        "клиент",
        "контакт",
        "контактное лицо",
        "name",
        "full name",
        "first name",
        "last name",
        "surname",
        "client",
        "contact",
    }
)

# Headers of an optional column of the callees' time zones (IANA names such as "Asia/Vladivostok").
ZONE_HEADERS = frozenset({"time zone", "timezone", "tz", "часовой пояс", "пояс"})

# What is kept of a row besides its number: at most this many columns, this many characters each.
MAX_DETAIL_COLUMNS = 20
MAX_DETAIL_CHARS = 200
# The key of the person's name in a call's details.
NAME_KEY = "name"

_PUNCTUATION = re.compile(r"[^\w\s]+|_")
_SPACES = re.compile(r"\s+")


def header_key(cell: str) -> str:
    """A header as compared: lower case, punctuation and repeated spaces gone."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", str(cell).lower())).strip()


def is_phone_header(cell: str) -> bool:
    """Whether `cell` is one of the phone headers, whatever its case and punctuation."""
    return header_key(cell) in PHONE_HEADERS


def phone_header_index(cells: list[str], chosen: str = "") -> int | None:
    """The phone column of a header row: an exact name first, then a header containing "телефон"/"phone".

    `chosen`: the header a person picked from the file's columns (only it is looked for).
    """
    if chosen:
        key = header_key(chosen)
        return next((i for i, cell in enumerate(cells) if cell and header_key(cell) == key), None)
    for index, cell in enumerate(cells):
        if cell and is_phone_header(cell):
            return index
    for index, cell in enumerate(cells):
        key = header_key(cell)
        if key and any(word in key for word in PHONE_HEADER_WORDS):
            return index
    return None


def zone_header_index(cells: list[str], phone_column: int) -> int | None:
    """The time-zone column of a header row, or None."""
    for index, cell in enumerate(cells):
        if index != phone_column and header_key(cell) in ZONE_HEADERS:
            return index
    return None


def column_letter(index: int) -> str:
    """A column's letter as a spreadsheet shows it: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


@dataclass
class DetailColumns:
    """Which cells of a row, besides the phone and zone, are kept with its number, under which keys."""

    names: list[int] = field(default_factory=list)
    others: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def of_header(cls, header: list[str], skip: set[int]) -> "DetailColumns":
        columns = cls()
        seen = {NAME_KEY}
        for index, cell in enumerate(header):
            if index in skip or not cell:
                continue
            if header_key(cell) in NAME_HEADERS:
                columns.names.append(index)
                continue
            key = _bounded(cell)
            if key in seen or len(columns.others) >= MAX_DETAIL_COLUMNS - 1:
                continue
            seen.add(key)
            columns.others.append((index, key))
        return columns

    def of_row(self, row: list, text) -> dict[str, str]:
        """{"name": the name cells joined, header: cell}, empty cells left out, each value bounded.

        `text(cell)` gives a cell's text; only the kept columns' cells are read.
        """
        details = {}
        names = (text(row[i]) for i in self.names if i < len(row))
        if name := " ".join(part for part in names if part):
            details[NAME_KEY] = _bounded(name)
        for index, key in self.others:
            if index < len(row) and (value := text(row[index])):
                details[key] = _bounded(value)
        return details


@dataclass
class ColumnsRead:
    """Which column and rows of the file the numbers came from, for the preview."""

    header: str = ""  # the phone column's header ("" for a single column without one)
    letter: str = "A"
    first_row: int = 0
    last_row: int = 0
    title_rows: int = 0  # rows above the header that were skipped (a title)
    headers: list[str] = field(default_factory=list)  # every header found (for a person to choose from)
