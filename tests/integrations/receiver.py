"""A webhook receiver on 127.0.0.1 for tests and the bench: records each request, fails the first N per webhook-id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, headers, body: bytes) -> bool:
    """The Standard Webhooks verification, written from the specification (not the portal's code)."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1) for part in headers["webhook-signature"].split(" ")]
    return any(version == "v1" and hmac.compare_digest(sig, expected) for version, sig in given)


class Receiver:
    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.requests: list[tuple[dict, bytes, int]] = []  # (headers, body, status answered)
        self.seen: Counter = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                with receiver.lock:
                    receiver.seen[headers.get("webhook-id")] += 1
                    status = 503 if receiver.seen[headers.get("webhook-id")] <= receiver.fail_first else 200
                    receiver.requests.append((headers, body, status))
                answer = b"not now" if status != 200 else b"ok"
                self.send_response(status)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks?from=portal"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[tuple[dict, bytes]]:
        return [(headers, body) for headers, body, status in self.requests if status == 200]
