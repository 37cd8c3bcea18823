"""The portal's one way to get an ExolveClient configured from settings.

In sandbox mode the client's session has the in-process sandbox mounted, so nothing
leaves the machine. One client per process (its session pools connections); it is
rebuilt when an EXOLVE_* setting changes (tests use that).
"""

import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from exolve_portal.exolve import ExolveClient, RateLimiter
from exolve_portal.exolve.sandbox import Sandbox
from exolve_portal.exolve.sandbox_account import SANDBOX_API_KEY, SANDBOX_BASE_URL

_lock = threading.Lock()
_client: ExolveClient | None = None


def sandbox_in_use() -> bool:
    return bool(settings.EXOLVE_SANDBOX)


def build_client() -> ExolveClient:
    common = {
        "connect_timeout": settings.EXOLVE_CONNECT_TIMEOUT,
        "read_timeout": settings.EXOLVE_TIMEOUT,
        "pool_size": max(settings.EXOLVE_MAX_IN_FLIGHT, 1),
        "rate_limiter": RateLimiter(settings.EXOLVE_MAX_RPS),
    }
    if sandbox_in_use():
        client = ExolveClient(SANDBOX_BASE_URL, SANDBOX_API_KEY, **common)
        Sandbox(settings.EXOLVE_SANDBOX_STATE).mount(client.session, SANDBOX_BASE_URL)
        return client
    return ExolveClient(settings.EXOLVE_API_URL, settings.EXOLVE_API_KEY, **common)


def get_client() -> ExolveClient:
    global _client
    with _lock:
        if _client is None:
            _client = build_client()
        return _client


def reset() -> None:
    global _client
    with _lock:
        _client = None


@receiver(setting_changed)
def _reset_on_setting_change(setting, **kwargs):
    if setting.startswith("EXOLVE_"):
        reset()
