"""Phone numbers as people type them -> the 11-digit form Exolve expects (7XXXXXXXXXX).

Parsing is done by `phonenumbers` (region RU), so `+7 (999) 123-45-67`,
`8 999 1234567` and `79991234567` all become `79991234567`.
"""

from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

from exolve_portal.exolve import sandbox

REGION = "RU"
RUSSIA_COUNTRY_CODE = 7


class InvalidNumber(ValueError):
    """A typed number that cannot be called; `str()` says why in plain words."""


def normalize(raw: str) -> str:
    """Return the 11-digit form of `raw`, or raise InvalidNumber with the reason."""
    text = str(raw).strip()
    if not text:
        raise InvalidNumber(_("The number is empty."))
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            raise InvalidNumber(_("Too many digits for a phone number.")) from exc
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
        raise InvalidNumber(_("Too many digits for a phone number."))
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(_("No phone number in Russia has this code."))
    digits = f"{number.country_code}{number.national_number}"
    if len(digits) != 11:
        raise InvalidNumber(_("The number must have 11 digits with the country code."))
    return digits


@dataclass
class ParsedNumbers:
    """The outcome of reading a list of numbers: what will be called and what will not."""

    valid: list[str] = field(default_factory=list)  # normalised, each once, in input order
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (as typed, reason)
    duplicates: list[str] = field(default_factory=list)  # normalised, once per extra occurrence

    @property
    def counts(self) -> dict:
        return {"valid": len(self.valid), "invalid": len(self.invalid), "duplicates": len(self.duplicates)}


def parse_numbers(values) -> ParsedNumbers:
    """Normalise each value; list invalid ones with a reason and duplicates (sent once)."""
    result = ParsedNumbers()
    seen = set()
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            number = normalize(text)
        except InvalidNumber as exc:
            result.invalid.append((text, str(exc)))
            continue
        if number in seen:
            result.duplicates.append(number)
            continue
        seen.add(number)
        result.valid.append(number)
    return result


def split_lines(text: str) -> list[str]:
    """Numbers pasted one per line (commas and semicolons also separate them)."""
    normalized = (text or "").replace(";", "\n").replace(",", "\n")
    return [line.strip() for line in normalized.splitlines() if line.strip()]


def source_numbers() -> list[str]:
    """The team's caller numbers staff may choose from (sandbox numbers in sandbox mode)."""
    numbers = [str(n).strip() for n in settings.EXOLVE_SOURCE_NUMBERS if str(n).strip()]
    if not numbers and settings.EXOLVE_SANDBOX:
        numbers = list(sandbox.SANDBOX_SOURCE_NUMBERS)
    return numbers
