"""Fixtures of the Exolve client and sandbox tests (the layer that knows nothing of Django)."""

import pytest

from tests.exolve_client_helpers import http_client


@pytest.fixture
def exolve_client(sandbox_http):
    """The Exolve API client over real HTTP to ``sandbox_http`` (its state: ``sandbox_http.sandbox``)."""
    return http_client(sandbox_http.url)
