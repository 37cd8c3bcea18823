"""The ExolveError tree: every documented refusal and every transport failure.

Each error carries what is needed to diagnose it (HTTP status, the API's message, the
raw body, the endpoint) and two things the portal needs to act on it:

- ``explanation``: one plain-language sentence for staff. The strings are marked with
  ``_`` (a no-op here, so this package stays Django-free); the portal translates them
  with ``gettext`` when it shows them.
- ``may_have_reached``: whether Exolve may have acted on the request. A Create or
  MakeVoiceMessage that may have reached Exolve must never be repeated by itself.

``error_for_response`` maps an HTTP answer to the right class and
``message_from_body`` reads the API's message out of any of the body shapes seen; they
are the only places that read Exolve's error answers. The choices made where the
documentation is silent are listed in ``docs/exolve-api.md``.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime

from . import endpoints


def _(message: str) -> str:
    """Mark a string for translation (makemessages picks up ``_``)."""
    return message


class ExolveError(Exception):
    explanation = _("Exolve could not complete the request.")
    may_have_reached = True

    def __init__(self, message: str = "", *, status: int | None = None, body: str = "", endpoint: str = ""):
        self.message = message
        self.status = status
        self.body = body
        self.endpoint = endpoint
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f" {self.status}" if self.status is not None else ""
        detail = f" ({self.message})" if self.message else ""
        where = f" for {self.endpoint}" if self.endpoint else ""
        return f"Exolve API response{status}{detail}{where}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r}, endpoint={self.endpoint!r})"


# --- Answers from Exolve --------------------------------------------------------


class ExolveAPIError(ExolveError):
    """Exolve answered with an error status."""


class AuthenticationError(ExolveAPIError):
    explanation = _("Exolve refused the portal's API key. Ask the administrator to check the EXOLVE_API_KEY setting.")
    may_have_reached = False  # refused at the door: nothing was done


class InvalidTokenError(AuthenticationError):
    """400 failed to parse token."""


class TokenClaimsError(AuthenticationError):
    """401 error getting JWT Token claims."""


class MalformedTokenError(AuthenticationError):
    """401 malformed token (call endpoints)."""


class AccountStatusError(ExolveAPIError):
    """403 Customer is not in correct status."""

    explanation = _(
        "The Exolve account is not active (not activated yet or blocked). Ask the "
        "administrator to check the account in the Exolve personal account."
    )
    may_have_reached = False


class MediaNotFoundError(ExolveAPIError):
    """404 error getting media resource (Create with an unknown media_id)."""

    explanation = _(
        "Exolve has no audio file with this media id. Check the id in the media library of the Exolve personal account."
    )
    may_have_reached = False


class NotFoundError(ExolveAPIError):
    """Root of the documented not-found answers: only these mean "gone" (see ``is_gone``)."""

    explanation = _("Exolve does not know this item: it may have been deleted there.")
    may_have_reached = False


class VoiceMessageNotFoundError(NotFoundError):
    """404 Scenario not found (voice-message GetInfo)."""

    explanation = _("Exolve has no such voice message: it may have been deleted there.")


class ApplicationNotFoundError(NotFoundError):
    """404 error getting application (voice-message Delete of an unknown id)."""

    explanation = _("Exolve has no such voice message: it may already have been deleted.")


class CallNotFoundError(NotFoundError):
    """404 Not Found (call GetInfo)."""

    explanation = _("Exolve has no statistics for this call.")


class WrongAddressError(ExolveAPIError):
    """404 with an empty body: the numbering API's documented answer to a wrong request URL."""

    explanation = _(
        "Exolve does not know the address the portal asked. Ask the administrator to check the EXOLVE_API_URL setting."
    )
    may_have_reached = False


class TrialRestrictionError(ExolveAPIError):
    """400 the client can only call to his own confirmed number."""

    explanation = _(
        "The Exolve account is in its trial period and may only call its own "
        "confirmed numbers. Confirm this number in Exolve or end the trial."
    )
    may_have_reached = False


class SmsSenderRefusedError(ExolveAPIError):
    """400 SendSMS from a city (ABC) or 8-800 number, or a sender the account does not have (docs/exolve-api.md)."""

    explanation = _(
        "Exolve refused the SMS sender: SMS cannot be sent from city (ABC) or 8-800 numbers, only from a "
        "mobile number of the team or a sender name registered in the Exolve personal account."
    )
    may_have_reached = False


class SmsDestinationRefusedError(ExolveAPIError):
    """400 destination is not permitted for delivery (a trial account's unconfirmed number, seen in code)."""

    explanation = _(
        "Exolve does not deliver SMS to this number from this account (in the trial period only the "
        "account's own confirmed numbers). Confirm the number in Exolve or end the trial."
    )
    may_have_reached = False


class ValidationError(ExolveAPIError):
    """400 Validation error. Please enter valid parameter values."""

    explanation = _("Exolve rejected the request as invalid (check the numbers and the voice message).")
    may_have_reached = False


class ServerError(ExolveAPIError):
    """5xx: trouble on Exolve's side. Whether it acted is unknown."""

    explanation = _("Exolve had a problem on its side. Try again in a few minutes.")


class CustomerStatusError(ServerError):
    """500 error getting customer status."""

    explanation = _("Exolve could not check the account's status. Try again in a few minutes.")
    may_have_reached = False  # it failed before doing anything


class RateLimitedError(ExolveAPIError):
    """429 (or 503 with Retry-After): Exolve did not carry the request out; try after ``retry_after`` s.

    Exolve documents no rate limit; APIs of its kind answer 429 when asked too often.
    """

    explanation = _("Exolve is busy (too many requests at once): nothing was done. Try again in a minute.")
    may_have_reached = False

    def __init__(self, message: str = "", *, retry_after: float, **kwargs):
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class UnexpectedStatusError(ExolveAPIError):
    """An answer no table explains: an HTML 404 of a wrong base URL or a proxy, say.

    Nothing is concluded from it: not "gone", not "refused"; Exolve may have acted.
    """

    explanation = _("Exolve gave an unexpected answer. Try again; if it repeats, tell the administrator.")


# --- Transport failures ---------------------------------------------------------


class ExolveTransportError(ExolveError):
    """No usable answer came back."""

    def __str__(self) -> str:
        where = f" for {self.endpoint}" if self.endpoint else ""
        return f"{self.describe}{where}" + (f": {self.message}" if self.message else "")

    describe = "Exolve transport failure"


class ExolveConnectionError(ExolveTransportError):
    """Could not connect: the request certainly never left."""

    describe = "Could not connect to Exolve"
    explanation = _("The portal could not reach Exolve. Check the network and try again.")
    may_have_reached = False


class ExolveTimeout(ExolveTransportError):
    """Sent, but no answer in time: Exolve may have acted on it."""

    describe = "No answer from Exolve in time"
    explanation = _(
        "Exolve did not answer in time. The request may or may not have been carried out; check before trying again."
    )


class ConnectionDroppedError(ExolveTransportError):
    """The connection broke after sending: Exolve may have acted on it."""

    describe = "The connection to Exolve broke"
    explanation = _(
        "The connection to Exolve broke before its answer arrived. The request may or "
        "may not have been carried out; check before trying again."
    )


class MalformedResponseError(ExolveTransportError):
    """A success status with a body that is not the documented JSON."""

    describe = "Exolve sent an unreadable answer"
    explanation = _(
        "Exolve sent an answer the portal could not read. The request may have been "
        "carried out; check before trying again."
    )

    def __init__(self, message: str = "", *, status: int | None = None, body: str = "", endpoint: str = ""):
        super().__init__(message, status=status, body=body, endpoint=endpoint)


# --- Reading error answers ---------------------------------------------------------

# A plain-text body longer than this, or spanning lines, is a page, not a message.
_MAX_TEXT_MESSAGE = 300
# Wait after a 429 that names none.
DEFAULT_RETRY_AFTER = 1.0
# A Retry-After beyond this is read as this: a worker must not sleep for hours on one answer.
MAX_RETRY_AFTER = 300.0


def message_from_body(text: str) -> str:
    """The API's message from an error body of any shape seen; "" when there is none.

    Shapes: ``{"error": "<m>"}`` (the documented one), ``{"error": {"message": "<m>"}}``
    (SendSMS's adds ``"details"``; read alone when there is no message),
    ``{"message": "<m>"}``, a JSON string, or a one-line plain-text body. An HTML page
    (a proxy's, a wrong base URL's) has no message: its title must never be mistaken for
    a documented answer such as call GetInfo's "Not Found".
    """
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, str):
            return error
        if isinstance(error, dict):
            for key in ("message", "details"):
                if isinstance(error.get(key), str) and error[key].strip():
                    return error[key]
        if isinstance(data.get("message"), str):
            return data["message"]
        return ""
    if isinstance(data, str):
        return data
    if data is not None:
        return ""
    stripped = text.strip()
    if not stripped or stripped.startswith("<") or "\n" in stripped or len(stripped) > _MAX_TEXT_MESSAGE:
        return ""
    return stripped


def details_from_body(text: str) -> str:
    """The ``details`` of ``{"error": {"message", "details"}}`` (SendSMS), or ""."""
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return details if isinstance(details, str) else ""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); None if absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# --- Mapping answers to classes ---------------------------------------------------

_VALIDATION = "validation error. please enter valid parameter values"
_VOICE_COMMON = {
    (400, "failed to parse token"): InvalidTokenError,
    (401, "error getting jwt token claims"): TokenClaimsError,
    (500, "error getting customer status"): CustomerStatusError,
}
_ACCOUNT = {(403, "customer is not in correct status"): AccountStatusError}
_CALL_COMMON = {
    (400, _VALIDATION): ValidationError,
    (401, "malformed token"): MalformedTokenError,
    # Documented for the voice-message endpoints only; an account-connection failure
    # before anything was done, whichever endpoint answers it (docs/exolve-api.md).
    (500, "error getting customer status"): CustomerStatusError,
}

# The documentation's tables, endpoint by endpoint: (status, normalised message) -> class.
# Messages are compared lower-cased, without surrounding quotes or a final full stop,
# because the documentation itself shows them inconsistently.
DOCUMENTED = {
    endpoints.CREATE: {**_VOICE_COMMON, **_ACCOUNT, (404, "error getting media resource"): MediaNotFoundError},
    endpoints.GET_LIST: dict(_VOICE_COMMON),
    endpoints.GET_INFO: {**_VOICE_COMMON, **_ACCOUNT, (404, "scenario not found"): VoiceMessageNotFoundError},
    endpoints.DELETE: {**_VOICE_COMMON, **_ACCOUNT, (404, "error getting application"): ApplicationNotFoundError},
    endpoints.MAKE_VOICE_MESSAGE: {
        **_CALL_COMMON,
        (400, "the client can only call to his own confirmed number"): TrialRestrictionError,
    },
    endpoints.CALL_GET_INFO: {**_CALL_COMMON, (404, "not found"): CallNotFoundError},
    # Its 400s ("proto: syntax error ...") vary with the field: the status alone reads them.
    endpoints.NUMBERS_GET_LIST: {
        (401, "unauthorized"): AuthenticationError,
        (401, "malformed token"): MalformedTokenError,
        (500, "error getting customer status"): CustomerStatusError,
    },
}

# SendSMS (seen in code and chosen: docs/exolve-api.md); its other 400s are validation errors.
DOCUMENTED[endpoints.SEND_SMS] = {
    (401, "malformed token"): MalformedTokenError,
    (401, "unauthorized"): AuthenticationError,
    (403, "customer is not in correct status"): AccountStatusError,
    (400, "sending sms from abc and 8-800 numbers is not allowed"): SmsSenderRefusedError,
    (400, "sender is not registered"): SmsSenderRefusedError,
    (400, "destination is not permitted for delivery"): SmsDestinationRefusedError,
    (500, "error getting customer status"): CustomerStatusError,
}

# Where an empty 404 is documented as "wrong request URL" (an HTML 404 stays unexpected).
_EMPTY_404_IS_WRONG_ADDRESS = frozenset({endpoints.NUMBERS_GET_LIST})

# When the message is not the documented one, what the status alone says. Never a
# NotFoundError: "gone" needs the documented message (a proxy's 404 deletes nothing).
_BY_STATUS = {
    400: ValidationError,  # a 400 is a refusal: nothing was done
    401: AuthenticationError,
    403: AccountStatusError,
}


def normalise_message(message: str) -> str:
    return message.strip().strip("\"'“”.").strip().lower()


def error_for_response(
    status: int,
    message: str,
    body: str,
    endpoint: str,
    *,
    retry_after: float | None = None,
    reason: str = "",
) -> ExolveAPIError:
    """The error for an HTTP answer with a non-success status.

    ``message`` is what ``message_from_body`` read from the body; ``retry_after`` the
    parsed Retry-After header; ``reason`` the HTTP reason phrase, shown when the body
    has no message but never used to classify.
    """
    shown = message or reason
    if status == 429 or (status == 503 and retry_after is not None):
        wait = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
        return RateLimitedError(shown, retry_after=wait, status=status, body=body, endpoint=endpoint)
    key = normalise_message(message)
    if status == 404 and endpoint in _EMPTY_404_IS_WRONG_ADDRESS and not body.strip():
        return WrongAddressError(shown, status=status, body=body, endpoint=endpoint)
    cls = (
        DOCUMENTED.get(endpoint, {}).get((status, key))
        or _BY_STATUS.get(status)
        or (ServerError if status >= 500 else None)
        or UnexpectedStatusError
    )
    return cls(shown, status=status, body=body, endpoint=endpoint)


def is_gone(error: ExolveError) -> bool:
    """True when the error means the resource no longer exists at Exolve.

    Only the documented not-found answers, recognised by endpoint, status and message,
    are NotFoundErrors; everything else must be reported, not taken as "deleted".
    """
    return isinstance(error, NotFoundError)
