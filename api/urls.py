"""/api/v1/: the API (api/main.py), its schema and docs, and a problem+json 404 for any other /api/ path.

The API authenticates by token, not by the staff login: its views are exempt from
StaffRequiredMiddleware (as /healthz is) and from the CSRF check (no cookies are used).
"""

import functools

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

from .main import api
from .problems import CONTENT_TYPE, Problem, not_found


def _open(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type") != CONTENT_TYPE:
            allowed = response.get("Allow", "")
            words = gettext("This address takes only: %(methods)s.") % {"methods": allowed}
            response = Problem(405, "method-not-allowed", gettext("Method not allowed"), words).response()
            response["Allow"] = allowed
        return response

    return login_not_required(wrapped)


@login_not_required
@csrf_exempt
def unknown(request, rest=""):
    return not_found().response()


def _exempt(patterns):
    """Each view marked as not needing the staff login; a path once (django-ninja repeats a path
    under each of its operations' names, and the first one's view answers every method)."""
    seen, kept = set(), []
    for pattern in patterns:
        route = str(pattern.pattern)
        if route in seen:
            continue
        seen.add(route)
        # django-ninja's root answers an HTML 404 (the schema reverses its name: it stays, with ours).
        pattern.callback = unknown if pattern.name == "api-root" else _open(pattern.callback)
        kept.append(pattern)
    return kept


api_patterns, api_app, api_namespace = api.urls
urlpatterns = [
    path("v1/", include((_exempt(api_patterns), api_app), namespace=api_namespace)),
    re_path(r"^(?P<rest>.*)$", unknown),
]
