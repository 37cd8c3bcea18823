"""The in-process transport: a requests adapter that hands each request to a `Sandbox`.

`mount(sandbox, session)` routes a session's requests under `SANDBOX_BASE_URL` to the
sandbox with no socket. Transport faults raise the same exceptions requests raises
for the real thing. (Over real HTTP: `SandboxServer` in `sandbox_server.py`.)
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from http.client import RemoteDisconnected
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from ..sandbox_account import SANDBOX_BASE_URL


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


def reason_phrase(status):
    """'Not Found' for 404; '' for a status HTTP does not name."""
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""


def mount(sandbox, session, base_url=SANDBOX_BASE_URL):
    """Route `session`'s requests under `base_url` to `sandbox`, with no socket."""
    adapter = SandboxAdapter(sandbox)
    session.mount(base_url.rstrip("/") + "/", adapter)
    return adapter


class SandboxAdapter(BaseAdapter):
    """A requests transport adapter that hands requests to a `Sandbox` in-process."""

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
        response.reason = reason_phrase(reply.status)
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
