"""Tokens: made once, stored as SHA-256, looked up by it, checked, counted per minute.

A token is 32 random bytes (`secrets`), URL-safe, prefixed "exv_". Only its SHA-256 is kept: a
database leak gives nobody a usable token. The lookup is by the digest (a unique index); the
digest found is compared again in constant time.

`admit` is the one database write of a request: one UPDATE counts the request in the token's
current minute (the rate limit, shared by every gunicorn worker through the row) and refreshes
`last_used_at` when it is more than a minute old. With no limit (EXOLVE_API_RATE_PER_MINUTE=0)
only a "last used" older than a minute is written: most reads write nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from audiences.permissions import ADD_TO_STOP_LIST_PERMISSION, VIEW_STOP_LIST_PERMISSION
from calls.permissions import SEND_PERMISSION, STEER_PERMISSION, VIEW_BROADCASTS_PERMISSION, VIEW_CALLS_PERMISSION

from .models import ApiToken, Scope
from .problems import Problem, forbidden, too_many, unauthorized

PREFIX = "exv_"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> tuple[str, str, str]:
    """(the token to show once, its prefix to keep, its digest to keep)."""
    raw = PREFIX + secrets.token_urlsafe(32)
    return raw, raw[:12], digest(raw)


def scope_label(scope: str) -> str:
    return str(Scope(scope).label) if scope in Scope.values else scope


def authenticate(header: str) -> ApiToken:
    """The token of an `Authorization: Bearer …` header; Problem 401 when missing, wrong, expired or revoked."""
    kind, _space, raw = (header or "").strip().partition(" ")
    if kind.lower() != "bearer" or not raw.strip():
        raise unauthorized(gettext("Send the token in the header “Authorization: Bearer <token>”."))
    wanted = digest(raw.strip())
    token = ApiToken.objects.select_related("created_by").filter(digest=wanted).first()
    if token is None or not hmac.compare_digest(token.digest, wanted):
        raise unauthorized(gettext("This token is not known. Check it, or ask a Manager for a new one."))
    now = timezone.now()
    if token.revoked_at is not None:
        raise unauthorized(gettext("This token was revoked. Ask a Manager for a new one."))
    if token.expires_at is not None and token.expires_at <= now:
        raise unauthorized(gettext("This token expired. Ask a Manager for a new one."))
    owner = token.created_by
    if owner is None or not owner.is_active or not owner.is_staff:
        raise unauthorized(
            gettext("The person who created this token no longer has an account. Ask a Manager for a new token.")
        )
    return token


# What the token's owner must still be allowed to do for each scope: a token never does more
# than the person who created it may do today.
OWNER_PERMISSIONS = {
    Scope.READ: (VIEW_BROADCASTS_PERMISSION, VIEW_CALLS_PERMISSION),
    Scope.STEER: (STEER_PERMISSION,),
    Scope.SEND: (SEND_PERMISSION,),
    Scope.STOP_LIST: (VIEW_STOP_LIST_PERMISSION, ADD_TO_STOP_LIST_PERMISSION),
}


def require(token: ApiToken, scope: str) -> None:
    if scope not in (token.scopes or []):
        raise forbidden(
            gettext("This token may not %(what)s. Ask a Manager to give it that scope (“%(scope)s”).")
            % {"what": scope_label(scope), "scope": scope}
        )
    if not token.created_by.has_perms(OWNER_PERMISSIONS.get(scope, ())):
        raise forbidden(
            gettext(
                "The person who created this token may no longer %(what)s, so the token may not either. "
                "Ask a Manager for a new token."
            )
            % {"what": scope_label(scope)}
        )


def admit(token: ApiToken) -> None:
    """Count this request in the token's minute; Problem 429 (with Retry-After) over the limit."""
    limit = settings.EXOLVE_API_RATE_PER_MINUTE
    now = timezone.now()
    if not limit:  # nothing to count: write only a "last used" older than a minute
        if token.last_used_at is None or token.last_used_at < now - timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return
    now_seconds = time.time()
    minute = int(now_seconds // 60)
    ops = connection.ops
    table = ops.quote_name(ApiToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET "
            "rate_count = CASE WHEN rate_minute = %s THEN rate_count + 1 ELSE 1 END, "
            "rate_minute = %s, "
            "last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < %s THEN %s ELSE last_used_at END "
            "WHERE id = %s RETURNING rate_count",
            [
                minute,
                minute,
                ops.adapt_datetimefield_value(now - timedelta(minutes=1)),
                ops.adapt_datetimefield_value(now),
                token.pk,
            ],
        )
        row = cursor.fetchone()
    if row is not None and row[0] > limit:
        raise too_many(max(1, math.ceil(60 - now_seconds % 60)), limit)


def check(header: str, scope: str) -> ApiToken:
    """Who is calling and whether they may: the token, its scope, its rate; Problem otherwise."""
    token = authenticate(header)
    require(token, scope)
    admit(token)
    return token


__all__ = ["Problem", "authenticate", "check", "new_token", "require"]
