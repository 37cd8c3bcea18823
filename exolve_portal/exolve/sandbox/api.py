"""`Sandbox`: one POST in, one `Reply` out.

The order a request goes through: the faults injected for it (latency outside any
lock, then at most one other fault), the rate limit's token bucket, the endpoint's
handler, and the answer in the configured error shape. Every request that arrives is
logged with what was done to it.
"""

from __future__ import annotations

import json
import time

from ..sandbox_account import SANDBOX_API_KEY, SANDBOX_BASE_URL
from . import faults, handlers, transport
from .state import SandboxState
from .transport import Reply


class Sandbox(SandboxState):
    """The sandbox's state and behaviour; one instance per state file per process."""

    def __init__(self, path=":memory:", *, api_keys=(SANDBOX_API_KEY,), media_ids=None, lifecycle_seconds=None):
        super().__init__(path, api_keys=api_keys, media_ids=media_ids, lifecycle_seconds=lifecycle_seconds)

    # --- faults ----------------------------------------------------------------------

    def add_fault(self, kind, endpoint=None, times=1, seconds=None, status=None):
        """Make the next `times` requests (None: all) to `endpoint` (None: any) misbehave.

        Returns the fault's id. See FAULT_KINDS for what each kind does.
        """
        with self.transaction() as db:
            return faults.insert_fault(db, kind, endpoint, times, seconds, status)

    def clear_faults(self):
        with self.transaction() as db:
            db.execute("DELETE FROM fault")

    def faults(self):
        """Faults still pending, oldest first (`remaining` None means always)."""
        return [dict(row) for row in self._read("SELECT * FROM fault ORDER BY pk")]

    # --- the API -------------------------------------------------------------------

    def handle(self, path, headers, body):
        """Answer one POST to `path` with `headers` (case-insensitive) and raw `body`."""
        endpoint = handlers.normalize_endpoint(path)
        body = body or b""
        body_text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        with self.transaction() as db:
            latency = self.read_config(db, "latency") or 0.0
            fault_latency, fault = faults.take_faults(db, endpoint)
            latency += fault_latency
        if latency > 0:
            # Outside the lock: concurrent requests must overlap while "in flight".
            time.sleep(latency)
        kind = fault.kind if fault else None
        if kind == "connect_refused":
            return Reply(None, action="connect_refused")

        with self.transaction() as db:
            if kind == "drop":
                self.log_request(db, endpoint, body_text, None, kind, applied=False)
                return Reply(None, action="drop")
            shape = self.read_config(db, "error_shape") or "flat"
            if kind == "http_error":
                reply = faults.http_error_reply(fault.status or 502, shape, retry_after=fault.seconds)
                self.log_request(db, endpoint, body_text, reply.status, kind, applied=False)
                return reply
            wait = _or(fault.seconds, 1) if kind == "rate_limited" else self.take_rate_token(db)
            if wait is not None:
                self.log_request(db, endpoint, body_text, 429, kind or "rate_limit", applied=False)
                return faults.error_reply(429, faults.MSG_RATE_LIMITED, shape, headers=(("Retry-After", f"{wait:g}"),))
            status, payload = handlers.dispatch(self, db, endpoint, headers, body_text)
            if kind == "malformed":
                status, raw, content_type = 200, b"<html>oops", "text/html"
            elif kind == "bad_shape":
                status, raw, content_type = 200, b'{"unexpected": true}', "application/json"
            elif isinstance(payload, str):  # a plain-text answer (an unknown path)
                raw, content_type = payload.encode(), "text/plain; charset=utf-8"
            elif status >= 400:
                error = faults.error_reply(status, payload["error"], shape, details=payload.get("details", ""))
                raw, content_type = error.body, error.content_type
            else:
                raw, content_type = json.dumps(payload, ensure_ascii=False).encode(), "application/json"
            logged_status = None if kind == "lost_response" else status
            self.log_request(db, endpoint, body_text, logged_status, kind, applied=True)

        if kind == "timeout":
            return Reply(status, raw, content_type, action="timeout", delay=_or(fault.seconds, 30.0))
        if kind == "lost_response":
            return Reply(None, action="lost_response")
        return Reply(status, raw, content_type)

    # --- in-process transport ------------------------------------------------------

    def mount(self, session, base_url=SANDBOX_BASE_URL):
        """Route `session`'s requests under `base_url` to this sandbox, with no socket."""
        return transport.mount(self, session, base_url)


def _or(value, default):
    return default if value is None else value
