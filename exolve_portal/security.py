"""Access control shared by every page: staff only, login throttling, the client's address.

- ``StaffRequiredMiddleware``: every view needs a logged-in, active staff member unless
  it is marked ``@login_not_required`` (the login page, /healthz, the language switch).
  A page added later is protected without anyone remembering to decorate it; its own
  permission checks come on top.
- ``LoginThrottleBackend``: django-axes' backend, skipped only for authentication that
  has no HTTP request (the test client's ``login()``, shell scripts): password guessing
  can only come through the login form, which always passes the request.
- ``client_ip``: the address axes counts failures against. Behind the documented
  nginx (``TRUST_PROXY_HEADERS=on``) that is the right-most X-Forwarded-For entry, the
  one nginx itself added; otherwise the socket's address.
"""

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.shortcuts import render


class StaffRequiredMiddleware(LoginRequiredMiddleware):
    """Like Django's LoginRequiredMiddleware, but a logged-in non-staff user is refused too."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff:
            return None
        # The admin's login page tells a logged-in non-staff user they lack access.
        return self.handle_no_permission(request, view_func)


class LoginThrottleBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None  # not a web login: nothing to throttle, let the next backend decide
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request) -> str | None:
    """The client's IP address as seen by the outermost proxy we trust."""
    if settings.TRUST_PROXY_HEADERS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            return addresses[-1]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request, original_response=None, credentials=None):
    """The page django-axes shows a locked-out login: what happened and how long to wait, in plain words."""
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": max(1, round(cool_off.total_seconds() / 60)) if cool_off else None,
    }
    return render(request, "axes/lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
