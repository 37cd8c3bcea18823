"""Where webhooks may go: http(s) addresses that resolve only to public IP addresses.

Checked when a Manager registers the address (the admin form) and again at every
delivery, where the request is sent to the very address just checked (`post`), so a
name that changes its answer between the check and the connection (DNS rebinding)
cannot lead the worker to a private, loopback or link-local address. Redirects are not
followed. EXOLVE_WEBHOOKS_ALLOW_PRIVATE lets private addresses through (tests, or a
receiver on the company's own network).
"""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import socket
import ssl
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext

# The start of an answer kept for the delivery log; the rest is never read.
ANSWER_BYTES = 1024


class Refused(ValueError):
    """An address webhooks may not go to; `str()` says why in plain words."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, the IP address to connect to) for `url`, or Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(gettext("This address cannot be read.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(gettext("Only http:// and https:// addresses can receive webhooks."))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(gettext("The name %(host)s could not be found.") % {"host": parts.hostname}) from None
    addresses = [info[4][0] for info in found]
    if not addresses:
        raise Refused(gettext("The name %(host)s could not be found.") % {"host": parts.hostname})
    if not settings.EXOLVE_WEBHOOKS_ALLOW_PRIVATE and not all(_public(address) for address in addresses):
        raise Refused(
            gettext(
                "%(host)s leads to a private, local or internal network address: webhooks go only to public "
                "addresses. Give the receiver's public address."
            )
            % {"host": parts.hostname}
        )
    return parts.scheme, parts.hostname, port, addresses[0]


class _DeadlineReader(io.RawIOBase):
    """The answer's bytes, each read given only the time left: a receiver dripping its answer byte by byte
    is cut off at the deadline (a per-read timeout alone would wait for it for ever)."""

    def __init__(self, sock, deadline: float):
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the receiver took too long to answer")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class _Response(http.client.HTTPResponse):
    def __init__(self, sock, *args, deadline: float, **kwargs):
        super().__init__(sock, *args, **kwargs)
        self.fp.close()
        self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))


class _Pinned(http.client.HTTPConnection):
    """A connection to the IP address checked, whatever the name resolves to now; the answer read within `timeout`."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def getresponse(self):
        self.response_class = functools.partial(_Response, deadline=time.monotonic() + self.timeout)
        return super().getresponse()


class _PinnedTLS(_Pinned):
    default_port = 443

    def connect(self):
        super().connect()
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


class Resolved:
    """`resolve` of each address at most once per `seconds` (one delivery run's batch), refusals included.

    The request still goes to exactly the address checked; only the look-up is shared.
    """

    def __init__(self, seconds: float = 30.0):
        self.seconds = seconds
        self._found: dict[str, tuple[float, object]] = {}

    def __call__(self, url: str) -> tuple[str, str, int, str]:
        now = time.monotonic()
        found = self._found.get(url)
        if found is None or found[0] < now:
            try:
                answer = resolve(url)
            except Refused as exc:
                answer = exc
            found = self._found[url] = (now + self.seconds, answer)
        if isinstance(found[1], Refused):
            raise found[1]
        return found[1]


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, resolved=resolve) -> tuple[int, str]:
    """POST `body` to `url` (checked again, by `resolved`); (HTTP status, the start of the answer).

    OSError or Refused on failure.
    """
    scheme, host, port, address = resolved(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = (_PinnedTLS if scheme == "https" else _Pinned)(host, port, address, timeout)
    try:
        connection.request("POST", path, body=body, headers={**headers, "user-agent": "exolve-portal-webhooks"})
        response = connection.getresponse()
        answer = response.read(ANSWER_BYTES)
        return response.status, answer.decode("utf-8", "replace")
    except http.client.HTTPException as exc:
        raise OSError(type(exc).__name__) from exc
    finally:
        connection.close()
