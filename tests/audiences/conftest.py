"""Fixtures of the audiences tests (the stop list, numbers and lists people give)."""

import pytest

from exolve_portal.roles import MANAGERS, OPERATORS
from tests.factories import make_staff


@pytest.fixture
def operator_role_client(client, english):
    """The test client logged in as "op", in the Operators role."""
    client.force_login(make_staff("op", OPERATORS))
    return client


@pytest.fixture
def manager_role_client(client, english):
    """The test client logged in as "boss", in the Managers role."""
    client.force_login(make_staff("boss", MANAGERS))
    return client
