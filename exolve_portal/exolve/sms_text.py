"""How many SMS parts a text takes: GSM-7 (160 per SMS, 153 per part when split) or UCS-2 (70, 67).

The same sums run in the browser (static/js/sms_counter.js) as staff type; this is the
one the portal trusts (the plan's checks, the preview's estimate). Django-free.

A text is GSM-7 when every character is in the GSM 03.38 basic set or its extension
table (the extension's characters take two septets each); one character outside both
(a Cyrillic letter, an emoji) makes the whole text UCS-2, counted in UTF-16 code units
(an emoji outside the BMP takes two).
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC, _EXTENSION = frozenset(GSM7_BASIC) - {"\x1b"}, frozenset(GSM7_EXTENSION)

# (one SMS, each part of a split one), in characters of the encoding.
GSM7_SIZES = (160, 153)
UCS2_SIZES = (70, 67)
# Undocumented: a text longer than this many parts is refused (one client's comment says
# long texts are split "до 10"; docs/exolve-api.md).
MAX_PARTS = 10


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # characters as the encoding counts them
    parts: int  # SMS parts it is sent as (0 for an empty text)
    per_part: int  # characters per part at this length

    @property
    def too_long(self) -> bool:
        return self.parts > MAX_PARTS

    @property
    def max_units(self) -> int:
        """The most characters of this encoding a text may have."""
        return (GSM7_SIZES if self.encoding == "GSM-7" else UCS2_SIZES)[1] * MAX_PARTS


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def sms_size(text: str) -> SmsSize:
    """The encoding, length and number of parts of `text` as an SMS."""
    if is_gsm7(text):
        encoding, sizes = "GSM-7", GSM7_SIZES
        units = sum(2 if ch in _EXTENSION else 1 for ch in text)
    else:
        encoding, sizes = "UCS-2", UCS2_SIZES
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    if units == 0:
        return SmsSize(encoding, 0, 0, sizes[0])
    if units <= sizes[0]:
        return SmsSize(encoding, units, 1, sizes[0])
    return SmsSize(encoding, units, -(-units // sizes[1]), sizes[1])
