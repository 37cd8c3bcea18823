"""messaging/v1/SendSMS in the sandbox, as strict as what is known (`exolve-media-sms-api.md`).

Documented: the path, `number` (the sender: a number of the account or a registered
sender name) and `destination`, and that city (ABC) and 8-800 numbers cannot send SMS.
Seen in code: `text`, 11-digit numbers without "+", the answer `{"message_id": "<digits>"}`,
errors as `{"error": {"message", "details"}}` with messages such as
`invalid SendRequest.Destination: value does not match regex pattern` and
`destination is not permitted for delivery` (a trial account's unconfirmed number).
Everything else is a choice marked "undocumented" here and listed in docs/exolve-api.md.
"""

from __future__ import annotations

import json

from ..sms import PHONE_RE, SENDER_NAME_RE
from ..sms_text import sms_size

FIELDS = ("number", "destination", "text")
# Seen in code (messages) and chosen (statuses: 400 for refusals, 401 for the key).
MSG_DESTINATION_PATTERN = "invalid SendRequest.Destination: value does not match regex pattern"
MSG_NUMBER_PATTERN = "invalid SendRequest.Number: value does not match regex pattern"
MSG_TEXT_EMPTY = "invalid SendRequest.Text: value length must be at least 1 runes"
MSG_NOT_PERMITTED = "destination is not permitted for delivery"
MSG_MALFORMED_TOKEN = "malformed token"
# Undocumented wording (the rule itself is documented).
MSG_SENDER_ABC = "sending SMS from ABC and 8-800 numbers is not allowed"
MSG_SENDER_UNKNOWN = "sender is not registered"
MSG_TEXT_TOO_LONG = "invalid SendRequest.Text: the text is longer than 10 SMS parts"
MSG_BODY = "proto: syntax error: the body is not a JSON object"
MSG_UNAUTHORIZED = "Unauthorized"
MSG_CUSTOMER_STATUS = "Customer is not in correct status"
# The sandbox account's registered sender names (`Sandbox.set_sender_names`).
DEFAULT_SENDER_NAMES = ("ExolveSMS",)
_REFUSED_TYPES = ("ABC", "KDU")


def _refusal(status, message, details=""):
    return status, {"error": message, "details": details or message}


def _check_sender(sandbox, db, sender):
    """None when `sender` may send SMS from this account, else the refusal."""
    if PHONE_RE.match(sender):
        owned = [n for n in sandbox.read_config(db, "numbers") if n["number_name"] == sender]
        if owned and owned[0]["type_name"] in _REFUSED_TYPES:
            return _refusal(400, MSG_SENDER_ABC, f"{sender} is a {owned[0]['type_name']} number")
        if not owned or not owned[0]["number_options"].get("outgoing_sms"):
            return _refusal(400, MSG_SENDER_UNKNOWN, f"{sender} cannot send SMS for this application")
        return None
    if not SENDER_NAME_RE.match(sender):
        return _refusal(400, MSG_NUMBER_PATTERN)
    if sender not in (sandbox.read_config(db, "sender_names") or []):
        return _refusal(400, MSG_SENDER_UNKNOWN, f"{sender} is not a registered sender name")
    return None


def send_sms(sandbox, db, key, body_text):
    """`(status, payload)` for one SendSMS request."""
    if key is None:
        return _refusal(401, MSG_MALFORMED_TOKEN)
    if key not in sandbox.api_keys:
        return _refusal(401, MSG_UNAUTHORIZED)
    if sandbox.read_config(db, "blocked"):
        return _refusal(403, MSG_CUSTOMER_STATUS)
    try:
        data = json.loads(body_text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _refusal(400, MSG_BODY)
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:  # undocumented: as protobuf's JSON reader answers an unknown field
        return _refusal(400, f'proto: unknown field "{unknown[0]}"')
    sender, destination, text = (data.get(name) for name in FIELDS)
    if not isinstance(sender, str) or not sender:
        return _refusal(400, MSG_NUMBER_PATTERN)
    if not isinstance(destination, str) or not PHONE_RE.match(destination):
        return _refusal(400, MSG_DESTINATION_PATTERN)
    if not isinstance(text, str) or not text.strip():
        return _refusal(400, MSG_TEXT_EMPTY)
    size = sms_size(text)
    if size.too_long:
        return _refusal(400, MSG_TEXT_TOO_LONG, f"{size.parts} parts")
    if refusal := _check_sender(sandbox, db, sender):
        return refusal
    if sandbox.read_config(db, "trial") and destination not in sandbox.read_config(db, "confirmed_numbers"):
        return _refusal(400, MSG_NOT_PERMITTED, "trial account: only confirmed numbers")
    cursor = db.execute(
        "INSERT INTO sms (sender, destination, text, parts, at) VALUES (?, ?, ?, ?, ?)",
        (sender, destination, text, size.parts, sandbox.clock(db)),
    )
    # Seen as a long numeric string.
    return 200, {"message_id": str(571497026622089000 + cursor.lastrowid)}
