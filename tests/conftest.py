"""Shared fixtures: the Exolve sandbox, in-process and over real HTTP.

- ``sandbox``: a fresh Sandbox on a temporary state file; the portal (through
  ``exolve_connection.get_client()``) uses the in-process sandbox on that same file.
- ``sandbox_http``: the same, served over HTTP on 127.0.0.1 with a random port; the
  portal is configured as for a real Exolve at that URL, with short timeouts, and the sandbox's caller numbers as the
  team's numbers. It yields the server: ``.sandbox``, ``.url``.

Both yield objects whose faults, log and state are the very ones the portal sees,
because every Sandbox on one state file shares it.

A test (or a module, with ``pytestmark = pytest.mark.usefixtures("error_shape")``) that
uses ``error_shape`` runs once per error-body shape the live API has been seen to use;
its sandbox answers errors in that shape.
"""

import pytest
from django.core.cache import cache
from django.utils import translation

from exolve_portal.exolve.sandbox import ERROR_SHAPES, SANDBOX_API_KEY, SANDBOX_SOURCE_NUMBERS, Sandbox
from exolve_portal.exolve.sandbox_server import SandboxServer

# The fixture modules, listed once for the whole suite (never in a test module).
pytest_plugins = ["tests.factories", "tests.factories_calls", "tests.pages_helpers", "tests.jobs_helpers"]

# Client read timeout in sandbox_http tests: `timeout` faults over HTTP should sleep
# longer than this (e.g. seconds=3) and still finish quickly.
HTTP_READ_TIMEOUT = 2


@pytest.fixture(autouse=True)
def empty_cache():
    """Nothing cached by one test (dashboard day totals, say) leaks into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def any_calling_hours(settings):
    """Calls may ring at any time unless a test sets calling hours (CI runs at any hour)."""
    settings.EXOLVE_CALLING_HOURS = "any"


@pytest.fixture(autouse=True)
def exports_in_tmp(settings, tmp_path):
    """Background exports write their files under the test's own folder, never var/."""
    settings.EXOLVE_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture(autouse=True)
def english_unless_asked(settings):
    """Tests read English unless they ask for Russian (the shipped default language)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(params=ERROR_SHAPES)
def error_shape(request):
    """Each error-body shape in turn: flat, nested, text."""
    return request.param


def _shape_for(request, instance):
    if "error_shape" in request.fixturenames:
        instance.set_error_shape(request.getfixturevalue("error_shape"))


@pytest.fixture
def sandbox(tmp_path, settings, request):
    """A fresh in-process sandbox; the portal's client talks to it."""
    path = tmp_path / "sandbox.sqlite3"
    instance = Sandbox(path)
    _shape_for(request, instance)
    settings.EXOLVE_SANDBOX = True
    settings.EXOLVE_SANDBOX_STATE = str(path)
    yield instance
    instance.close()


@pytest.fixture
def sandbox_http(tmp_path, settings, request):
    """A fresh sandbox behind a real HTTP server; `.sandbox`, `.url`, stopped afterwards."""
    path = tmp_path / "sandbox.sqlite3"
    instance = Sandbox(path)
    _shape_for(request, instance)
    server = SandboxServer(instance, host="127.0.0.1", port=0).start()
    settings.EXOLVE_SANDBOX = False
    settings.EXOLVE_SANDBOX_STATE = str(path)
    settings.EXOLVE_API_URL = server.url
    settings.EXOLVE_API_KEY = SANDBOX_API_KEY
    settings.EXOLVE_TIMEOUT = HTTP_READ_TIMEOUT
    settings.EXOLVE_CONNECT_TIMEOUT = 1
    settings.EXOLVE_SOURCE_NUMBERS = list(SANDBOX_SOURCE_NUMBERS)
    yield server
    server.stop()
    instance.close()
