"""Injected faults (persisted in the state file, so every process sees them) and error shapes.

Error bodies come in the shape `Sandbox.set_error_shape()` chose: "flat"
`{"error": "<m>"}` (the likely one), "nested" `{"error": {"message": "<m>"}}` or
"text" (the message as `text/plain`), all three seen from the live API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..endpoints import ALL as ENDPOINTS
from .handlers import MSG_CUSTOMER_STATUS_ERROR, normalize_endpoint
from .transport import Reply, reason_phrase

ERROR_SHAPES = ("flat", "nested", "text")
# SendSMS's answers are seen as `{"error": {"message", "details"}}`: "detailed" (any endpoint).
SMS_ERROR_SHAPES = (*ERROR_SHAPES, "detailed")

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

# Undocumented: what a rate-limited request is answered.
MSG_RATE_LIMITED = "Too Many Requests"


@dataclass(frozen=True)
class Fault:
    kind: str
    endpoint: str | None
    seconds: float | None
    status: int | None


def insert_fault(db, kind, endpoint=None, times=1, seconds=None, status=None):
    """Store a fault for the next `times` requests (None: all) to `endpoint` (None: any); its id."""
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
    cursor = db.execute(
        "INSERT INTO fault (kind, endpoint, remaining, seconds, status) VALUES (?, ?, ?, ?, ?)",
        (kind, endpoint, None if times is None else int(times), seconds, status),
    )
    return cursor.lastrowid


def take_faults(db, endpoint):
    """The latency of every matching latency fault, and the first other matching fault (or None).

    Consumes one use of each fault taken.
    """
    rows = db.execute("SELECT * FROM fault WHERE endpoint IS NULL OR endpoint = ? ORDER BY pk", (endpoint,)).fetchall()
    latency, chosen = 0.0, None
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


def error_reply(status, message, shape, headers=(), details=""):
    """An API error answer carrying `message` (and, "detailed", `details`) in the body shape `shape`."""
    if shape == "text":
        return Reply(status, message.encode(), "text/plain; charset=utf-8", headers=headers)
    if shape == "detailed":
        payload = {"error": {"message": message, "details": details or message}}
    elif shape == "nested":
        payload = {"error": {"message": message}}
    else:
        payload = {"error": message}
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json", headers=headers)


def http_error_reply(status, shape="flat", retry_after=None):
    """The `http_error` fault's answer: a proxy's HTML page, or the documented 500."""
    headers = (("Retry-After", f"{retry_after:g}"),) if retry_after is not None else ()
    if status == 500:
        # The one documented 5xx, with its documented message.
        return error_reply(500, MSG_CUSTOMER_STATUS_ERROR, shape, headers=headers)
    phrase = reason_phrase(status) or "Error"
    # What a reverse proxy in front of an API answers: HTML, not JSON.
    html = (
        f"<html><head><title>{status} {phrase}</title></head><body>"
        f"<center><h1>{status} {phrase}</h1></center><hr><center>nginx</center></body></html>"
    )
    return Reply(status, html.encode(), "text/html", headers=headers)
