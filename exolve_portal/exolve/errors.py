"""The ExolveError tree: every documented refusal and every transport failure.

Each error carries what is needed to diagnose it (HTTP status, the API's message, the
raw body, the endpoint) and two things the portal needs to act on it:

- ``explanation``: one plain-language sentence for staff. The strings are marked with
  ``_`` (a no-op here, so this package stays Django-free); the portal translates them
  with ``gettext`` when it shows them.
- ``may_have_reached``: whether Exolve may have acted on the request. A Create or
  MakeVoiceMessage that may have reached Exolve must never be repeated by itself.

``error_for_response`` maps an HTTP answer to the right class; it is the only place
that reads the API's error messages.
"""

from __future__ import annotations


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
    explanation = _(
        "Exolve refused the portal's API key. Ask the administrator to check the "
        "EXOLVE_API_KEY setting."
    )
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
        "Exolve has no audio file with this media id. Check the id in the media "
        "library of the Exolve personal account."
    )
    may_have_reached = False


class NotFoundError(ExolveAPIError):
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


class TrialRestrictionError(ExolveAPIError):
    """400 the client can only call to his own confirmed number."""

    explanation = _(
        "The Exolve account is in its trial period and may only call its own "
        "confirmed numbers. Confirm this number in Exolve or end the trial."
    )
    may_have_reached = False


class ValidationError(ExolveAPIError):
    """400 Validation error. Please enter valid parameter values."""

    explanation = _(
        "Exolve rejected the request as invalid (check the numbers and the voice message)."
    )
    may_have_reached = False


class ServerError(ExolveAPIError):
    """5xx: trouble on Exolve's side. Whether it acted is unknown."""

    explanation = _("Exolve had a problem on its side. Try again in a few minutes.")


class CustomerStatusError(ServerError):
    """500 error getting customer status."""

    explanation = _("Exolve could not check the account's status. Try again in a few minutes.")
    may_have_reached = False  # it failed before doing anything


class UnexpectedStatusError(ExolveAPIError):
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
        "Exolve did not answer in time. The request may or may not have been carried "
        "out; check before trying again."
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


# --- Mapping answers to classes ---------------------------------------------------

# (status, normalised message) -> class. Messages are compared lower-cased, without
# surrounding quotes/punctuation, because the documentation shows them inconsistently.
_DOCUMENTED = {
    (400, "failed to parse token"): InvalidTokenError,
    (401, "error getting jwt token claims"): TokenClaimsError,
    (401, "malformed token"): MalformedTokenError,
    (403, "customer is not in correct status"): AccountStatusError,
    (404, "error getting media resource"): MediaNotFoundError,
    (404, "scenario not found"): VoiceMessageNotFoundError,
    (404, "error getting application"): ApplicationNotFoundError,
    (404, "not found"): CallNotFoundError,
    (400, "the client can only call to his own confirmed number"): TrialRestrictionError,
    (400, "validation error. please enter valid parameter values"): ValidationError,
    (500, "error getting customer status"): CustomerStatusError,
}

# When the message differs from the documented text, fall back on what the status
# means for that endpoint.
_BY_ENDPOINT_STATUS = {
    ("voice-message/v1/GetInfo", 404): VoiceMessageNotFoundError,
    ("voice-message/v1/Delete", 404): ApplicationNotFoundError,
    ("voice-message/v1/Create", 404): MediaNotFoundError,
    ("call/v1/GetInfo", 404): CallNotFoundError,
}
_BY_STATUS = {
    401: AuthenticationError,
    403: AccountStatusError,
    404: NotFoundError,
}


def normalise_message(message: str) -> str:
    return message.strip().strip("\"'“”.").strip().lower()


def error_for_response(status: int, message: str, body: str, endpoint: str) -> ExolveAPIError:
    """Return the error for an HTTP answer with a non-success status."""
    key = normalise_message(message)
    cls = (
        _DOCUMENTED.get((status, key))
        or _BY_ENDPOINT_STATUS.get((endpoint, status))
        or _BY_STATUS.get(status)
        or (ServerError if status >= 500 else None)
        or (ValidationError if status == 400 and key.startswith("validation error") else None)
        or UnexpectedStatusError
    )
    return cls(message, status=status, body=body, endpoint=endpoint)


def is_gone(error: ExolveError) -> bool:
    """True when the error means the resource no longer exists at Exolve.

    A closed list on purpose: everything else must be reported, not taken as "deleted".
    """
    return isinstance(error, (VoiceMessageNotFoundError, ApplicationNotFoundError, CallNotFoundError))
