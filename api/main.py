"""The API object (django-ninja): its routes, its OpenAPI schema and docs page, its errors.

Every error leaves as problem+json (api/problems.py): ours, django-ninja's (a body that does
not parse, a missing header), Django's (Http404, a body over DATA_UPLOAD_MAX_MEMORY_SIZE) and
any unforeseen one (500, logged, with nothing of the exception in the answer).
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from .endpoints import router
from .problems import Problem, invalid, not_found, unauthorized

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Exolve Voice Portal API",
    version="1",
    description=(
        "Send voice messages, read their outcomes, steer broadcasts and keep the stop list. "
        "Authenticate with `Authorization: Bearer <token>` (a Manager creates tokens in the admin). "
        "Errors are RFC 9457 problem details in the language of `Accept-Language` (ru, en)."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/", router)


@api.exception_handler(Problem)
def _problem(request, exc: Problem):
    return exc.response()


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    errors = [
        {"field": ".".join(str(part) for part in error.get("loc", ())), "message": str(error.get("msg", ""))}
        for error in exc.errors[:50]
    ]
    return invalid(gettext("The request does not have the documented shape; see “errors”."), errors).response()


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return unauthorized(gettext("Send the token in the header “Authorization: Bearer <token>”.")).response()


@api.exception_handler(Http404)
def _not_found(request, exc):
    return not_found().response()


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    words = gettext("Send fewer numbers at once.")
    return Problem(413, "too-large", gettext("The request is too large"), words).response()


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return Problem(exc.status_code, "error", str(exc)).response()


@api.exception_handler(Exception)
def _unexpected(request, exc):
    logger.exception("API request failed: %s %s", request.method, request.path)
    return Problem(
        500, "server-error", gettext("Something went wrong"), gettext("Nothing was changed by this error; try again.")
    ).response()
