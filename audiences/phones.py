"""Phone numbers as people type them -> the 11-digit form Exolve expects (7XXXXXXXXXX).

Parsing is done by `phonenumbers` (region RU), so `+7 (999) 123-45-67`,
`8 999 1234567` and `79991234567` all become `79991234567`. One value may hold several
numbers (`79991234571;79991234572`, commas, spaces): `split_numbers` finds them with
`phonenumbers`' own matcher, and refuses a value it cannot tell apart rather than guess.

Whatever is pasted or uploaded costs time in proportion to its length: a line or cell
longer than `MAX_VALUE_CHARS` is refused before any parsing (no list of numbers on
one line is that long, and `phonenumbers`' matcher is slow on long text), the lines
are counted as they are read and reading stops past the limit, and a list may hold
at most `CHARS_PER_NUMBER` characters per number it may hold.
"""

import re
from dataclasses import dataclass, field

import phonenumbers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

REGION = "RU"
RUSSIA_COUNTRY_CODE = 7


# One line (or cell) holds at most this many characters: a few numbers with separators.
MAX_VALUE_CHARS = 200
# A list of N numbers may take N times this many characters ("+7 (999) 123-45-67" is 18).
CHARS_PER_NUMBER = 40


class InvalidNumber(ValueError):
    """A typed number that cannot be called; `str()` says why in plain words."""


class ListRefused(ValueError):
    """The whole list is refused (too long, a line too long); `str()` says why and what to do."""


class TooManyNumbers(ListRefused):
    """The list holds more numbers than one broadcast may; `str()` says the limit."""


class LineTooLong(ListRefused):
    """A line or value is longer than any list of numbers on one line; `str()` names it."""


@dataclass(frozen=True)
class NotCallable:
    """A value read from a file that is not a number at all (e.g. a formula without a result)."""

    raw: str
    reason: str


# Between two numbers in one value only these may stand (anything else: ambiguous).
_SEPARATORS_ONLY = re.compile(r"[\s,;/|]*")
# A value that is plainly one number: digits and the usual punctuation, no letters.
_PLAIN_NUMBER = re.compile(r"\+?[\d\s\-().]+")
# At least this many digits cannot be one number: say how to separate several.
_SEVERAL_NUMBERS_DIGITS = 20


def normalize(raw: str) -> str:
    """Return the 11-digit form of `raw`, or raise InvalidNumber with the reason."""
    text = str(raw).strip()
    if not text:
        raise InvalidNumber(_("The number is empty."))
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidNumber(_("Far too long for a phone number."))
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            raise InvalidNumber(_too_many_digits(text)) from exc
        if exc.error_type in (
            phonenumbers.NumberParseException.TOO_SHORT_NSN,
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD,
        ):
            raise InvalidNumber(_("Too few digits for a phone number.")) from exc
        raise InvalidNumber(_("This is not a phone number.")) from exc
    if number.country_code != RUSSIA_COUNTRY_CODE:
        raise InvalidNumber(_("Only numbers with the country code +7 can be called."))
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == phonenumbers.ValidationResult.TOO_SHORT:
        raise InvalidNumber(_("Too few digits for a phone number."))
    if possible == phonenumbers.ValidationResult.TOO_LONG:
        raise InvalidNumber(_too_many_digits(text))
    if number.extension:
        # Calling the main number would ring the wrong person (a switchboard), so never do.
        raise InvalidNumber(
            _("The number has an extension (%(extension)s): an automatic call cannot dial it.")
            % {"extension": number.extension}
        )
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(_("No phone number in Russia has this code."))
    digits = f"{number.country_code}{number.national_number}"
    if len(digits) != 11:
        raise InvalidNumber(_("The number must have 11 digits with the country code."))
    return digits


def display_number(number, *, national: bool = False) -> str:
    """A stored number (Exolve's 79161230016) as people write it: `+7 916 123-00-16`.

    `national`: as Russian offices write it in their lists, `8 (916) 123-00-16` (what an
    export gives: a spreadsheet reads a cell starting with "+" as a formula). Anything that
    does not parse (an old row, a value typed by hand) is shown as it is.
    """
    text = str(number or "")
    if not text.isdigit():
        return text
    try:
        parsed = phonenumbers.parse("+" + text, None)
    except phonenumbers.NumberParseException:
        return text
    kind = phonenumbers.PhoneNumberFormat.NATIONAL if national else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, kind)


def _too_many_digits(text: str) -> str:
    if sum(ch.isdigit() for ch in text) >= _SEVERAL_NUMBERS_DIGITS:
        return _("Too many digits for one phone number. Several numbers? Separate them with “;”.")
    return _("Too many digits for a phone number.")


def split_numbers(text: str) -> list[str]:
    """The numbers one value holds, as typed: usually itself; `a;b`, `a, b`, `a b` give both.

    Raises InvalidNumber when the value mixes numbers with other digits or text so that
    which number is meant cannot be told (an unlabelled extension, "a и b"): nothing of it
    is called then.
    """
    text = str(text).strip()
    if not text:
        return []
    if _PLAIN_NUMBER.fullmatch(text) and sum(ch.isdigit() for ch in text) <= 11:
        return [text]  # the common case, without the matcher
    matches = list(phonenumbers.PhoneNumberMatcher(text, REGION, leniency=phonenumbers.Leniency.POSSIBLE))
    rest = _outside(text, matches)
    if matches and _SEPARATORS_ONLY.fullmatch(rest):
        return [text] if len(matches) == 1 else [match.raw_string for match in matches]
    pieces = [piece.strip() for piece in re.split(r"[;,]", text) if piece.strip()]
    if len(pieces) > 1:
        for piece in pieces:
            has_number = any(phonenumbers.PhoneNumberMatcher(piece, REGION, leniency=phonenumbers.Leniency.POSSIBLE))
            if not has_number and any(ch.isdigit() for ch in piece):
                raise InvalidNumber(_ambiguous())  # "79991234567, 12": a second number, or an extension?
        return [number for piece in pieces for number in split_numbers(piece)]
    if len(matches) > 1:
        raise InvalidNumber(_ambiguous())
    return [text]


def _outside(text: str, matches) -> str:
    kept, position = [], 0
    for match in matches:
        kept.append(text[position : match.start])
        position = match.end
    kept.append(text[position:])
    return "".join(kept)


def _ambiguous() -> str:
    return _(
        "Cannot tell the numbers apart: put each number on its own line "
        "(or separate them with “;”), without other text."
    )


@dataclass
class ParsedNumbers:
    """The outcome of reading a list of numbers: what will be called and what will not."""

    valid: list[str] = field(default_factory=list)  # normalised, each once, in input order
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (as typed, reason)
    duplicates: list[str] = field(default_factory=list)  # normalised, once per extra occurrence

    @property
    def counts(self) -> dict:
        return {"valid": len(self.valid), "invalid": len(self.invalid), "duplicates": len(self.duplicates)}


def parse_numbers(values, *, limit: int | None = None) -> ParsedNumbers:
    """Normalise each value; list invalid ones with a reason and duplicates (sent once).

    A value holding several numbers gives each of them; a `NotCallable` value is listed
    as invalid with its reason. More than `limit` numbers in all, or more characters
    than `limit` numbers may take, raise TooManyNumbers; a value longer than
    MAX_VALUE_CHARS raises LineTooLong (checked before it is parsed).
    """
    result = ParsedNumbers()
    seen = set()
    normalized: dict[str, str] = {}  # as typed -> normalised: a number given again is parsed once
    count = 0
    chars = 0
    for position, value in enumerate(values, 1):
        if isinstance(value, NotCallable):
            result.invalid.append((value.raw, value.reason))
            count += 1
            continue
        text = str(value).strip()
        if len(text) > MAX_VALUE_CHARS:
            raise LineTooLong(value_too_long_message(position, len(text)))
        chars += len(text)
        if limit is not None and chars > limit * CHARS_PER_NUMBER:
            raise TooManyNumbers(text_too_long_message(limit))
        try:
            pieces = split_numbers(text)
        except InvalidNumber as exc:
            pieces = []
            result.invalid.append((text, str(exc)))
            count += 1
        for piece in pieces:
            count += 1
            number = normalized.get(piece)
            if number is None:
                try:
                    number = normalize(piece)
                except InvalidNumber as exc:
                    result.invalid.append((piece, str(exc)))
                    continue
                normalized[piece] = number
            if number in seen:
                result.duplicates.append(number)
                continue
            seen.add(number)
            result.valid.append(number)
        if limit is not None and count > limit:
            raise TooManyNumbers(too_many_numbers_message(limit))
    return result


def too_many_numbers_message(limit: int) -> str:
    return ngettext(
        "The list has more than %(limit)d number; send at most %(limit)d at once.",
        "The list has more than %(limit)d numbers; send at most %(limit)d at once.",
        limit,
    ) % {"limit": limit}


def value_too_long_message(position: int, length: int) -> str:
    return _(
        "Number %(position)d of the list is %(length)d characters long, longer than any phone "
        "number (at most %(limit)d characters). Put each number on its own line."
    ) % {"position": position, "length": length, "limit": MAX_VALUE_CHARS}


def line_too_long_message(line: int, length: int) -> str:
    return _(
        "Line %(line)d is %(length)d characters long, longer than any phone number "
        "(at most %(limit)d characters). Put each number on its own line."
    ) % {"line": line, "length": length, "limit": MAX_VALUE_CHARS}


def text_too_long_message(limit: int) -> str:
    return _(
        "The list is too long: %(limit)d numbers take at most %(chars)d characters. "
        "Put each number on its own line, without other text, and send at most %(limit)d at once."
    ) % {"limit": limit, "chars": limit * CHARS_PER_NUMBER}


def pasted_text_limit(max_numbers: int) -> int:
    """How many characters pasted text for `max_numbers` numbers may have (blank lines and spaces included)."""
    return max_numbers * CHARS_PER_NUMBER


def pasted_text_too_long_message(length: int, max_numbers: int) -> str:
    return _(
        "The pasted text is too long (%(length)d characters); at most %(limit)d characters "
        "(%(count)d numbers, one per line) can be pasted at once. Paste fewer numbers, or upload a file."
    ) % {"length": length, "limit": pasted_text_limit(max_numbers), "count": max_numbers}


# splitlines()' line boundaries; a run of anything else is one line.
_LINE = re.compile("[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


def split_lines(text: str, *, limit: int | None = None) -> list[str]:
    """Numbers pasted one per line (a line may hold several: `parse_numbers` splits it).

    Read line by line, in time linear in the text: a line longer than MAX_VALUE_CHARS
    raises LineTooLong naming it, and more than `limit` non-empty lines raise
    TooManyNumbers as soon as the line past it is reached (the rest is not read).
    """
    lines = []
    for match in _LINE.finditer(text or ""):
        line = match.group().strip()
        if not line:
            continue
        if len(line) > MAX_VALUE_CHARS:
            raise LineTooLong(line_too_long_message(_line_number(text, match.start()), len(line)))
        lines.append(line)
        if limit is not None and len(lines) > limit:
            raise TooManyNumbers(too_many_numbers_message(limit))
    return lines


def _line_number(text: str, position: int) -> int:
    """The 1-based line of `position`, whether lines end as on Windows, Unix or old Macs."""
    return max(text.count("\n", 0, position), text.count("\r", 0, position)) + 1
