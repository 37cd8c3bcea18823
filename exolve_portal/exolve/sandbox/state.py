"""The sandbox's state in a SQLite file: voice messages, calls, the request log, configuration, faults.

Through the stdlib `sqlite3` module, never through Django: the state survives
restarts, is independent of the portal's database transactions, and is shared by
every `Sandbox` opened on the same file, in this process or another (the web server,
the task worker and a `manage.py exolve_sandbox` server). The rate limit's token
bucket lives here too, so the limit holds across those processes.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from contextlib import contextmanager

from ...private_files import private_file, sqlite_file
from ..sandbox_account import DEFAULT_MEDIA_IDS
from .faults import SMS_ERROR_SHAPES
from .handlers import call_view, insert_voice_message, normalize_endpoint, voice_message_view
from .numbers import DEFAULT_NUMBERS, number_record
from .sms import DEFAULT_SENDER_NAMES

DEFAULT_LIFECYCLE_SECONDS = 6.0

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
CREATE TABLE IF NOT EXISTS sms (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    sender TEXT NOT NULL,
    destination TEXT NOT NULL,
    text TEXT NOT NULL,
    parts INTEGER NOT NULL,
    at REAL NOT NULL
);
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
        "numbers": [dict(n) for n in DEFAULT_NUMBERS],  # what number/customer/v1/GetList lists
        "sender_names": list(DEFAULT_SENDER_NAMES),  # registered SMS sender names (SendSMS `number`)
    }


class SandboxState:
    """The persisted state, its controls and its inspection; one instance per state file per process.

    Thread-safe: one SQLite connection guarded by a lock (held only for short database
    work, never while sleeping for latency). Safe across processes through WAL, a busy
    timeout and `BEGIN IMMEDIATE` around every read-modify-write.
    """

    def __init__(self, path=":memory:", *, api_keys, media_ids=None, lifecycle_seconds=None):
        self.path = str(path)
        self.api_keys = frozenset(api_keys)
        self._initial_media_ids = tuple(media_ids) if media_ids is not None else DEFAULT_MEDIA_IDS
        self._lock = threading.RLock()
        if (state_file := sqlite_file(self.path)) is not None:
            private_file(state_file)  # numbers called and keys seen: 0600, not SQLite's 0644
        # isolation_level=None: autocommit; transactions only where we ask for them.
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            with self.transaction() as db:
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
    def transaction(self):
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
    def read_config(db, key):
        row = db.execute("SELECT value FROM config WHERE key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row else None

    @staticmethod
    def write_config(db, key, value):
        db.execute(
            "INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def _set(self, **values):
        with self.transaction() as db:
            for key, value in values.items():
                self.write_config(db, key, value)

    def config(self):
        """The whole persisted configuration, as a dict."""
        return {row["key"]: json.loads(row["value"]) for row in self._read("SELECT * FROM config")}

    def clock(self, db):
        """The sandbox clock read inside transaction `db`."""
        return time.time() + (self.read_config(db, "clock_offset") or 0.0)

    def now(self):
        """The sandbox clock: wall time plus the offset moved by `advance()`."""
        with self._lock:
            return self.clock(self._db)

    def log_request(self, db, endpoint, body_text, status, fault, *, applied):
        db.execute(
            "INSERT INTO request_log (endpoint, body, status, fault, applied, at) VALUES (?, ?, ?, ?, ?, ?)",
            (endpoint, body_text, status, fault, int(applied), self.clock(db)),
        )

    def take_rate_token(self, db):
        """None when the request may go ahead (taking a token); else the seconds to wait."""
        limit = self.read_config(db, "rate_limit")
        if not limit:
            return None
        now = time.time()  # wall time: shared by every process on the state file
        bucket = self.read_config(db, "rate_bucket") or {"tokens": limit["burst"], "at": now}
        tokens = min(limit["burst"], bucket["tokens"] + (now - bucket["at"]) * limit["rps"])
        if tokens >= 1.0:
            self.write_config(db, "rate_bucket", {"tokens": tokens - 1.0, "at": now})
            return None
        self.write_config(db, "rate_bucket", {"tokens": tokens, "at": now})
        if limit.get("retry_after") is not None:
            return limit["retry_after"]
        return max(1, math.ceil((1.0 - tokens) / limit["rps"]))

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
        """How error bodies look: "flat", "nested", "text" or "detailed" (see faults.py)."""
        if shape not in SMS_ERROR_SHAPES:
            raise ValueError(f"unknown error shape {shape!r}; known: {', '.join(SMS_ERROR_SHAPES)}")
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

    def set_numbers(self, numbers):
        """The numbers the account owns: dicts of `numbers.number_record` fields (number_name, type_name...)."""
        self._set(numbers=[number_record(**n) for n in numbers])

    def set_sender_names(self, names):
        """The SMS sender names registered for the account (SendSMS refuses any other name)."""
        self._set(sender_names=[str(n) for n in names])

    def sms_sent(self):
        """Every SMS SendSMS accepted, oldest first: {"sender", "destination", "text", "parts", "at"}."""
        return [dict(row) for row in self._read("SELECT sender, destination, text, parts, at FROM sms ORDER BY pk")]

    def owned_numbers(self):
        """The numbers the account owns, as stored (GetList shows them without the ids)."""
        return self.config()["numbers"]

    def advance(self, seconds):
        """Move the sandbox clock forward (calls progress, new timestamps move)."""
        with self.transaction() as db:
            self.write_config(db, "clock_offset", (self.read_config(db, "clock_offset") or 0.0) + float(seconds))

    def reset(self):
        """Forget everything: resources, log, faults, and configuration to defaults."""
        with self.transaction() as db:
            for table in ("voice_message", "call", "sms", "request_log", "fault", "config"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            for key, value in _default_config(self._initial_media_ids).items():
                self.write_config(db, key, value)

    def add_voice_message(self, name, media_id=DEFAULT_MEDIA_IDS[0], digit=0, redirect_number=""):
        """Seed a voice message directly (not logged as a request); returns its id."""
        with self.transaction() as db:
            return insert_voice_message(self, db, name, int(media_id), digit, redirect_number)

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
        return {row["id"]: voice_message_view(row) for row in rows}

    def calls(self):
        """call_id -> the call as call/v1/GetInfo would show it now, plus its service_id."""
        with self._lock:
            now = self.clock(self._db)
            rows = self._db.execute("SELECT * FROM call ORDER BY pk").fetchall()
        return {row["call_id"]: {**call_view(row, now), "service_id": row["service_id"]} for row in rows}
