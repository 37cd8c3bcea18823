"""messaging/v1/SendSMS: one SMS to one number, typed (`ExolveClient.send_sms`).

What is known (`exolve-media-sms-api.md`): the path and the `number` (sender: a mobile
number of the application or a registered sender name) and `destination` fields are
documented; `text`, the answer `{"message_id": "..."}` and the error bodies
`{"error": {"message", "details"}}` are seen in code. SMS cannot be sent from city (ABC)
or 8-800 numbers. SendSMS is not idempotent: like MakeVoiceMessage it is never repeated
when it may have arrived (the client's `_post` knows it is not in `IDEMPOTENT`), and a
429 is raised for the caller to send later. Django-free.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from . import errors
from .endpoints import SEND_SMS

# Seen in code: 11 digits, no "+" (`79XXXXXXXXX`).
PHONE_RE = re.compile(r"^7[0-9]{10}$")
# Undocumented: a sender name is 1-11 Latin letters, digits, spaces, dots, dashes or
# underscores, not all digits (the operators' alphanumeric sender rule; docs/exolve-api.md).
SENDER_NAME_RE = re.compile(r"^(?![0-9]+$)[A-Za-z0-9 ._-]{1,11}$")


@dataclass(frozen=True)
class SmsSent:
    """SendSMS's answer: the message id (a numeric string as seen; kept as text) and the raw answer."""

    message_id: str
    raw: dict = field(repr=False, compare=False)


def is_sender_name(sender: str) -> bool:
    return bool(SENDER_NAME_RE.match(sender or ""))


def send_sms(post: Callable[[str, dict], dict], sender: str, destination: str, text: str) -> SmsSent:
    """Send `text` to `destination` from `sender`; never repeated when it may have arrived."""
    body = {"number": str(sender), "destination": str(destination), "text": str(text)}
    data = post(SEND_SMS, body)
    value = data.get("message_id")
    # Seen as a numeric string; one client accepts a number too.
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise errors.MalformedResponseError(
            "the answer has no 'message_id'", status=200, body=str(data), endpoint=SEND_SMS
        )
    return SmsSent(message_id=str(value), raw=data)
