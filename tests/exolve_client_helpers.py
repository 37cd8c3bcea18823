"""The client over real HTTP to the sandbox, for the client and contract tests.

``http_client(url)`` builds one with the tests' short timeouts; the ``exolve_client``
fixture (tests/client/conftest.py) is one pointed at ``sandbox_http``.
"""

from exolve_portal.exolve.client import ExolveClient
from exolve_portal.exolve.sandbox import SANDBOX_API_KEY
from tests.conftest import HTTP_READ_TIMEOUT


def http_client(url, key=SANDBOX_API_KEY, **kwargs) -> ExolveClient:
    """A client with the tests' short timeouts and backoff; ``kwargs`` override them."""
    options = {"connect_timeout": 1, "read_timeout": HTTP_READ_TIMEOUT, "backoff": 0.01} | kwargs
    client = ExolveClient(url, key, **options)
    client.session.trust_env = False  # no proxy between us and 127.0.0.1
    return client
