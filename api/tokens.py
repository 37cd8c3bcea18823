"""Tokens: made once, stored as SHA-256, looked up by it, checked, counted per minute.

A token is 32 random bytes (`secrets`), URL-safe, prefixed "exv_". Only its SHA-256 is kept: a
database leak gives nobody a usable token. The lookup is by the digest (a unique index); the
digest found is compared again in constant time.

A request's check reads the token with its owner's state (`TOKEN_QUERY`, raw SQL: the ORM's
query building cost more than the query on the API's busiest path) and the owner's rights, at
most once a second per process and token: within that second the process trusts what it read.
That read was the largest cost of an accepted send (bench/README.md, API sends). The rate is
counted by api/rate.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from audiences.permissions import ADD_TO_STOP_LIST_PERMISSION, VIEW_STOP_LIST_PERMISSION
from calls.permissions import SEND_PERMISSION, STEER_PERMISSION, VIEW_BROADCASTS_PERMISSION, VIEW_CALLS_PERMISSION

from . import rate
from .models import ApiToken, Scope
from .problems import Problem, forbidden, unauthorized

PREFIX = "exv_"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> tuple[str, str, str]:
    """(the token to show once, its prefix to keep, its digest to keep)."""
    raw = PREFIX + secrets.token_urlsafe(32)
    return raw, raw[:12], digest(raw)


def scope_label(scope: str) -> str:
    return str(Scope(scope).label) if scope in Scope.values else scope


# The token and whether its owner may still sign in, in one read: the one query every request
# makes before its own work (the columns rate.py needs come with it).
TOKEN_QUERY = """
    SELECT t.id, t.name, t.scopes, t.expires_at, t.revoked_at, t.created_by_id, t.last_used_at,
           t.rate_minute, t.rate_count, t.digest, u.is_active AND u.is_staff AS owner_may_sign_in
    FROM {tokens} t LEFT JOIN {users} u ON u.id = t.created_by_id
    WHERE t.digest = %s
"""


# How long a process trusts what it read of a token, its owner's state and rights, and the
# token's count of requests: a token revoked, an owner deactivated or a right taken away is
# refused by every process within this time (at once in the process that changed it: api/apps.py).
READ_AGAIN_AFTER = 1.0  # seconds


@dataclass
class _Read:
    token: ApiToken
    at: float  # monotonic
    rights: dict[str, bool] = field(default_factory=dict)


@dataclass
class _Known:
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, _Read] = field(default_factory=dict)


_known = _Known()


def forget(token_digest: str | None = None, **_signal) -> None:
    """Read the token (every token when none is named) again on its next request."""
    with _known.lock:
        if token_digest is None:
            _known.tokens.clear()
        else:
            _known.tokens.pop(token_digest, None)


def _read(wanted: str) -> _Read | None:
    with _known.lock:
        known = _known.tokens.get(wanted)
    if known is not None and time.monotonic() - known.at < READ_AGAIN_AFTER:
        return known
    query = TOKEN_QUERY.format(
        tokens=connection.ops.quote_name(ApiToken._meta.db_table),
        users=connection.ops.quote_name(get_user_model()._meta.db_table),
    )
    token = next(iter(ApiToken.objects.raw(query, [wanted])), None)
    if token is None:
        return None
    known = _Read(token, time.monotonic())
    with _known.lock:
        _known.tokens[wanted] = known
    return known


def authenticate(header: str) -> _Read:
    """The token of an `Authorization: Bearer …` header; Problem 401 when missing, wrong, expired or revoked."""
    kind, _space, raw = (header or "").strip().partition(" ")
    if kind.lower() != "bearer" or not raw.strip():
        raise unauthorized(gettext("Send the token in the header “Authorization: Bearer <token>”."))
    wanted = digest(raw.strip())
    known = _read(wanted)
    if known is None or not hmac.compare_digest(known.token.digest, wanted):
        raise unauthorized(gettext("This token is not known. Check it, or ask a Manager for a new one."))
    token = known.token
    if token.revoked_at is not None:
        raise unauthorized(gettext("This token was revoked. Ask a Manager for a new one."))
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise unauthorized(gettext("This token expired. Ask a Manager for a new one."))
    if not token.owner_may_sign_in:
        raise unauthorized(
            gettext("The person who created this token no longer has an account. Ask a Manager for a new token.")
        )
    return known


# What the token's owner must still be allowed to do for each scope: a token never does more
# than the person who created it may do today. A send is checked again when it is recorded.
OWNER_PERMISSIONS = {
    Scope.READ: (VIEW_BROADCASTS_PERMISSION, VIEW_CALLS_PERMISSION),
    Scope.STEER: (STEER_PERMISSION,),
    Scope.SEND: (SEND_PERMISSION,),
    Scope.STOP_LIST: (VIEW_STOP_LIST_PERMISSION, ADD_TO_STOP_LIST_PERMISSION),
}


def owner_may(known: _Read, scope: str) -> bool:
    """Whether the token's owner holds the scope's rights (read with the token, at most once a second)."""
    allowed = known.rights.get(scope)
    if allowed is None:
        allowed = known.rights[scope] = known.token.created_by.has_perms(OWNER_PERMISSIONS.get(scope, ()))
    return allowed


def require(known: _Read, scope: str) -> None:
    if scope not in (known.token.scopes or []):
        raise forbidden(
            gettext("This token may not %(what)s. Ask a Manager to give it that scope (“%(scope)s”).")
            % {"what": scope_label(scope), "scope": scope}
        )
    if not owner_may(known, scope):
        raise forbidden(
            gettext(
                "The person who created this token may no longer %(what)s, so the token may not either. "
                "Ask a Manager for a new token."
            )
            % {"what": scope_label(scope)}
        )


def check(header: str, scope: str) -> ApiToken:
    """Who is calling and whether they may: the token, its scope, its rate; Problem otherwise."""
    known = authenticate(header)
    require(known, scope)
    if rate.admit(known.token):  # its count written: read the row again next time (others' counts too)
        forget(known.token.digest)
    return known.token


__all__ = ["Problem", "authenticate", "check", "new_token", "require"]
