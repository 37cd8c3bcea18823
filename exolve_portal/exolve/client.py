"""ExolveClient: one method per Exolve Voice API endpoint, typed results.

Django-free on purpose, so it can be tested and reused alone.

What it does not do: it never repeats a Create or MakeVoiceMessage that may have
reached Exolve. Those are not idempotent (a repeated MakeVoiceMessage rings the person
twice), so they are retried only when the connection certainly never opened. Reads and
Delete are retried on transient failures with a short backoff, and after a "too many
requests" answer once its wait is over.

Bodies carry only the fields the documentation names, in the documented form; see
``docs/exolve-api.md`` for the choices made where the documentation is silent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from . import errors, owned_numbers, sms
from .endpoints import CALL_GET_INFO, CREATE, DELETE, GET_INFO, GET_LIST, IDEMPOTENT, MAKE_VOICE_MESSAGE

logger = logging.getLogger(__name__)

# Statuses worth another try on an idempotent request.
_RETRY_STATUSES = frozenset({500, 502, 503, 504})


# --- Typed results ----------------------------------------------------------------
@dataclass(frozen=True)
class VoiceMessageSummary:
    """One row of GetList."""

    id: str
    name: str
    created_at: datetime | None
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class VoiceMessageInfo:
    """GetInfo of one voice message."""

    id: str
    name: str
    digit: int
    redirect_number: str
    media_id: int | None
    created_at: datetime | None
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class CallInfo:
    """call/v1/GetInfo: the statistics of one sent voice message."""

    call_id: str
    created: datetime | None
    updated: datetime | None
    started: datetime | None
    ended: datetime | None
    duration: int | None
    timeout: int | None
    status: str
    direction: str
    source: str
    destination: str
    raw: dict = field(repr=False, compare=False)


# --- Parsing helpers --------------------------------------------------------------
def parse_rfc3339(value: Any) -> datetime | None:
    """Voice-message timestamps: ``2022-12-15T10:23:54.912Z``. Empty -> None."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def parse_rfc1123(value: Any) -> datetime | None:
    """Call timestamps: ``Wed, 29 Mar 2023 10:32:45 +0000``. Empty -> None."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return parse_rfc3339(value)  # tolerate the other format rather than lose it
    return parsed if parsed.tzinfo else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _as_str(value: Any) -> str:
    return "" if value is None else str(value)


# --- Rate limiting ----------------------------------------------------------------


class RateLimiter:
    """Paces the requests of every thread sharing it, and slows them down when Exolve says "too many".

    - ``rate``: the configured cap, requests per second (0: none).
    - ``slow_down(wait)`` (after a 429): no thread sends for ``wait`` seconds, and the
      pace drops to 90% of the rate that got through since the previous wait (over
      the last second at most; once per wait, however many threads met the same 429;
      not at all when too little got through to tell a rate).
    - Each second without a 429 the pace recovers by ``RECOVERY_PER_SECOND``, back to
      the configured cap (or to no pacing) after ``FORGET_AFTER`` quiet seconds.
    """

    RECOVERY_PER_SECOND = 0.02
    FORGET_AFTER = 60.0
    MIN_RATE = 0.5
    # Traffic needed to estimate a rate: a stray earlier request is no measure of one.
    MIN_WINDOW = 0.05  # seconds
    MIN_SAMPLES = 10  # requests that got through

    def __init__(self, rate: float = 0.0, *, clock=time.monotonic, sleep=time.sleep):
        self.rate = float(rate) if rate and rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._pace = self.rate or None  # requests per second now; None: unpaced
        self._next = clock()
        self._paused_until = 0.0
        self._resumed_at = 0.0  # when the last wait ended
        self._slowed_at: float | None = None  # when the pace was last lowered
        self._grown_at = 0.0
        self._recent: deque[float] = deque()  # when recent requests succeeded (last second)

    @property
    def pace(self) -> float | None:
        return self._pace

    def acquire(self) -> None:
        """Wait until this thread may send its next request."""
        while True:
            with self._lock:
                now = self._clock()
                if now < self._paused_until:
                    delay, paused = self._paused_until - now, True
                else:
                    paused = False
                    self._recover(now)
                    if self._pace is None:
                        return
                    slot = max(self._next, now)
                    self._next = slot + 1.0 / self._pace
                    delay = slot - now
            if delay > 0:
                self._sleep(delay)
            if not paused:
                return

    def succeeded(self) -> None:
        """Note a request that was carried out (the pace estimate counts them)."""
        now = self._clock()
        with self._lock:
            self._recent.append(now)
            while self._recent and self._recent[0] < now - 1.0:
                self._recent.popleft()

    def slow_down(self, wait: float) -> None:
        """Exolve refused a request as too many: pause everyone for ``wait`` s and lower the pace."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + max(wait, 0.0))
            if self._slowed_at is not None and now - self._slowed_at < max(wait, 1.0):
                return  # the same burst of 429s: lower the pace once
            # What got through since the last wait ended (at most the last second).
            start = max(now - 1.0, self._resumed_at)
            while self._recent and self._recent[0] < start:
                self._recent.popleft()
            self._resumed_at = self._paused_until
            if len(self._recent) < self.MIN_SAMPLES or now - start < self.MIN_WINDOW:
                return  # too little traffic to learn a rate from: only the wait
            through = len(self._recent) / (now - start)
            if self._pace is not None:
                through = min(through, self._pace)
            self._pace = max(self.MIN_RATE, 0.9 * through)
            self._slowed_at = now
            self._grown_at = self._paused_until  # recovery counts from the end of the wait
            self._next = max(self._next, self._paused_until)

    def _recover(self, now: float) -> None:
        if self._slowed_at is None:
            return
        if now - self._slowed_at >= self.FORGET_AFTER:
            self._pace, self._slowed_at = self.rate or None, None
            return
        elapsed = now - self._grown_at
        if elapsed >= 1.0:
            self._pace *= 1.0 + self.RECOVERY_PER_SECOND * elapsed
            self._grown_at = now
            if self.rate and self._pace >= self.rate:
                self._pace, self._slowed_at = self.rate, None


# --- The client -------------------------------------------------------------------


class _BearerAuth(requests.auth.AuthBase):
    """Adds the key at send time so it never sits in session headers, reprs or logs."""

    def __init__(self, api_key: str):
        self._api_key = api_key

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request

    def __repr__(self) -> str:
        return "<BearerAuth ***>"


class ExolveClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        max_retries: int = 2,
        backoff: float = 0.2,
        rate_limited_retries: int = 5,
        session: requests.Session | None = None,
        pool_size: int = 20,
        rate_limiter: RateLimiter | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff = backoff
        self.rate_limited_retries = rate_limited_retries
        # Always one: it is also how a 429 met by one thread slows down the others.
        self.rate_limiter = rate_limiter if rate_limiter is not None else RateLimiter()
        self._auth = _BearerAuth(api_key)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session

    def __repr__(self) -> str:
        return f"<ExolveClient {self.base_url}>"

    # -- voice messages --

    def create_voice_message(self, name: str, media_id: int, digit: int = 0, redirect_number: str | None = None) -> str:
        """Create a voice message at Exolve; return its id. Never repeated if it may have arrived.

        ``redirect_info`` is sent only with a redirect number: the documentation's
        RedirectInfo is a digit *and* a number, and one without a number is refused
        (the portal's forms refuse a digit without a number before this is called).
        """
        # The documentation's example sends media_id as a numeric string.
        body: dict[str, Any] = {"name": name, "media_id": str(media_id)}
        if redirect_number:
            body["redirect_info"] = {"digit": int(digit or 0), "redirect_number": str(redirect_number)}
        _data, voice_message_id = self._post_for_id(CREATE, body, "id")
        return voice_message_id

    def list_voice_messages(self) -> list[VoiceMessageSummary]:
        data = self._post(GET_LIST, {})
        items = data.get("voice_message_list")
        if items is None and not data:
            # An application with no voice messages may answer `{}`. Any other shape is
            # refused: reading it as "empty" would mark every local message missing.
            items = []
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") for i in items):
            raise errors.MalformedResponseError(
                "voice_message_list is not a list of objects with ids", status=200, body=str(data), endpoint=GET_LIST
            )
        return [
            VoiceMessageSummary(
                id=_as_str(item["id"]),
                name=_as_str(item.get("name")),
                created_at=parse_rfc3339(item.get("created_at")),
                raw=item,
            )
            for item in items
        ]

    def get_voice_message(self, voice_message_id: str) -> VoiceMessageInfo:
        data, voice_message_id = self._post_for_id(GET_INFO, {"id": str(voice_message_id)}, "id")
        return VoiceMessageInfo(
            id=voice_message_id,
            name=_as_str(data.get("name")),
            digit=_as_int(data.get("digit")) or 0,
            redirect_number=_as_str(data.get("redirect_number")),
            media_id=_as_int(data.get("media_id")),
            created_at=parse_rfc3339(data.get("created_at")),
            raw=data,
        )

    def delete_voice_message(self, voice_message_id: str) -> None:
        self._post(DELETE, {"id": str(voice_message_id)})

    # -- calls --

    def make_voice_message(self, source: str, destination: str, service_id: str) -> str:
        """Ring ``destination`` with voice message ``service_id``; return the call id.

        Not idempotent: a failure that may have reached Exolve is raised, never retried.
        """
        body = {"source": str(source), "destination": str(destination), "service_id": str(service_id)}
        _data, call_id = self._post_for_id(MAKE_VOICE_MESSAGE, body, "call_id")
        return call_id

    def get_call(self, call_id: str) -> CallInfo:
        data, call_id = self._post_for_id(CALL_GET_INFO, {"call_id": str(call_id)}, "call_id")
        return CallInfo(
            call_id=call_id,
            created=parse_rfc1123(data.get("created")),
            updated=parse_rfc1123(data.get("updated")),
            started=parse_rfc1123(data.get("started")),
            ended=parse_rfc1123(data.get("ended")),
            duration=_as_int(data.get("duration")),
            timeout=_as_int(data.get("timeout")),
            status=_as_str(data.get("status")),
            direction=_as_str(data.get("direction")),
            source=_as_str(data.get("source")),
            destination=_as_str(data.get("destination")),
            raw=data,
        )

    def list_numbers(self, **filters) -> list[owned_numbers.OwnedNumber]:
        """Every number the application owns (number/customer/v1/GetList, all pages; owned_numbers.py)."""
        return owned_numbers.list_numbers(self._post, **filters)

    def send_sms(self, sender: str, destination: str, text: str) -> sms.SmsSent:
        """messaging/v1/SendSMS (sms.py). Not idempotent: never repeated when it may have arrived."""
        return sms.send_sms(self._post, sender, destination, text)

    # -- transport --

    def _post_for_id(self, endpoint: str, body: dict, key: str) -> tuple[dict, str]:
        """POST, and insist the answer names the object: (the answer, its `key` as a string)."""
        data = self._post(endpoint, body)
        value = data.get(key)
        if value in (None, "") or isinstance(value, (dict, list, bool)):
            raise errors.MalformedResponseError(
                f"the answer has no {key!r}", status=200, body=str(data), endpoint=endpoint
            )
        return data, str(value)

    def _post(self, endpoint: str, body: dict) -> dict:
        attempt = waits = 0
        while True:
            try:
                data = self._post_once(endpoint, body)
            except errors.RateLimitedError as error:
                self.rate_limiter.slow_down(error.retry_after)
                # Nothing was done; a read or Delete goes again once the wait is over. Create,
                # MakeVoiceMessage and SendSMS are the caller's to put back (a worker requeues).
                if endpoint not in IDEMPOTENT or waits >= self.rate_limited_retries:
                    raise
                waits += 1
                logger.warning("Exolve asked to wait %.1fs before %s", error.retry_after, endpoint)
                continue
            except errors.ExolveError as error:
                if attempt >= self.max_retries or not self._may_retry(endpoint, error):
                    raise
                attempt += 1
                delay = self.backoff * (2 ** (attempt - 1))
                logger.warning("Retrying %s in %.1fs after: %s", endpoint, delay, error)
                time.sleep(delay)
            else:
                self.rate_limiter.succeeded()
                return data

    @staticmethod
    def _may_retry(endpoint: str, error: errors.ExolveError) -> bool:
        if not error.may_have_reached and isinstance(error, errors.ExolveConnectionError):
            return True  # never left: safe for every endpoint
        if endpoint not in IDEMPOTENT:
            return False
        if isinstance(error, errors.ExolveTransportError):
            return True
        return isinstance(error, errors.ServerError) and error.status in _RETRY_STATUSES

    def _post_once(self, endpoint: str, body: dict) -> dict:
        self.rate_limiter.acquire()
        url = f"{self.base_url}/{endpoint}"
        try:
            response = self.session.post(url, json=body, timeout=self.timeout, auth=self._auth)
        except requests.exceptions.ConnectTimeout as exc:
            raise errors.ExolveConnectionError("connect timeout", endpoint=endpoint) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise errors.ExolveTimeout("read timeout", endpoint=endpoint) from exc
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                raise errors.ExolveConnectionError("connection refused", endpoint=endpoint) from exc
            raise errors.ConnectionDroppedError("connection dropped", endpoint=endpoint) from exc
        except requests.exceptions.RequestException as exc:
            raise errors.ConnectionDroppedError(type(exc).__name__, endpoint=endpoint) from exc

        text = response.text
        if response.status_code >= 400:
            # The whole body stays on the error for diagnosis; a page without a message
            # (a proxy's) shows its reason phrase but is never classified by it.
            raise errors.error_for_response(
                response.status_code,
                errors.message_from_body(text),
                text[:2000],
                endpoint,
                retry_after=errors.parse_retry_after(response.headers.get("Retry-After")),
                reason=response.reason or "",
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise errors.MalformedResponseError(
                "the answer is not a JSON object", status=response.status_code, body=text[:2000], endpoint=endpoint
            )
        return data


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True only when the TCP connection was never established (refused, DNS)."""
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, NewConnectionError) or isinstance(cause, NewConnectionError)
