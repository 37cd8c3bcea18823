"""The API over real HTTP: pytest-django's live server, the in-process sandbox, tokens made as the admin does."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from api.models import ApiToken, Scope
from api.tokens import new_token
from exolve_portal.role_names import MANAGERS
from tests.calls.conftest import workers  # noqa: F401 (the real db_worker processes of the PostgreSQL test)
from tests.factories import make_staff

ALL_SCOPES = [scope.value for scope in Scope]


@pytest.fixture
def api(live_server, transactional_db, sandbox, settings):
    """A requests session against the live portal's /api/v1/, in English unless asked."""
    from api import rate, tokens

    rate.forget()  # this process's counts and rights read by earlier tests
    tokens.forget()
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.LANGUAGE_CODE = "en"

    class Api(requests.Session):
        base = live_server.url + "/api/v1"

        def call(self, method, path, token=None, **kwargs):
            headers = kwargs.pop("headers", {})
            if token:
                headers["Authorization"] = f"Bearer {token}"
            headers.setdefault("Accept-Language", "en")
            return self.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    with Api() as session:
        yield session


@pytest.fixture
def manager(transactional_db):
    return make_staff("manager", role=MANAGERS)


@pytest.fixture
def make_token(manager):
    def make(scopes=ALL_SCOPES, *, name=None, expires_in=None, owner=None):
        raw, prefix, digest = new_token()
        ApiToken.objects.create(
            name=name or f"crm-{prefix}",
            prefix=prefix,
            digest=digest,
            scopes=list(scopes),
            expires_at=timezone.now() + expires_in if expires_in is not None else None,
            created_by=owner or manager,
        )
        return raw

    return make


def recorded(api, accepted):
    """Record the sends accepted so far (a worker's work, here in the test's process) and read
    the send that `accepted` answered: its broadcast and verdicts, or its problem."""
    from api.recording import record_waiting

    assert accepted.status_code in (200, 202), accepted.text
    record_waiting()
    token = accepted.request.headers["Authorization"].removeprefix("Bearer ")
    read = api.call("GET", accepted.json()["url"].removeprefix("/api/v1"), token)
    assert read.status_code == 200, read.text
    return read.json()


def problem(response, status):
    """The RFC 9457 body of `response`, after checking its status and type."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json", response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    return body


PAST = timedelta(seconds=-1)
