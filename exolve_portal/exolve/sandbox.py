"""A local stand-in for the six Exolve Voice API endpoints.

It follows the vendor documentation (`exolve-voice-api.ru.txt`) exactly: the same
paths, POST with JSON bodies, the documented success bodies and the documented error
status codes and messages. It is at least as strict as the documentation: a body that
is not a JSON object, a field the documentation does not name, a `redirect_info`
without a valid redirect number, a number that is not 11 digits, are all refused with
400. Where the documentation is silent the choice made here is marked "undocumented"
in a comment (and listed in `docs/exolve-api.md`).

Error bodies come in the shape `set_error_shape()` chose: "flat" `{"error": "<m>"}`
(the likely one), "nested" `{"error": {"message": "<m>"}}` or "text" (the message as
`text/plain`), all three seen from the live API. `set_rate_limit()` makes it answer
429 with `Retry-After` above a request rate, as APIs of its kind do.

State (voice messages, calls, a log of every request, configuration and injected
faults) lives in a SQLite file through the stdlib `sqlite3` module, never through
Django: it survives restarts, is independent of the portal's database transactions,
and is shared by every `Sandbox` opened on the same file, in this process or another
(the web server, the task worker and a `manage.py exolve_sandbox` server).

Two ways to reach it:
- in-process: `sandbox.mount(session)` mounts a requests transport adapter on
  `SANDBOX_BASE_URL`, so a client on that session talks to it with no socket;
- over real HTTP on 127.0.0.1: `SandboxServer` in `sandbox_server.py`
  (also `manage.py exolve_sandbox`).

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
and connect_refused; see `FAULT_KINDS`.
"""

from __future__ import annotations

import email.utils
import io
import json
import math
import re
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.client import RemoteDisconnected
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from .endpoints import ALL as ENDPOINTS
from .endpoints import CALL_GET_INFO, CREATE, DELETE, GET_INFO, GET_LIST, MAKE_VOICE_MESSAGE

SANDBOX_API_KEY = "sandbox-key"
DEFAULT_MEDIA_IDS = (1967, 1979)
SANDBOX_SOURCE_NUMBERS = ("74951234567", "74957654321")
# `.invalid` can never resolve, so a request that misses the mounted adapter fails
# instead of leaving the machine.
SANDBOX_BASE_URL = "http://exolve-sandbox.invalid"
DEFAULT_LIFECYCLE_SECONDS = 6.0
CALL_TIMEOUT_SECONDS = 60

# Final status by the destination's last digit; every other digit completes.
FINAL_STATUS_BY_LAST_DIGIT = {"6": "no_answer", "7": "busy", "8": "failed"}

ERROR_SHAPES = ("flat", "nested", "text")
# The fields each endpoint's body may carry, as documented; anything else is refused.
BODY_FIELDS = {
    CREATE: frozenset({"name", "media_id", "redirect_info"}),
    GET_LIST: frozenset(),
    GET_INFO: frozenset({"id"}),
    DELETE: frozenset({"id"}),
    MAKE_VOICE_MESSAGE: frozenset({"source", "destination", "service_id"}),
    CALL_GET_INFO: frozenset({"call_id"}),
}
REDIRECT_FIELDS = frozenset({"digit", "redirect_number"})

FAULT_KINDS = {
    "latency": "sleep `seconds` before answering",
    "http_error": "answer `status` (default 502) with an HTML body, request not applied; "
    "status 500 answers the documented 'error getting customer status'; "
    "`seconds` adds a Retry-After header",
    "rate_limited": "answer 429 Too Many Requests with Retry-After `seconds` (default 1), request not applied",
    "timeout": "apply, then answer only after `seconds` (default 30); in-process: raise requests ReadTimeout",
    "drop": "close the connection before applying",
    "lost_response": "apply, then close the connection without answering",
    "malformed": "apply, then answer 200 with a body that is not JSON",
    "bad_shape": "apply, then answer 200 with JSON lacking the expected keys",
    "connect_refused": "in-process only: refuse the connection (nothing arrives)",
}

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
# Undocumented: what a rate-limited request is answered.
MSG_RATE_LIMITED = "Too Many Requests"
# Undocumented: a path that is none of the six, as Go's and many gateways' routers answer.
UNKNOWN_PATH_TEXT = "404 page not found"

_PHONE_RE = re.compile(r"^[0-9]{11}$")
# Undocumented: "9 - 14 characters"; the examples are digits, so only digits are taken.
_REDIRECT_NUMBER_RE = re.compile(r"^[0-9]{9,14}$")
_UINT64_MAX = 2**64 - 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS voice_message (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    media_id INTEGER NOT NULL,
    digit INTEGER NOT NULL,
    redirect_number TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS call (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL UNIQUE,
    service_id TEXT NOT NULL,
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    created REAL NOT NULL,
    lifecycle REAL NOT NULL,
    final_status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS request_log (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    body TEXT NOT NULL,
    status INTEGER,
    fault TEXT,
    applied INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS request_log_endpoint ON request_log (endpoint);
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fault (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    endpoint TEXT,
    remaining INTEGER,
    seconds REAL,
    status INTEGER
);
"""


def _default_config(media_ids=DEFAULT_MEDIA_IDS, lifecycle=DEFAULT_LIFECYCLE_SECONDS):
    return {
        "media_ids": [int(m) for m in media_ids],
        "trial": False,
        "confirmed_numbers": [],
        "blocked": False,
        "clock_offset": 0.0,
        "latency": 0.0,
        "lifecycle_seconds": float(lifecycle),
        "error_shape": "flat",
        "rate_limit": None,  # {"rps", "burst", "retry_after"} or None
        "rate_bucket": None,  # {"tokens", "at"}: the token bucket's state
    }


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


@dataclass(frozen=True)
class Fault:
    kind: str
    endpoint: str | None
    seconds: float | None
    status: int | None


@dataclass(frozen=True)
class Reply:
    """What the sandbox answers; `action` tells the transport to misbehave.

    action: None (send the answer), "timeout" (send it after `delay` seconds),
    "drop" / "lost_response" (close the connection, send nothing),
    "connect_refused" (the connection never opened). `headers`: extra ones (Retry-After).
    """

    status: int | None
    body: bytes = b""
    content_type: str = "application/json"
    action: str | None = None
    delay: float = 0.0
    headers: tuple = ()


class Sandbox:
    """The sandbox's state and behaviour; one instance per state file per process.

    Thread-safe: one SQLite connection guarded by a lock (held only for short database
    work, never while sleeping for latency). Safe across processes through WAL, a busy
    timeout and `BEGIN IMMEDIATE` around every read-modify-write.
    """

    def __init__(
        self,
        path=":memory:",
        *,
        api_keys=(SANDBOX_API_KEY,),
        media_ids=None,
        lifecycle_seconds=None,
    ):
        self.path = str(path)
        self.api_keys = frozenset(api_keys)
        self._initial_media_ids = tuple(media_ids) if media_ids is not None else DEFAULT_MEDIA_IDS
        self._lock = threading.RLock()
        # isolation_level=None: autocommit; transactions only where we ask for them.
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            with self._tx() as db:
                # INSERT OR IGNORE: another process may have configured this file already.
                for key, value in _default_config(self._initial_media_ids).items():
                    db.execute(
                        "INSERT OR IGNORE INTO config (key, value) VALUES (?, ?)",
                        (key, json.dumps(value)),
                    )
        if media_ids is not None:
            self.set_media_ids(media_ids)
        if lifecycle_seconds is not None:
            self.set_lifecycle(lifecycle_seconds)

    def __repr__(self):
        return f"<Sandbox {self.path}>"

    def close(self):
        with self._lock:
            self._db.close()

    # --- database plumbing -------------------------------------------------------

    @contextmanager
    def _tx(self):
        """A write transaction; IMMEDIATE so two processes never deadlock on upgrade."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql, params=()):
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @staticmethod
    def _get(db, key):
        row = db.execute("SELECT value FROM config WHERE key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row else None

    @staticmethod
    def _put(db, key, value):
        db.execute(
            "INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def _set(self, **values):
        with self._tx() as db:
            for key, value in values.items():
                self._put(db, key, value)

    def config(self):
        """The whole persisted configuration, as a dict."""
        return {row["key"]: json.loads(row["value"]) for row in self._read("SELECT * FROM config")}

    def _now(self, db):
        return time.time() + (self._get(db, "clock_offset") or 0.0)

    def now(self):
        """The sandbox clock: wall time plus the offset moved by `advance()`."""
        with self._lock:
            return self._now(self._db)

    # --- controls ------------------------------------------------------------------

    def set_media_ids(self, media_ids):
        """Which media ids exist in the (imaginary) media library."""
        self._set(media_ids=[int(m) for m in media_ids])

    def set_trial(self, enabled, confirmed_numbers=()):
        """Trial account: MakeVoiceMessage may only call `confirmed_numbers`."""
        self._set(trial=bool(enabled), confirmed_numbers=[str(n) for n in confirmed_numbers])

    def set_blocked(self, blocked):
        """A blocked (or not activated) account: 403 where documented."""
        self._set(blocked=bool(blocked))

    def set_latency(self, seconds):
        """Every request waits this long before it is handled (benchmarks)."""
        self._set(latency=float(seconds))

    def set_lifecycle(self, seconds):
        """How long new calls take to reach their final status."""
        self._set(lifecycle_seconds=float(seconds))

    def set_error_shape(self, shape):
        """How error bodies look: "flat", "nested" or "text" (see the module docstring)."""
        if shape not in ERROR_SHAPES:
            raise ValueError(f"unknown error shape {shape!r}; known: {', '.join(ERROR_SHAPES)}")
        self._set(error_shape=shape)

    def set_rate_limit(self, rps, burst=None, retry_after=None):
        """Answer 429 above `rps` requests per second (a token bucket of `burst`, default `rps`).

        Retry-After says, in whole seconds as HTTP allows, when a token is next free
        (or `retry_after`, when given). `rps` None or 0 lifts the limit.
        """
        if not rps:
            self._set(rate_limit=None, rate_bucket=None)
            return
        limit = {"rps": float(rps), "burst": float(burst or rps), "retry_after": retry_after}
        self._set(rate_limit=limit, rate_bucket=None)

    def advance(self, seconds):
        """Move the sandbox clock forward (calls progress, new timestamps move)."""
        with self._tx() as db:
            self._put(db, "clock_offset", (self._get(db, "clock_offset") or 0.0) + float(seconds))

    def reset(self):
        """Forget everything: resources, log, faults, and configuration to defaults."""
        with self._tx() as db:
            for table in ("voice_message", "call", "request_log", "fault", "config"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            for key, value in _default_config(self._initial_media_ids).items():
                self._put(db, key, value)

    def add_fault(self, kind, endpoint=None, times=1, seconds=None, status=None):
        """Make the next `times` requests (None: all) to `endpoint` (None: any) misbehave.

        Returns the fault's id. See FAULT_KINDS for what each kind does.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if endpoint is not None:
            endpoint = normalize_endpoint(endpoint)
            if endpoint not in ENDPOINTS:
                raise ValueError(f"unknown endpoint {endpoint!r}")
        if times is not None and int(times) < 1:
            raise ValueError("times must be at least 1, or None for always")
        if kind == "http_error" and status is None:
            status = 502
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO fault (kind, endpoint, remaining, seconds, status) VALUES (?, ?, ?, ?, ?)",
                (kind, endpoint, None if times is None else int(times), seconds, status),
            )
            return cursor.lastrowid

    def clear_faults(self):
        with self._tx() as db:
            db.execute("DELETE FROM fault")

    def faults(self):
        """Faults still pending, oldest first (`remaining` None means always)."""
        return [dict(row) for row in self._read("SELECT * FROM fault ORDER BY pk")]

    def add_voice_message(self, name, media_id=DEFAULT_MEDIA_IDS[0], digit=0, redirect_number=""):
        """Seed a voice message directly (not logged as a request); returns its id."""
        with self._tx() as db:
            return self._insert_voice_message(db, name, int(media_id), digit, redirect_number)

    # --- inspection ----------------------------------------------------------------

    def requests_log(self, endpoint=None):
        """Every request that arrived, oldest first.

        Each is {"endpoint", "body" (parsed JSON, or the raw text), "status" (None if
        the connection was closed without an answer), "fault" (the kind applied, or
        None), "applied" (whether the sandbox acted on it), "at" (sandbox clock)}.
        A `connect_refused` request never arrives, so it is not logged.
        """
        sql, params = "SELECT * FROM request_log", ()
        if endpoint is not None:
            sql, params = sql + " WHERE endpoint = ?", (normalize_endpoint(endpoint),)
        entries = []
        for row in self._read(sql + " ORDER BY pk", params):
            entry = dict(row)
            del entry["pk"]
            entry["applied"] = bool(entry["applied"])
            try:
                entry["body"] = json.loads(entry["body"])
            except ValueError:
                pass
            entries.append(entry)
        return entries

    def count(self, endpoint=None):
        """How many requests arrived at `endpoint` (None: at all endpoints)."""
        if endpoint is None:
            return self._read("SELECT COUNT(*) FROM request_log")[0][0]
        rows = self._read("SELECT COUNT(*) FROM request_log WHERE endpoint = ?", (normalize_endpoint(endpoint),))
        return rows[0][0]

    def voice_messages(self):
        """id -> the voice message as GetInfo would show it."""
        rows = self._read("SELECT * FROM voice_message ORDER BY pk")
        return {row["id"]: self._voice_message_view(row) for row in rows}

    def calls(self):
        """call_id -> the call as call/v1/GetInfo would show it now, plus its service_id."""
        with self._lock:
            now = self._now(self._db)
            rows = self._db.execute("SELECT * FROM call ORDER BY pk").fetchall()
        return {row["call_id"]: {**self._call_view(row, now), "service_id": row["service_id"]} for row in rows}

    # --- the API -------------------------------------------------------------------

    def handle(self, path, headers, body):
        """Answer one POST to `path` with `headers` (case-insensitive) and raw `body`."""
        endpoint = normalize_endpoint(path)
        body = body or b""
        body_text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        latency, fault = self._take_faults(endpoint)
        if latency > 0:
            # Outside the lock: concurrent requests must overlap while "in flight".
            time.sleep(latency)
        kind = fault.kind if fault else None
        if kind == "connect_refused":
            return Reply(None, action="connect_refused")

        with self._tx() as db:
            if kind == "drop":
                self._log(db, endpoint, body_text, None, kind, applied=False)
                return Reply(None, action="drop")
            shape = self._get(db, "error_shape") or "flat"
            if kind == "http_error":
                reply = _http_error_reply(fault.status or 502, shape, retry_after=fault.seconds)
                self._log(db, endpoint, body_text, reply.status, kind, applied=False)
                return reply
            wait = _or(fault.seconds, 1) if kind == "rate_limited" else self._over_rate_limit(db)
            if wait is not None:
                self._log(db, endpoint, body_text, 429, kind or "rate_limit", applied=False)
                return _error_reply(429, MSG_RATE_LIMITED, shape, headers=(("Retry-After", f"{wait:g}"),))
            status, payload = self._dispatch(db, endpoint, headers, body_text)
            if kind == "malformed":
                status, raw, content_type = 200, b"<html>oops", "text/html"
            elif kind == "bad_shape":
                status, raw, content_type = 200, b'{"unexpected": true}', "application/json"
            elif isinstance(payload, str):  # a plain-text answer (an unknown path)
                raw, content_type = payload.encode(), "text/plain; charset=utf-8"
            elif status >= 400:
                error = _error_reply(status, payload["error"], shape)
                raw, content_type = error.body, error.content_type
            else:
                raw, content_type = json.dumps(payload, ensure_ascii=False).encode(), "application/json"
            logged_status = None if kind == "lost_response" else status
            self._log(db, endpoint, body_text, logged_status, kind, applied=True)

        if kind == "timeout":
            return Reply(status, raw, content_type, action="timeout", delay=_or(fault.seconds, 30.0))
        if kind == "lost_response":
            return Reply(None, action="lost_response")
        return Reply(status, raw, content_type)

    def _over_rate_limit(self, db):
        """None when the request may go ahead (taking a token); else the seconds to wait."""
        limit = self._get(db, "rate_limit")
        if not limit:
            return None
        now = time.time()  # wall time: shared by every process on the state file
        bucket = self._get(db, "rate_bucket") or {"tokens": limit["burst"], "at": now}
        tokens = min(limit["burst"], bucket["tokens"] + (now - bucket["at"]) * limit["rps"])
        if tokens >= 1.0:
            self._put(db, "rate_bucket", {"tokens": tokens - 1.0, "at": now})
            return None
        self._put(db, "rate_bucket", {"tokens": tokens, "at": now})
        if limit.get("retry_after") is not None:
            return limit["retry_after"]
        return max(1, math.ceil((1.0 - tokens) / limit["rps"]))

    def _take_faults(self, endpoint):
        """Global latency plus matching latency faults, and the first other fault.

        Consumes one use of each fault taken.
        """
        with self._tx() as db:
            latency = self._get(db, "latency") or 0.0
            rows = db.execute(
                "SELECT * FROM fault WHERE endpoint IS NULL OR endpoint = ? ORDER BY pk", (endpoint,)
            ).fetchall()
            chosen = None
            for row in rows:
                if row["kind"] == "latency":
                    latency += row["seconds"] or 0.0
                elif chosen is None:
                    chosen = row
                else:
                    continue
                if row["remaining"] is not None:
                    if row["remaining"] <= 1:
                        db.execute("DELETE FROM fault WHERE pk = ?", (row["pk"],))
                    else:
                        db.execute("UPDATE fault SET remaining = remaining - 1 WHERE pk = ?", (row["pk"],))
        fault = None
        if chosen is not None:
            fault = Fault(chosen["kind"], chosen["endpoint"], chosen["seconds"], chosen["status"])
        return latency, fault

    def _log(self, db, endpoint, body_text, status, fault, *, applied):
        db.execute(
            "INSERT INTO request_log (endpoint, body, status, fault, applied, at) VALUES (?, ?, ?, ?, ?, ?)",
            (endpoint, body_text, status, fault, int(applied), self._now(db)),
        )

    def _dispatch(self, db, endpoint, headers, body_text):
        handler = {
            CREATE: self._create,
            GET_LIST: self._get_list,
            GET_INFO: self._get_info,
            DELETE: self._delete,
            MAKE_VOICE_MESSAGE: self._make_voice_message,
            CALL_GET_INFO: self._call_get_info,
        }.get(endpoint)
        if handler is None:
            return 404, UNKNOWN_PATH_TEXT
        try:
            data = json.loads(body_text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not set(data) <= BODY_FIELDS[endpoint]:
            # Not a JSON object, or a field the documentation does not name: handlers
            # answer a validation error after checking the key.
            data = None
        return handler(db, _bearer_key(headers), data)

    # voice-message/v1/...

    def _voice_auth(self, key):
        if key is None:
            return 400, {"error": MSG_PARSE_TOKEN}
        if key not in self.api_keys:
            return 401, {"error": MSG_JWT_CLAIMS}
        return None

    def _voice_auth_and_status(self, db, key):
        return self._voice_auth(key) or ((403, {"error": MSG_CUSTOMER_STATUS}) if self._get(db, "blocked") else None)

    def _create(self, db, key, data):
        if refusal := self._voice_auth_and_status(db, key):
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
        if media_id not in self._get(db, "media_ids"):
            return 404, {"error": MSG_MEDIA_NOT_FOUND}
        return 200, {"id": self._insert_voice_message(db, name, media_id, digit, redirect_number)}

    def _insert_voice_message(self, db, name, media_id, digit, redirect_number):
        voice_message_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO voice_message (id, name, media_id, digit, redirect_number, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (voice_message_id, name, media_id, int(digit), redirect_number or "", self._now(db)),
        )
        return voice_message_id

    def _get_list(self, db, key, data):
        # No 403 is documented for GetList: a blocked account still gets its list.
        if refusal := self._voice_auth(key):
            return refusal
        if data is None:
            return 400, {"error": MSG_VALIDATION}  # Undocumented: a body other than {}.
        rows = db.execute("SELECT id, name, created_at FROM voice_message ORDER BY pk").fetchall()
        return 200, {
            "voice_message_list": [
                {"id": row["id"], "name": row["name"], "created_at": format_rfc3339(row["created_at"])} for row in rows
            ]
        }

    def _get_info(self, db, key, data):
        if refusal := self._voice_auth_and_status(db, key):
            return refusal
        voice_message_id = data.get("id") if data else None
        if not isinstance(voice_message_id, str):
            return 400, {"error": MSG_VALIDATION}  # Undocumented: id missing or not a string.
        row = db.execute("SELECT * FROM voice_message WHERE id = ?", (voice_message_id,)).fetchone()
        if row is None:
            return 404, {"error": MSG_SCENARIO_NOT_FOUND}
        return 200, self._voice_message_view(row)

    def _delete(self, db, key, data):
        if refusal := self._voice_auth_and_status(db, key):
            return refusal
        voice_message_id = data.get("id") if data else None
        if not isinstance(voice_message_id, str):
            return 400, {"error": MSG_VALIDATION}  # Undocumented: id missing or not a string.
        deleted = db.execute("DELETE FROM voice_message WHERE id = ?", (voice_message_id,)).rowcount
        if not deleted:
            return 404, {"error": MSG_APPLICATION_NOT_FOUND}
        return 200, {}

    @staticmethod
    def _voice_message_view(row):
        return {
            "id": row["id"],
            "name": row["name"],
            "digit": row["digit"],
            "redirect_number": row["redirect_number"],
            "media_id": row["media_id"],
            "created_at": format_rfc3339(row["created_at"]),
        }

    # call/v1/...

    def _make_voice_message(self, db, key, data):
        if key is None or key not in self.api_keys:
            return 401, {"error": MSG_MALFORMED_TOKEN}
        if self._get(db, "blocked"):
            return 403, {"error": MSG_CUSTOMER_STATUS}  # Undocumented for this endpoint.
        invalid = 400, {"error": MSG_VALIDATION}
        if data is None:
            return invalid
        source, destination, service_id = (data.get(k) for k in ("source", "destination", "service_id"))
        if not all(isinstance(v, str) for v in (source, destination, service_id)):
            return invalid
        if not _PHONE_RE.match(source) or not _PHONE_RE.match(destination):
            return invalid
        if db.execute("SELECT 1 FROM voice_message WHERE id = ?", (service_id,)).fetchone() is None:
            return invalid
        if self._get(db, "trial") and destination not in self._get(db, "confirmed_numbers"):
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
                self._now(db),
                self._get(db, "lifecycle_seconds"),
                FINAL_STATUS_BY_LAST_DIGIT.get(destination[-1], "completed"),
            ),
        )
        return 200, {"call_id": call_id}

    def _call_get_info(self, db, key, data):
        if key is None or key not in self.api_keys:
            return 401, {"error": MSG_MALFORMED_TOKEN}
        call_id = data.get("call_id") if data else None
        if not isinstance(call_id, str) or not call_id:
            return 400, {"error": MSG_CALL_VALIDATION}
        row = db.execute("SELECT * FROM call WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            return 404, {"error": MSG_NOT_FOUND}
        return 200, self._call_view(row, self._now(db))

    @staticmethod
    def _call_view(row, now):
        """The call as call/v1/GetInfo shows it at sandbox time `now` (see module doc)."""
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

    # --- in-process transport ------------------------------------------------------

    def mount(self, session, base_url=SANDBOX_BASE_URL):
        """Route `session`'s requests under `base_url` to this sandbox, with no socket."""
        adapter = SandboxAdapter(self)
        session.mount(base_url.rstrip("/") + "/", adapter)
        return adapter


def _or(value, default):
    return default if value is None else value


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


def _error_reply(status, message, shape, headers=()):
    """An API error answer carrying `message` in the body shape `shape`."""
    if shape == "text":
        return Reply(status, message.encode(), "text/plain; charset=utf-8", headers=headers)
    payload = {"error": {"message": message}} if shape == "nested" else {"error": message}
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json", headers=headers)


def _http_error_reply(status, shape="flat", retry_after=None):
    headers = (("Retry-After", f"{retry_after:g}"),) if retry_after is not None else ()
    if status == 500:
        # The one documented 5xx, with its documented message.
        return _error_reply(500, MSG_CUSTOMER_STATUS_ERROR, shape, headers=headers)
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    # What a reverse proxy in front of an API answers: HTML, not JSON.
    html = (
        f"<html><head><title>{status} {phrase}</title></head><body>"
        f"<center><h1>{status} {phrase}</h1></center><hr><center>nginx</center></body></html>"
    )
    return Reply(status, html.encode(), "text/html", headers=headers)


class SandboxAdapter(BaseAdapter):
    """A requests transport adapter that hands requests to a `Sandbox` in-process.

    Transport faults raise the same exceptions requests raises for the real thing.
    """

    def __init__(self, sandbox):
        super().__init__()
        self.sandbox = sandbox

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        started = time.monotonic()
        url = request.url
        if request.method != "POST":
            reply = Reply(405, json.dumps({"error": "Method Not Allowed"}).encode())
        else:
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode("utf-8")
            reply = self.sandbox.handle(urlsplit(url).path, request.headers, body)

        if reply.action == "connect_refused":
            reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
            raise requests.exceptions.ConnectionError(MaxRetryError(None, url, reason), request=request)
        if reply.action in ("drop", "lost_response"):
            reason = ProtocolError(
                "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")
            )
            raise requests.exceptions.ConnectionError(reason, request=request)
        if reply.action == "timeout":
            read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
            error = ReadTimeoutError(None, url, f"Read timed out. (read timeout={read_timeout})")
            raise requests.exceptions.ReadTimeout(error, request=request)
        return self._build_response(request, reply, time.monotonic() - started)

    def _build_response(self, request, reply, elapsed):
        response = requests.Response()
        response.status_code = reply.status
        response.reason = HTTPStatus(reply.status).phrase if reply.status in HTTPStatus._value2member_map_ else ""
        response.headers = CaseInsensitiveDict(
            {"Content-Type": reply.content_type, "Content-Length": str(len(reply.body)), **dict(reply.headers)}
        )
        response._content = reply.body
        response._content_consumed = True
        response.raw = io.BytesIO(reply.body)
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        response.connection = self
        response.elapsed = timedelta(seconds=elapsed)
        return response

    def close(self):
        pass


def __getattr__(name):
    # `SandboxServer` lives in sandbox_server.py (it is the HTTP part); importing it
    # lazily keeps `from exolve_portal.exolve.sandbox import SandboxServer` working.
    if name in ("SandboxServer", "control"):
        from exolve_portal.exolve import sandbox_server

        return getattr(sandbox_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
