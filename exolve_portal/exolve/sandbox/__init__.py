"""A local stand-in for the six Exolve Voice API endpoints and the numbering API's GetList.

It follows the vendor documentation (`exolve-voice-api.ru.txt`) exactly: the same
paths (`endpoints.py`, shared with the client), POST with JSON bodies, the documented
success bodies and the documented error status codes and messages. It is at least as
strict as the documentation: a body that is not a JSON object, a field the
documentation does not name, a `redirect_info` without a valid redirect number, a
number that is not 11 digits, are all refused with 400. Where the documentation is
silent the choice made here is marked "undocumented" in a comment (and listed in
`docs/exolve-api.md`).

One module per job:
- `api.py`: `Sandbox`, which answers one request (faults, rate limit, handler, error shape);
- `state.py`: the state in a SQLite file shared by every process, its controls and
  inspection, and the rate limit's token bucket;
- `handlers.py`: one handler per endpoint, with the strict validation;
- `faults.py`: injected faults and the shapes of error bodies;
- `transport.py`: the in-process requests adapter (`sandbox.mount(session)`);
- `../sandbox_server.py`: the same over real HTTP on 127.0.0.1 (`manage.py exolve_sandbox`).
What the portal itself needs (the key, URL, media ids, caller numbers) is in
`../sandbox_account.py`, so production code never imports the sandbox for a constant.

Call lifecycle. A call's status is computed from its creation time and the sandbox
clock (`time.time()` plus a persisted offset that `advance()` moves), over a
configurable lifecycle length L (default 6 s):

    elapsed        destination ends in 6/7/8      any other last digit
    [0, L/6)       initiated                      initiated
    [L/6, L/3)     ringing                        ringing
    [L/3, 2L/3)    ringing                        answered  (started is set)
    [2L/3, L)      ringing                        talk
    >= L           6: no_answer                   completed (ended set,
                   7: busy                         duration = round(2L/3))
                   8: failed
                   (ended set, started "", duration 0)

Faults (`add_fault`) are persisted too, so every process on the state file sees them:
latency, http_error, rate_limited, timeout, drop, lost_response, malformed, bad_shape
and connect_refused; see `FAULT_KINDS`. `set_rate_limit()` makes it answer 429 with
`Retry-After` above a request rate, as APIs of its kind do.
"""

from ..sandbox_account import (
    DEFAULT_MEDIA_IDS,
    FINAL_STATUS_BY_LAST_DIGIT,
    SANDBOX_API_KEY,
    SANDBOX_BASE_URL,
    SANDBOX_SOURCE_NUMBERS,
)
from .api import Sandbox
from .faults import ERROR_SHAPES, FAULT_KINDS, MSG_RATE_LIMITED, Fault
from .handlers import (
    BODY_FIELDS,
    CALL_TIMEOUT_SECONDS,
    MSG_APPLICATION_NOT_FOUND,
    MSG_CALL_VALIDATION,
    MSG_CUSTOMER_STATUS,
    MSG_CUSTOMER_STATUS_ERROR,
    MSG_JWT_CLAIMS,
    MSG_MALFORMED_TOKEN,
    MSG_MEDIA_NOT_FOUND,
    MSG_NOT_FOUND,
    MSG_PARSE_TOKEN,
    MSG_SCENARIO_NOT_FOUND,
    MSG_TRIAL,
    MSG_VALIDATION,
    REDIRECT_FIELDS,
    UNKNOWN_PATH_TEXT,
    format_rfc1123,
    format_rfc3339,
    normalize_endpoint,
)
from .state import DEFAULT_LIFECYCLE_SECONDS
from .transport import Reply, SandboxAdapter

__all__ = [
    "BODY_FIELDS",
    "CALL_TIMEOUT_SECONDS",
    "DEFAULT_LIFECYCLE_SECONDS",
    "DEFAULT_MEDIA_IDS",
    "ERROR_SHAPES",
    "FAULT_KINDS",
    "FINAL_STATUS_BY_LAST_DIGIT",
    "MSG_APPLICATION_NOT_FOUND",
    "MSG_CALL_VALIDATION",
    "MSG_CUSTOMER_STATUS",
    "MSG_CUSTOMER_STATUS_ERROR",
    "MSG_JWT_CLAIMS",
    "MSG_MALFORMED_TOKEN",
    "MSG_MEDIA_NOT_FOUND",
    "MSG_NOT_FOUND",
    "MSG_PARSE_TOKEN",
    "MSG_RATE_LIMITED",
    "MSG_SCENARIO_NOT_FOUND",
    "MSG_TRIAL",
    "MSG_VALIDATION",
    "REDIRECT_FIELDS",
    "SANDBOX_API_KEY",
    "SANDBOX_BASE_URL",
    "SANDBOX_SOURCE_NUMBERS",
    "UNKNOWN_PATH_TEXT",
    "Fault",
    "Reply",
    "Sandbox",
    "SandboxAdapter",
    "format_rfc1123",
    "format_rfc3339",
    "normalize_endpoint",
]


def __getattr__(name):
    # `SandboxServer` lives in sandbox_server.py (it is the HTTP part); importing it
    # lazily keeps `from exolve_portal.exolve.sandbox import SandboxServer` working.
    if name in ("SandboxServer", "control"):
        from exolve_portal.exolve import sandbox_server

        return getattr(sandbox_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
