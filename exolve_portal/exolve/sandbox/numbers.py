"""number/customer/v1/GetList in the sandbox, and the numbers its account owns.

As strict as the documentation (`exolve-media-sms-api.md`, "Numbers owned by the
application"): only the documented request fields, each of its documented type; the
401s and their texts; paging by `limit`/`offset` with `total`. The refusals read as the
documented examples do (`proto: syntax error (line 2:16): invalid value п`), with the
line and column of the offending value. Where the documentation is silent the choice
is marked "undocumented" (and listed in `docs/exolve-api.md`).
"""

from __future__ import annotations

import json
from datetime import datetime

from ..sandbox_account import SANDBOX_SOURCE_NUMBERS

MSG_UNAUTHORIZED = "Unauthorized"
MSG_MALFORMED_TOKEN = "malformed token"

# The sandbox's one application (what `application_uuid` must name to match).
APPLICATION_UUID = "05f28d32-3cef-4bb5-9164-424e954aefb1"
APPLICATION_NAME = "Voice portal (sandbox)"

_UINT64_MAX = 2**64 - 1
_STRING, _UINT64, _SIP_FILTER, _DATE = "string", "uint64", "sip_filter", "date"
# The documented request fields and their types; anything else is refused.
REQUEST_FIELDS = {
    "application_uuid": _STRING,
    "type_name": _STRING,
    "category_id": _UINT64,
    "region_id": _UINT64,
    "date_from": _DATE,
    "date_to": _DATE,
    "search_filter": _STRING,
    "limit": _UINT64,
    "offset": _UINT64,
    "sip_filter": _SIP_FILTER,
}
SIP_FILTERS = (0, 1, 2)  # no filter, no SIP connection bound, SIP connection bound


def _number(number_name, type_name, region, category, description, fees, options, created):
    (region_name, region_id), (category_name, category_id) = region, category
    return {
        "number_name": number_name,
        "type_name": type_name,
        "region_name": region_name,
        "region_id": region_id,
        "category_name": category_name,
        "category_id": category_id,
        "description": description,
        "subscription_fee": fees[0],
        "install_fee": fees[1],
        "create_date": created,
        "number_options": dict(
            zip(("incoming_calls", "outgoing_calls", "incoming_sms", "outgoing_sms"), options, strict=True)
        ),
    }


_MOSCOW, _RUSSIA = ("Moscow", 10230), ("Russia", 10084)
# A few of each type: the two city numbers the portal's sandbox mode offers, two mobile
# ones, one 8-800 (only with region Russia, and it cannot call out). The fees come as the
# example writes them (numbers) and as the table says (strings), so a client reads both.
DEFAULT_NUMBERS = (
    _number(
        SANDBOX_SOURCE_NUMBERS[0],
        "ABC",
        _MOSCOW,
        ("Обычный", 10001),
        "Office",
        (150, 590),
        (True, True, False, False),
        "2025-03-03T09:00:00Z",
    ),  # fmt: skip
    _number(
        SANDBOX_SOURCE_NUMBERS[1],
        "ABC",
        _MOSCOW,
        ("Бронзовый", 10011),
        "Deliveries",
        ("150", "590"),
        (True, True, False, False),
        "2025-03-04T09:00:00Z",
    ),  # fmt: skip
    _number(
        "79991234501",
        "DEF",
        _MOSCOW,
        ("Обычный", 10000),
        "",
        (150, 0),
        (True, True, True, True),
        "2025-05-12T10:30:00Z",
    ),  # fmt: skip
    _number(
        "79991234502",
        "DEF",
        _MOSCOW,
        ("Серебряный", 10020),
        "Reminders",
        ("350.00", "0"),
        (True, True, True, True),
        "2025-05-12T10:31:00Z",
    ),  # fmt: skip
    _number(
        "78001234567",
        "KDU",
        _RUSSIA,
        ("Обычный", 10002),
        "Hotline",
        (990, 0),
        (True, False, False, False),
        "2025-06-01T12:00:00Z",
    ),  # fmt: skip
)


def number_record(number_name, type_name="DEF", **fields):
    """A number as the sandbox stores it: documented defaults, `fields` over them."""
    record = _number(
        str(number_name), type_name, _RUSSIA if type_name == "KDU" else _MOSCOW, ("Обычный", 10000), "", (0, 0),
        (True, type_name != "KDU", type_name == "DEF", type_name == "DEF"), "2025-01-01T00:00:00Z",
    )  # fmt: skip
    options = {**record["number_options"], **fields.pop("number_options", {})}
    return {**record, **fields, "number_options": options}


def can_call_out(numbers, source):
    """Whether `source` is one of the account's numbers and may place calls (MakeVoiceMessage's source)."""
    return any(n["number_name"] == source and n["number_options"].get("outgoing_calls") for n in numbers)


def get_numbers(sandbox, db, key, body_text):
    """`(status, payload)` for one GetList request: the 401s, then the body, then the page."""
    if key is None:
        return 401, {"error": MSG_MALFORMED_TOKEN}
    if key not in sandbox.api_keys:
        return 401, {"error": MSG_UNAUTHORIZED}
    # Undocumented: no 403 is listed here, so a blocked account still gets its numbers.
    request, refusal = parse_request(body_text)
    if refusal:
        return 400, {"error": refusal}
    matching = [n for n in sandbox.read_config(db, "numbers") if _matches(n, request)]
    offset, limit = request.get("offset", 0), request.get("limit", 0)
    # Undocumented: limit 0 (or none) means every row from `offset`.
    page = matching[offset : offset + limit] if limit else matching[offset:]
    with_flag = "application_uuid" in request
    return 200, {"numbers": [number_view(n, with_flag) for n in page], "total": len(matching)}


def number_view(number, with_forwarding_flag=False):
    """A stored number as NumberElement (the forwarding blocks only when the flag is true: never here)."""
    view = {
        "application_uuid": APPLICATION_UUID,
        "application_name": APPLICATION_NAME,
        **{k: v for k, v in number.items() if k not in ("region_id", "category_id")},
    }
    if with_forwarding_flag:
        view["call_forwarding_flag"] = False
    return view


def parse_request(body_text):
    """`(the request's fields, None)` or `(None, the refusal's message)`, in protobuf's words."""
    try:
        data = json.loads(body_text or "{}")
    except json.JSONDecodeError as error:
        return None, _syntax_error(body_text, error.pos)
    if not isinstance(data, dict):
        return None, _syntax_error(body_text, len(body_text) - len(body_text.lstrip()))
    request = {}
    for name, value in data.items():
        kind = REQUEST_FIELDS.get(name)
        if kind is None:
            return None, f'proto: ({_where(body_text, _key_at(body_text, name))}): unknown field "{name}"'
        if value is None:  # protobuf's JSON reads null as "not given"
            continue
        if not _valid(kind, value):
            at = _where(body_text, _value_at(body_text, name))
            return None, f"proto: syntax error ({at}): invalid value {json.dumps(value, ensure_ascii=False)}"
        request[name] = value
    return request, None


def _valid(kind, value):
    if kind in (_STRING, _DATE):
        return isinstance(value, str) and (kind == _STRING or _parse_date(value) is not None)
    if isinstance(value, bool) or not isinstance(value, int):
        return False  # Undocumented: stricter than protobuf, which also takes "10" for a uint64.
    return value in SIP_FILTERS if kind == _SIP_FILTER else 0 <= value <= _UINT64_MAX


def _parse_date(value):
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _matches(number, request):
    if request.get("application_uuid", APPLICATION_UUID) != APPLICATION_UUID:
        return False
    if "type_name" in request and request["type_name"].upper() != number["type_name"]:
        return False
    for field in ("category_id", "region_id"):
        if request.get(field) and request[field] != number[field]:
            return False
    created = _parse_date(number["create_date"])
    if "date_from" in request and created < _parse_date(request["date_from"]):
        return False
    if "date_to" in request and created > _parse_date(request["date_to"]):
        return False
    if request.get("sip_filter") == 2:
        return False  # no sandbox number has a SIP connection bound
    return request.get("search_filter", "").strip().lstrip("+") in number["number_name"]


# --- where in the body: protobuf's "(line L:C)" ------------------------------------------


def _syntax_error(text, pos):
    if pos >= len(text):
        return f"proto: syntax error ({_where(text, pos)}): unexpected token EOF"
    if text[pos] in ",:{}[]":
        return f"proto: syntax error ({_where(text, pos)}): unexpected token {text[pos]}"
    end = pos
    while end < len(text) and end - pos < 40 and not text[end].isspace() and text[end] not in ",:{}[]":
        end += 1
    return f"proto: syntax error ({_where(text, pos)}): invalid value {text[pos:end]}"


def _key_at(text, name):
    found = text.find(json.dumps(name, ensure_ascii=False))
    return max(found, 0)


def _value_at(text, name):
    pos = text.find(":", _key_at(text, name)) + 1
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _where(text, pos):
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}:{column}"
