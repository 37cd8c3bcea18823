"""The per-token rate limit (EXOLVE_API_RATE_PER_MINUTE), shared by every gunicorn process.

Each process counts its own requests per token and minute and adds them to the token's row
(`rate_minute`, `rate_count`) at most once a second, in one UPDATE that also refreshes "last
used". A request is admitted while the row's count (read with the token, api/tokens.py) plus
this process's not yet written count stays within the limit.

Why not one UPDATE per request: every request of a token would then wait for the previous
one's commit on the same row (a disk flush each on PostgreSQL), so a busy integration's
sends would queue behind one another (bench/README.md, API sends). The cost of writing once a
second: another process's last second of requests is not yet in the row, so a token spread
over several processes may exceed the limit by about a second's worth of its requests.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import ApiToken
from .problems import too_many

WRITE_EVERY = 1.0  # seconds between one process's writes of a token's count


@dataclass
class _Counted:
    minute: int = 0
    unwritten: int = 0
    written_at: float = -math.inf  # monotonic


@dataclass
class _Counts:
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[int, _Counted] = field(default_factory=dict)


_counts = _Counts()


def forget() -> None:
    """Drop this process's unwritten counts (tests start each from nothing)."""
    with _counts.lock:
        _counts.tokens.clear()


def admit(token: ApiToken) -> bool:
    """Count this request in the token's minute; Problem 429 (with Retry-After) over the limit.

    `token` carries the row's `rate_minute`, `rate_count` and `last_used_at` as last read
    (api/tokens.py). True when this request wrote the process's count to the row.
    """
    limit = settings.EXOLVE_API_RATE_PER_MINUTE
    now_seconds = time.time()
    if not limit:  # nothing to count: write only a "last used" older than a minute
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            return True
        return False
    minute = int(now_seconds // 60)
    shared = token.rate_count if token.rate_minute == minute else 0
    with _counts.lock:
        counted = _counts.tokens.setdefault(token.pk, _Counted())
        if counted.minute != minute:
            counted.minute, counted.unwritten = minute, 0
        if shared + counted.unwritten >= limit:
            raise too_many(max(1, math.ceil(60 - now_seconds % 60)), limit)
        counted.unwritten += 1
        to_write = 0
        if time.monotonic() - counted.written_at >= WRITE_EVERY:
            to_write, counted.unwritten, counted.written_at = counted.unwritten, 0, time.monotonic()
    if to_write:
        _write(token.pk, minute, to_write)
    return bool(to_write)


def _write(token_id: int, minute: int, count: int) -> None:
    ops = connection.ops
    table = ops.quote_name(ApiToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET "
            "rate_count = CASE WHEN rate_minute = %s THEN rate_count + %s ELSE %s END, "
            "rate_minute = %s, last_used_at = %s WHERE id = %s",
            [minute, count, count, minute, ops.adapt_datetimefield_value(timezone.now()), token_id],
        )
