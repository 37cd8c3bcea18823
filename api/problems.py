"""Errors as RFC 9457 problem details (`application/problem+json`), in the caller's language.

Every refusal of the API is a `Problem`; the handlers in api/main.py turn it (and Django's and
django-ninja's own errors) into one JSON shape: type, title, status, detail, and where useful
`errors` (one per field) or `retry_after`. Words come from gettext: the language is the one
Django's LocaleMiddleware read from Accept-Language (Russian or English).
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils.translation import gettext

PROBLEM_TYPE = "https://exolve-portal.invalid/problems/"  # a stable identifier, not a page to fetch
CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    def __init__(self, status: int, kind: str, title: str, detail: str = "", *, headers=None, **extra):
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.headers = headers or {}
        self.extra = extra

    def as_dict(self) -> dict:
        body = {"type": PROBLEM_TYPE + self.kind, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return body

    def response(self) -> HttpResponse:
        body = self.as_dict()
        answer = HttpResponse(json.dumps(body, ensure_ascii=False), status=self.status, content_type=CONTENT_TYPE)
        for name, value in self.headers.items():
            answer[name] = value
        answer["Content-Language"] = _language()
        return answer


def _language() -> str:
    from django.utils.translation import get_language

    return get_language() or "en"


def unauthorized(detail: str) -> Problem:
    return Problem(
        401, "unauthorized", gettext("Not authenticated"), detail, headers={"WWW-Authenticate": 'Bearer realm="api"'}
    )


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", gettext("Not allowed"), detail)


def not_found(detail: str = "") -> Problem:
    return Problem(404, "not-found", gettext("Not found"), detail or gettext("There is nothing at this address."))


def invalid(detail: str, errors: list[dict] | None = None) -> Problem:
    extra = {"errors": errors} if errors else {}
    return Problem(422, "invalid", gettext("The request cannot be carried out"), detail, **extra)


def conflict(detail: str) -> Problem:
    return Problem(409, "conflict", gettext("Not possible now"), detail)


def too_many(retry_after: int, limit: int) -> Problem:
    detail = gettext("This token made more than %(limit)d requests this minute. Try again in %(seconds)d s.") % {
        "limit": limit,
        "seconds": retry_after,
    }
    return Problem(
        429,
        "rate-limited",
        gettext("Too many requests"),
        detail,
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )
