"""Validation of what staff type into a voice message, in plain language.

Shared by the model (ORM path) and the admin form, so both say the same thing.
"""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

# Exolve documents media_id as uint64; the portal keeps it in a signed 64-bit column.
MEDIA_ID_MAX = 2**63 - 1
REDIRECT_NUMBER_MIN_DIGITS = 9
REDIRECT_NUMBER_MAX_DIGITS = 14
NAME_MAX_LENGTH = 255

media_id_validators = [
    MinValueValidator(1, message=_("The media id must be a whole number of 1 or more.")),
    MaxValueValidator(
        MEDIA_ID_MAX,
        message=_("This media id is too large: Exolve media ids go up to %(limit_value)s."),
    ),
]

redirect_digit_validators = [
    MinValueValidator(0, message=_("The redirect digit must be a single digit from 0 to 9.")),
    MaxValueValidator(9, message=_("The redirect digit must be a single digit from 0 to 9.")),
]

# What people type around the digits of a phone number: spaces, dashes, brackets, dots.
_NUMBER_DECORATION = re.compile(r"[\s\-()\u2010-\u2015.]")


def normalise_redirect_number(value: str | None) -> str:
    """Return the digits of a typed phone number, or "" when empty.

    Strips spaces, dashes, brackets and one leading "+"; raises ValidationError (saying
    what is wrong) unless what remains is 9 to 14 digits. A Russian number is written as
    the called numbers are (`8 (495) 123-45-67` -> `74951234567`, as audiences.phones does;
    voicemessages sits below audiences, so it asks phonenumbers itself); others keep their digits.
    """
    text = _NUMBER_DECORATION.sub("", (value or "").strip())
    international = text.startswith("+")
    if international:
        text = text[1:]
    if not text:
        return ""
    if not (text.isascii() and text.isdigit()):
        raise ValidationError(
            _("A phone number may contain only digits (spaces, dashes, brackets and a leading + are fine)."),
            code="invalid",
        )
    if len(text) < REDIRECT_NUMBER_MIN_DIGITS:
        raise ValidationError(
            ngettext(
                "This phone number is too short: it has %(count)d digit, at least %(min)d are needed.",
                "This phone number is too short: it has %(count)d digits, at least %(min)d are needed.",
                len(text),
            )
            % {"count": len(text), "min": REDIRECT_NUMBER_MIN_DIGITS},
            code="too_short",
        )
    if len(text) > REDIRECT_NUMBER_MAX_DIGITS:
        raise ValidationError(
            ngettext(
                "This phone number is too long: it has %(count)d digit, at most %(max)d are allowed.",
                "This phone number is too long: it has %(count)d digits, at most %(max)d are allowed.",
                len(text),
            )
            % {"count": len(text), "max": REDIRECT_NUMBER_MAX_DIGITS},
            code="too_long",
        )
    return _russian_form(text, international)


def _russian_form(digits: str, international: bool) -> str:
    """`digits` as 7XXXXXXXXXX (Exolve's form) when a valid Russian number (8, 7 or nothing first); else as they are."""
    try:
        number = phonenumbers.parse(("+" if international else "") + digits, "RU")
    except phonenumbers.NumberParseException:
        return digits
    if number.country_code == 7 and phonenumbers.is_valid_number(number):
        return f"7{number.national_number}"
    return digits


def validate_redirect_number(value: str) -> None:
    """Model-field validator: the stored value must already be a valid number or empty."""
    normalised = normalise_redirect_number(value)
    if normalised != (value or ""):
        raise ValidationError(_("Enter the phone number as digits only, for example 79991234567."), code="invalid")


def validate_not_only_spaces(value: str) -> None:
    if value and not value.strip():
        raise ValidationError(_("The name cannot be only spaces."), code="blank")
