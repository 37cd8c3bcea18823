"""/metrics for Prometheus: only with the token (EXOLVE_METRICS_TOKEN) or from an allowed address.

Anonymous requests are refused (403); with neither setting, every request is. The
address is the client's as `security.client_ip` reads it (behind the proxy, with
TRUST_PROXY_HEADERS).
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from exolve_portal.security import client_ip

from .metrics import registry


def _token_ok(request) -> bool:
    token = settings.EXOLVE_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _address_ok(request) -> bool:
    address = client_ip(request)
    if not address or not settings.EXOLVE_METRICS_ALLOWED_ADDRESSES:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in settings.EXOLVE_METRICS_ALLOWED_ADDRESSES:
        try:
            if ip in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


@login_not_required  # Prometheus has no session: the token or the address let it in
@never_cache
@require_GET
def metrics(request):
    if not (_token_ok(request) or _address_ok(request)):
        return HttpResponse(
            "Metrics need the token (Authorization: Bearer ...) or an allowed address.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
