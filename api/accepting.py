"""Accepting a send: one INSERT, an answer in milliseconds; a worker records it (api/recording.py).

A send is accepted when its token may send, its body has the documented shape, its
`Idempotency-Key` is new for the token and at least one of its numbers is well formed (or it
names contact lists). Accepting writes one `ApiSend` row, nothing else, and answers 202 with
the send's address; what can only be known by reading the portal (the voice message, the
caller number, the plan, the stop list, consent, the lists) is checked when it is recorded, and
the send's resource (GET /api/v1/sends/{id}, or the same request again) then carries the
broadcast and a verdict per number, or the problem that refused it.

The key: `INSERT … ON CONFLICT (token, key) DO NOTHING`. Two identical requests at the same
moment: the database makes the second insert wait for the first and then insert nothing; the
second reads the first's row and answers with the same send. Another body under a used key is
refused (422). Raw SQL for the insert, as for the token's read (api/tokens.py): this is the
API's busiest path, and building the statement through the ORM cost more than running it.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import get_language, gettext

from audiences.phones import ListRefused, parse_numbers

from . import tasks
from .models import ApiSend, SendState
from .problems import invalid
from .sends import accepted_out, send_out

MAX_KEY_LENGTH = 255


def canonical(body: dict) -> str:
    """The body as stored and compared: the same JSON for the same body, however its keys came."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def body_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def checked_key(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise invalid(gettext("Send an “Idempotency-Key” header (any unique text, e.g. a UUID) with every send."))
    if len(key) > MAX_KEY_LENGTH:
        raise invalid(gettext("The Idempotency-Key is longer than %(max)d characters.") % {"max": MAX_KEY_LENGTH})
    return key


def accept(token, key: str, body: dict) -> tuple[int, dict]:
    """(HTTP status, answer): 202 and the accepted send the first time; a repeat answers what became of it."""
    key = checked_key(key)
    text = canonical(body)
    digest = body_digest(text)
    verdicts = early_verdicts(body.get("numbers") or [], with_lists=bool(body.get("lists")))
    for _try in range(2):
        send_id = _insert(token.pk, key, digest, text)
        if send_id is not None:
            tasks.record_soon()
            return 202, accepted_out(send_id, key, verdicts)
        if (answer := repeat(token, key, digest)) is not None:
            return answer
        # The key's send was forgotten (EXOLVE_API_SENDS_KEPT_DAYS) in between: insert again.
    raise RuntimeError("an API send neither inserted nor found")


def repeat(token, key: str, digest: str) -> tuple[int, dict] | None:
    """What became of the token's send under `key` (None when there is none); 422 for another body."""
    send = ApiSend.objects.filter(token=token, key=key).first()
    if send is None:
        return None
    if send.body_digest != digest:
        raise invalid(
            gettext(
                "This Idempotency-Key was already used for a different request (send %(pk)s). "
                "Nothing was sent; use a new key for a new send."
            )
            % {"pk": send.pk}
        )
    return (202 if send.state == SendState.ACCEPTED else 200), send_out(send)


def early_verdicts(numbers: list, *, with_lists: bool) -> list[dict]:
    """What the numbers alone tell: well formed ("accepted": checked against the stop list and
    consent when recorded), invalid with the reason, or given twice. Problem 422 when none is usable."""
    if not numbers and not with_lists:
        raise invalid(gettext("Give at least one number or contact list."))
    try:
        parsed = parse_numbers([str(n) for n in numbers], limit=settings.EXOLVE_UPLOAD_MAX_ROWS)
    except ListRefused as exc:
        raise invalid(str(exc)) from exc
    verdicts = [{"number": number, "verdict": "accepted", "reason": ""} for number in parsed.valid]
    verdicts += [{"number": raw, "verdict": "invalid", "reason": str(reason)} for raw, reason in parsed.invalid]
    verdicts += [
        {"number": number, "verdict": "duplicate", "reason": gettext("Given more than once: called once.")}
        for number in parsed.duplicates
    ]
    if not parsed.valid and not with_lists:
        raise invalid(gettext("None of the numbers can be called."), verdicts)
    return verdicts


INSERT = """
    INSERT INTO {table} ({token}, {key}, body_digest, body, state, answer, language, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT ({token}, {key}) DO NOTHING
    RETURNING id
"""


def _insert(token_id: int, key: str, digest: str, body: str) -> int | None:
    """The new send's id, or None when the token already used the key (the unique constraint)."""
    ops = connection.ops
    names = {"table": ApiSend._meta.db_table, "token": "token_id", "key": "key"}
    query = INSERT.format(**{name: ops.quote_name(value) for name, value in names.items()})
    values = [
        token_id,
        key,
        digest,
        body,
        SendState.ACCEPTED,
        "{}",
        (get_language() or "")[:10],
        ops.adapt_datetimefield_value(timezone.now()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(query, values)
        row = cursor.fetchone()
    return row[0] if row else None
