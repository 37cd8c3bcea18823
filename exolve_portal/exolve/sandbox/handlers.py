"""The endpoints: one handler each, as strict as the vendor documentation (or stricter).

A handler takes the sandbox (its keys, configuration and clock), an open write
transaction `db`, the bearer key and the parsed body (None when it is not a JSON
object of documented fields), and returns `(status, payload)`; `api.Sandbox.handle`
turns that into an answer in the configured error shape. Where the documentation is
silent the choice made here is marked "undocumented" (and listed in `docs/exolve-api.md`).
"""

from __future__ import annotations

import email.utils
import json
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ..endpoints import (
    CALL_GET_INFO,
    CREATE,
    DELETE,
    GET_INFO,
    GET_LIST,
    MAKE_VOICE_MESSAGE,
    NUMBERS_GET_LIST,
    SEND_SMS,
)
from ..sandbox_account import FINAL_STATUS_BY_LAST_DIGIT
from . import numbers, sms

CALL_TIMEOUT_SECONDS = 60

# The fields each endpoint's body may carry, as documented; anything else is refused.
BODY_FIELDS = {
    CREATE: frozenset({"name", "media_id", "redirect_info"}),
    GET_LIST: frozenset(),
    GET_INFO: frozenset({"id"}),
    DELETE: frozenset({"id"}),
    MAKE_VOICE_MESSAGE: frozenset({"source", "destination", "service_id"}),
    CALL_GET_INFO: frozenset({"call_id"}),
    NUMBERS_GET_LIST: frozenset(numbers.REQUEST_FIELDS),
    SEND_SMS: frozenset(sms.FIELDS),
}
REDIRECT_FIELDS = frozenset({"digit", "redirect_number"})

# Documented messages.
MSG_PARSE_TOKEN = "failed to parse token"
MSG_JWT_CLAIMS = "error getting JWT Token claims"
MSG_CUSTOMER_STATUS = "Customer is not in correct status"
MSG_CUSTOMER_STATUS_ERROR = "error getting customer status"
MSG_MEDIA_NOT_FOUND = "error getting media resource"
MSG_SCENARIO_NOT_FOUND = "Scenario not found"
MSG_APPLICATION_NOT_FOUND = "error getting application"
MSG_MALFORMED_TOKEN = "malformed token"
MSG_VALIDATION = "Validation error. Please enter valid parameter values."
# call/v1/GetInfo documents the same message without the final full stop.
MSG_CALL_VALIDATION = "Validation error. Please enter valid parameter values"
MSG_TRIAL = "the client can only call to his own confirmed number"
MSG_NOT_FOUND = "Not Found"
# Undocumented: a path that is none of the endpoints, as Go's and many gateways' routers answer.
UNKNOWN_PATH_TEXT = "404 page not found"
# The numbering API documents its wrong-URL 404 with no message: an empty body.
_NUMBERING_PREFIX = "/" + NUMBERS_GET_LIST.split("/", 1)[0] + "/"

_PHONE_RE = re.compile(r"^[0-9]{11}$")
# Undocumented: "9 - 14 characters"; the examples are digits, so only digits are taken.
_REDIRECT_NUMBER_RE = re.compile(r"^[0-9]{9,14}$")
_UINT64_MAX = 2**64 - 1


def normalize_endpoint(path):
    """'/call/v1/GetInfo?x' or 'call/v1/GetInfo' -> 'call/v1/GetInfo'."""
    return urlsplit(path).path.strip("/")


def format_rfc3339(ts):
    """Voice-message timestamps: '2022-12-15T10:23:54.912Z'."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def format_rfc1123(ts):
    """Call timestamps: 'Wed, 29 Mar 2023 10:32:45 +0000'."""
    return email.utils.format_datetime(datetime.fromtimestamp(int(ts), UTC))


def dispatch(sandbox, db, endpoint, headers, body_text):
    """`(status, payload)` for one request; payload is a dict, or text for an unknown path."""
    handler = HANDLERS.get(endpoint)
    if handler is None:
        return 404, "" if _NUMBERING_PREFIX in f"/{endpoint}" else UNKNOWN_PATH_TEXT
    if endpoint == NUMBERS_GET_LIST:
        # Its refusals name the line and column of the bad value: it reads the body itself.
        return numbers.get_numbers(sandbox, db, _bearer_key(headers), body_text)
    if endpoint == SEND_SMS:  # its refusals name the field: it reads the body itself
        return sms.send_sms(sandbox, db, _bearer_key(headers), body_text)
    try:
        data = json.loads(body_text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not set(data) <= BODY_FIELDS[endpoint]:
        # Not a JSON object, or a field the documentation does not name: handlers
        # answer a validation error after checking the key.
        data = None
    return handler(sandbox, db, _bearer_key(headers), data)


# --- voice-message/v1/... ---------------------------------------------------------


def _voice_auth(sandbox, key):
    if key is None:
        return 400, {"error": MSG_PARSE_TOKEN}
    if key not in sandbox.api_keys:
        return 401, {"error": MSG_JWT_CLAIMS}
    return None


def _voice_auth_and_status(sandbox, db, key):
    if refusal := _voice_auth(sandbox, key):
        return refusal
    return (403, {"error": MSG_CUSTOMER_STATUS}) if sandbox.read_config(db, "blocked") else None


def create(sandbox, db, key, data):
    if refusal := _voice_auth_and_status(sandbox, db, key):
        return refusal
    # Undocumented: Create lists no validation error. Our best guess is the one
    # call/v1/MakeVoiceMessage documents, with the same 400.
    invalid = 400, {"error": MSG_VALIDATION}
    if data is None:
        return invalid
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        return invalid
    media_id = _parse_uint64(data.get("media_id"))
    if media_id is None or media_id == 0:
        return invalid
    digit, redirect_number = 0, ""
    if "redirect_info" in data:
        # A RedirectInfo is a digit (0-9, default 0) and a redirect number; one
        # without a number (or with anything else in it) is refused.
        redirect = data["redirect_info"]
        if not isinstance(redirect, dict) or not set(redirect) <= REDIRECT_FIELDS:
            return invalid
        digit = redirect.get("digit", 0)
        if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
            return invalid
        redirect_number = redirect.get("redirect_number")
        if not isinstance(redirect_number, str) or not _REDIRECT_NUMBER_RE.match(redirect_number):
            return invalid
    if media_id not in sandbox.read_config(db, "media_ids"):
        return 404, {"error": MSG_MEDIA_NOT_FOUND}
    return 200, {"id": insert_voice_message(sandbox, db, name, media_id, digit, redirect_number)}


def insert_voice_message(sandbox, db, name, media_id, digit, redirect_number):
    voice_message_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO voice_message (id, name, media_id, digit, redirect_number, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (voice_message_id, name, media_id, int(digit), redirect_number or "", sandbox.clock(db)),
    )
    return voice_message_id


def get_list(sandbox, db, key, data):
    # No 403 is documented for GetList: a blocked account still gets its list.
    if refusal := _voice_auth(sandbox, key):
        return refusal
    if data is None:
        return 400, {"error": MSG_VALIDATION}  # Undocumented: a body other than {}.
    rows = db.execute("SELECT id, name, created_at FROM voice_message ORDER BY pk").fetchall()
    return 200, {
        "voice_message_list": [
            {"id": row["id"], "name": row["name"], "created_at": format_rfc3339(row["created_at"])} for row in rows
        ]
    }


def _voice_message_request(sandbox, db, key, data):
    """GetInfo and Delete: `(refusal, None)`, or `(None, the voice message id asked about)`."""
    if refusal := _voice_auth_and_status(sandbox, db, key):
        return refusal, None
    voice_message_id = data.get("id") if data else None
    if not isinstance(voice_message_id, str):
        return (400, {"error": MSG_VALIDATION}), None  # Undocumented: id missing or not a string.
    return None, voice_message_id


def get_info(sandbox, db, key, data):
    refusal, voice_message_id = _voice_message_request(sandbox, db, key, data)
    if refusal:
        return refusal
    row = db.execute("SELECT * FROM voice_message WHERE id = ?", (voice_message_id,)).fetchone()
    if row is None:
        return 404, {"error": MSG_SCENARIO_NOT_FOUND}
    return 200, voice_message_view(row)


def delete(sandbox, db, key, data):
    refusal, voice_message_id = _voice_message_request(sandbox, db, key, data)
    if refusal:
        return refusal
    deleted = db.execute("DELETE FROM voice_message WHERE id = ?", (voice_message_id,)).rowcount
    if not deleted:
        return 404, {"error": MSG_APPLICATION_NOT_FOUND}
    return 200, {}


def voice_message_view(row):
    """A stored voice message as GetInfo shows it."""
    return {
        "id": row["id"],
        "name": row["name"],
        "digit": row["digit"],
        "redirect_number": row["redirect_number"],
        "media_id": row["media_id"],
        "created_at": format_rfc3339(row["created_at"]),
    }


# --- call/v1/... --------------------------------------------------------------------


def make_voice_message(sandbox, db, key, data):
    if key is None or key not in sandbox.api_keys:
        return 401, {"error": MSG_MALFORMED_TOKEN}
    if sandbox.read_config(db, "blocked"):
        return 403, {"error": MSG_CUSTOMER_STATUS}  # Undocumented for this endpoint.
    invalid = 400, {"error": MSG_VALIDATION}
    if data is None:
        return invalid
    source, destination, service_id = (data.get(k) for k in ("source", "destination", "service_id"))
    if not all(isinstance(v, str) for v in (source, destination, service_id)):
        return invalid
    if not _PHONE_RE.match(source) or not _PHONE_RE.match(destination):
        return invalid
    if not numbers.can_call_out(sandbox.read_config(db, "numbers"), source):
        # Undocumented answer: calls from a number that is not the account's own (or
        # cannot call out) are blocked (API-NOTES.md); the documented validation error.
        return invalid
    if db.execute("SELECT 1 FROM voice_message WHERE id = ?", (service_id,)).fetchone() is None:
        return invalid
    if sandbox.read_config(db, "trial") and destination not in sandbox.read_config(db, "confirmed_numbers"):
        return 400, {"error": MSG_TRIAL}
    call_id = "cal" + str(uuid.uuid4())
    db.execute(
        "INSERT INTO call (call_id, service_id, source, destination, created, lifecycle, final_status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            call_id,
            service_id,
            source,
            destination,
            sandbox.clock(db),
            sandbox.read_config(db, "lifecycle_seconds"),
            FINAL_STATUS_BY_LAST_DIGIT.get(destination[-1], "completed"),
        ),
    )
    return 200, {"call_id": call_id}


def call_get_info(sandbox, db, key, data):
    if key is None or key not in sandbox.api_keys:
        return 401, {"error": MSG_MALFORMED_TOKEN}
    call_id = data.get("call_id") if data else None
    if not isinstance(call_id, str) or not call_id:
        return 400, {"error": MSG_CALL_VALIDATION}
    row = db.execute("SELECT * FROM call WHERE call_id = ?", (call_id,)).fetchone()
    if row is None:
        return 404, {"error": MSG_NOT_FOUND}
    return 200, call_view(row, sandbox.clock(db))


def call_view(row, now):
    """A stored call as call/v1/GetInfo shows it at sandbox time `now` (see the package doc)."""
    created, length = row["created"], row["lifecycle"]
    elapsed = now - created
    completes = row["final_status"] == "completed"
    started = ended = ""
    duration = 0
    if elapsed >= length:
        status, updated = row["final_status"], created + length
        ended = format_rfc1123(updated)
        if completes:
            started = format_rfc1123(created + length / 3)
            duration = round(2 * length / 3)
    elif elapsed < length / 6:
        status, updated = "initiated", created
    elif elapsed < length / 3 or not completes:
        status, updated = "ringing", created + length / 6
    elif elapsed < 2 * length / 3:
        status, updated = "answered", created + length / 3
        started = format_rfc1123(updated)
    else:
        status, updated = "talk", created + 2 * length / 3
        started = format_rfc1123(created + length / 3)
    return {
        "call_id": row["call_id"],
        "created": format_rfc1123(created),
        "updated": format_rfc1123(updated),
        "started": started,
        "ended": ended,
        "duration": duration,
        "timeout": CALL_TIMEOUT_SECONDS,
        "status": status,
        "direction": "outbound",
        "source": row["source"],
        "destination": row["destination"],
    }


HANDLERS = {
    CREATE: create,
    GET_LIST: get_list,
    GET_INFO: get_info,
    DELETE: delete,
    MAKE_VOICE_MESSAGE: make_voice_message,
    CALL_GET_INFO: call_get_info,
    NUMBERS_GET_LIST: numbers.get_numbers,
    SEND_SMS: sms.send_sms,
}


def _bearer_key(headers):
    """The key from 'Authorization: Bearer <key>', or None when absent or unparseable."""
    value = (headers.get("Authorization") if headers is not None else None) or ""
    scheme, _, key = value.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        return None
    return key


def _parse_uint64(value):
    """media_id as documented: a uint64, which the vendor's own example sends as a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= _UINT64_MAX else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
        return number if number <= _UINT64_MAX else None
    return None
