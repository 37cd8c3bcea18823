"""Fixtures of the voice-message mirror's tests."""

import pytest

from tests.factories import in_english_without_rate_limit


@pytest.fixture
def sandbox_http_unthrottled(sandbox_http, settings, db):
    """The sandbox over real HTTP on 127.0.0.1; otherwise as ``sandbox_unthrottled``."""
    yield from in_english_without_rate_limit(settings, sandbox_http)
