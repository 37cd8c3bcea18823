"""The client over real HTTP to the sandbox, for the client and contract tests.

Import the fixtures a module uses (``from tests.exolve_client_helpers import exolve, sandbox``):
``sandbox`` here is the sandbox behind the HTTP server, in place of conftest's in-process one.
"""

import pytest

from exolve_portal.exolve.client import ExolveClient
from exolve_portal.exolve.sandbox import SANDBOX_API_KEY
from tests.conftest import HTTP_READ_TIMEOUT


def http_client(url, key=SANDBOX_API_KEY, **kwargs) -> ExolveClient:
    """A client with the tests' short timeouts and backoff; ``kwargs`` override them."""
    options = {"connect_timeout": 1, "read_timeout": HTTP_READ_TIMEOUT, "backoff": 0.01} | kwargs
    client = ExolveClient(url, key, **options)
    client.session.trust_env = False  # no proxy between us and 127.0.0.1
    return client


@pytest.fixture
def sandbox(sandbox_server):
    return sandbox_server.sandbox


@pytest.fixture
def exolve(sandbox_server):
    return http_client(sandbox_server.url)
