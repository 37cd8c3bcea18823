"""/api/v1/: the API (api/main.py), its schema and docs, and a problem+json 404 for any other /api/ path.

The API authenticates by token, not by the staff login: its views are exempt from
StaffRequiredMiddleware (as /healthz is) and from the CSRF check (no cookies are used).
"""

import functools

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from .main import api
from .problems import not_found


def _open(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        return view(*args, **kwargs)

    return login_not_required(wrapped)


def _exempt(patterns):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            _exempt(pattern.url_patterns)
        else:
            pattern.callback = _open(pattern.callback)
    return patterns


@login_not_required
@csrf_exempt
def unknown(request, rest=""):
    return not_found().response()


api_patterns, api_app, api_namespace = api.urls
urlpatterns = [
    path("v1/", include((_exempt(api_patterns), api_app), namespace=api_namespace)),
    re_path(r"^(?P<rest>.*)$", unknown),
]
