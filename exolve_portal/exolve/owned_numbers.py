"""number/customer/v1/GetList: the numbers the application owns, every page, typed.

Documented in full (`exolve-media-sms-api.md`, "Numbers owned by the application"), but
its own example disagrees with its table: fees are numbers there and strings in the
table, the forwarding blocks objects or arrays, `redirect_type` a string. So every
field is read leniently; only a row without its number, or an answer that is not the
documented list, is refused (reading it as "no numbers" would mark every number gone).
Django-free, like the rest of the client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from . import errors
from .endpoints import NUMBERS_GET_LIST

# The documented type names, in the staff's words.
KIND_BY_TYPE = {"DEF": "mobile", "ABC": "city", "KDU": "8-800"}
# Rows asked for per page (what the clients seen in the wild ask for).
PAGE_SIZE = 100
# More numbers than this is no team's set of caller numbers: refused rather than read on.
MAX_NUMBERS = 10_000


class TooManyNumbersError(errors.MalformedResponseError):
    """Exolve says the application owns more numbers than the portal reads (or pages on for ever)."""

    describe = "Exolve lists more numbers than the portal reads"
    explanation = errors._(
        "Exolve lists more numbers than the portal can take (at most 10,000). Nothing was changed here; "
        "tell the administrator."
    )
    may_have_reached = False


@dataclass(frozen=True)
class NumberOptions:
    incoming_calls: bool = False
    outgoing_calls: bool = False
    incoming_sms: bool = False
    outgoing_sms: bool = False


@dataclass(frozen=True)
class OwnedNumber:
    """One NumberElement of GetList."""

    number_name: str
    type_name: str
    region_name: str
    category_name: str
    description: str
    options: NumberOptions
    create_date: datetime | None
    subscription_fee: Decimal | None
    install_fee: Decimal | None
    raw: dict = field(repr=False, compare=False)

    @property
    def kind(self) -> str:
        """ "mobile", "city", "8-800", or "" for a type the documentation does not name."""
        return KIND_BY_TYPE.get(self.type_name.upper(), "")


def list_numbers(
    post: Callable[[str, dict], dict],
    *,
    type_name: str | None = None,
    search_filter: str | None = None,
    page_size: int = PAGE_SIZE,
    max_numbers: int = MAX_NUMBERS,
) -> list[OwnedNumber]:
    """Every number GetList returns, paging by `limit`/`offset` until `offset + rows >= total`.

    `post(endpoint, body)` is the client's request (its retries, rate limit and errors).
    Bounded: more than `max_numbers` (by `total` or by rows), or more pages than that
    many numbers need, raises TooManyNumbersError. A number met twice (the list moved
    while it was read) is kept once.
    """
    filters = {key: value for key, value in (("type_name", type_name), ("search_filter", search_filter)) if value}
    found: dict[str, OwnedNumber] = {}
    offset = pages = 0
    while True:
        data = post(NUMBERS_GET_LIST, {**filters, "limit": page_size, "offset": offset})
        rows, total = _page(data)
        pages += 1
        if total > max_numbers or len(found) + len(rows) > max_numbers or pages > max_numbers // page_size + 1:
            raise TooManyNumbersError(f"total {total}", status=200, body=str(data)[:2000], endpoint=NUMBERS_GET_LIST)
        for row in rows:
            found.setdefault(row.number_name, row)
        offset += len(rows)
        if not rows or offset >= total:
            return list(found.values())


def _page(data: dict) -> tuple[list[OwnedNumber], int]:
    """(the rows, `total`) of one answer. Protobuf's JSON leaves out empty lists and zeros: `{}` is no numbers."""
    items = data.get("numbers")
    if items is None and set(data) <= {"total"}:
        items = []
    total = _as_int(data.get("total", 0))
    if not isinstance(items, list) or total is None or total < 0:
        raise errors.MalformedResponseError(
            "numbers is not a list, or total not a count", status=200, body=str(data)[:2000], endpoint=NUMBERS_GET_LIST
        )
    return [parse_number(item) for item in items], total


def parse_number(item: Any) -> OwnedNumber:
    """One NumberElement; MalformedResponseError when it is not an object with a number."""
    number = item.get("number_name") if isinstance(item, dict) else None
    if isinstance(number, int) and not isinstance(number, bool):
        number = str(number)
    if not isinstance(number, str) or not number.strip():
        raise errors.MalformedResponseError(
            "a number without number_name", status=200, body=str(item)[:2000], endpoint=NUMBERS_GET_LIST
        )
    options = _one_object(item.get("number_options"))
    return OwnedNumber(
        number_name=number.strip().lstrip("+"),
        type_name=_text(item.get("type_name")).strip(),
        region_name=_text(item.get("region_name")),
        category_name=_text(item.get("category_name")),
        description=_text(item.get("description")),
        options=NumberOptions(**{name: _flag(options.get(name)) for name in NumberOptions.__dataclass_fields__}),
        create_date=_datetime(item.get("create_date")),
        subscription_fee=_money(item.get("subscription_fee")),
        install_fee=_money(item.get("install_fee")),
        raw=item,
    )


def _one_object(value: Any) -> dict:
    """An object, or the first object of an array (the example and the table disagree)."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    return value if isinstance(value, dict) else {}


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return value is True or (isinstance(value, int) and value == 1)


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value)[:500]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _money(value: Any) -> Decimal | None:
    """150, "150" or "150.00" (the table says string, the example a number)."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
