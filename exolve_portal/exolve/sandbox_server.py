"""The Exolve sandbox as a real HTTP server on 127.0.0.1.

A stdlib `ThreadingHTTPServer` (one thread per connection, HTTP/1.1 keep-alive), so
transport faults are real: `drop` and `lost_response` close the socket without an
answer, `timeout` answers only after the client has given up.

Besides the six API paths it serves `POST /_sandbox/control`, a JSON remote control
for a sandbox running in another process (benchmarks, browser tests):
`{"action": "add_fault", "kind": "latency", "seconds": 0.1}` answers
`{"ok": true, "result": ...}`. No authentication: it only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from exolve_portal.exolve.sandbox import Sandbox

CONTROL_PATH = "/_sandbox/control"
# The Sandbox methods the control endpoint may call, with JSON arguments.
CONTROL_ACTIONS = (
    "add_fault",
    "clear_faults",
    "faults",
    "set_latency",
    "set_lifecycle",
    "set_error_shape",
    "set_rate_limit",
    "advance",
    "reset",
    "set_trial",
    "set_blocked",
    "set_sender_names",
    "set_media_ids",
    "add_voice_message",
    "config",
    "count",
    "requests_log",
    "voice_messages",
    "calls",
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections
    # TCP_NODELAY: the headers and the body go out in two writes; with Nagle's algorithm
    # the body waits for the client's delayed ACK of the headers, adding ~40 ms to
    # every answer on a kept-alive connection (bench/README.md).
    disable_nagle_algorithm = True
    server_version = "ExolveSandbox/1"
    sandbox: Sandbox  # set on the subclass made per server

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.split("?")[0] == CONTROL_PATH:
            self._control(body)
            return
        reply = self.sandbox.handle(self.path, self.headers, body)
        if reply.action in ("drop", "lost_response", "connect_refused"):
            # Close the socket with nothing written: the client sees the connection
            # aborted, exactly as when a proxy or the network drops it.
            self.close_connection = True
            return
        if reply.action == "timeout":
            # Answer late, long after the client's read timeout; sleeping here only
            # holds this connection's thread.
            threading.Event().wait(reply.delay)
        self._send(reply.status, reply.body, reply.content_type, reply.headers)

    def do_GET(self):
        self._send(405, b'{"error": "Method Not Allowed"}')

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _control(self, body):
        try:
            command = json.loads(body or b"{}")
            action = command.pop("action")
            if action not in CONTROL_ACTIONS:
                raise ValueError(f"unknown action {action!r}")
            result = getattr(self.sandbox, action)(**command)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self._send(400, json.dumps({"ok": False, "error": str(exc)}).encode())
            return
        self._send(200, json.dumps({"ok": True, "result": result}, default=str).encode())

    def _send(self, status, body, content_type="application/json", headers=()):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # The client gave up (timeout fault): fine.

    def log_message(self, format, *args):
        pass  # Quiet: tests and `make run` output stay readable.


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a `timeout` fault's sleep
    request_queue_size = 128  # benchmarks open many connections at once


class SandboxServer:
    """Serve `sandbox` on http://host:port (port 0: any free port) from a thread."""

    def __init__(self, sandbox, host="127.0.0.1", port=0):
        self.sandbox = sandbox
        handler = type("SandboxHandler", (_Handler,), {"sandbox": sandbox})
        self._httpd = _Server((host, port), handler)
        self.host, self.port = self._httpd.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = None

    def __repr__(self):
        return f"<SandboxServer {self.url}>"

    def start(self):
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="exolve-sandbox"
        )
        self._thread.start()
        return self

    def serve_forever(self):
        """Serve in the calling thread until `stop()` or KeyboardInterrupt."""
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self):
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def control(url, action, **arguments):
    """Drive a sandbox server in another process: `control(url, "set_latency", seconds=0.1)`.

    Returns the action's result; raises RuntimeError if the sandbox refused it.
    """
    request = urllib.request.Request(
        url.rstrip("/") + CONTROL_PATH,
        data=json.dumps({"action": action, **arguments}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # No proxies: the sandbox is on 127.0.0.1, whatever the environment says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read() or b"{}")
    if not answer.get("ok"):
        raise RuntimeError(f"sandbox refused {action}: {answer.get('error')}")
    return answer["result"]
