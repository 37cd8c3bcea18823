"""Fixtures and helpers for the staff pages tests (loaded for every test by tests/conftest.py)."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Broadcast, Call, CallState
from calls.recording import new_token
from exolve_portal.roles import MANAGERS, OPERATORS
from tests.factories import FAST_PASSWORD_HASHERS, make_staff
from tests.factories_calls import SOURCE

# (state, status, next_refresh_at set?) -> the outcome the pages must show.
OUTCOME_CASES = [
    (CallState.FINISHED, "completed", False, "completed"),
    (CallState.FINISHED, "no_answer", False, "no_answer"),
    (CallState.FINISHED, "busy", False, "busy"),
    (CallState.FINISHED, "failed", False, "failed"),
    (CallState.FINISHED, "canceled", False, "failed"),
    (CallState.REJECTED, "", False, "failed"),
    (CallState.UNKNOWN, "", False, "unknown"),
    (CallState.SENT, "", True, "pending"),
    (CallState.SENT, "ringing", True, "pending"),
    (CallState.SENT, "ringing", False, "unknown"),  # stopped refreshing without a final status
    (CallState.QUEUED, "", False, "pending"),
    (CallState.SENDING, "", False, "pending"),
    (CallState.FINISHED, "something-new", False, "unknown"),
]


@pytest.fixture
def english(settings):
    """Pages in English whatever LANGUAGE_CODE is (the portal defaults to Russian)."""
    settings.LANGUAGE_CODE = "en"
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


@pytest.fixture
def operator_user(db, english):
    return make_staff("operator-role", OPERATORS)


@pytest.fixture
def manager_user(db, english):
    return make_staff("manager-role", MANAGERS)


@pytest.fixture
def operator_page_client(client, operator_user):
    client.force_login(operator_user)
    return client


@pytest.fixture
def nobody_client(client, db, english):
    """A logged-in staff member with no permission at all."""
    client.force_login(make_staff("nobody"))
    return client


def make_broadcast(voice_message=None, *, name="Greeting", user=None) -> Broadcast:
    return Broadcast.objects.create(
        voice_message=voice_message,
        voice_message_name=name,
        service_id=getattr(voice_message, "exolve_id", "") or "svc-1",
        source=SOURCE,
        created_by=user,
        token=new_token(),
    )


def bulk_calls(
    count, *, voice_message=None, broadcast=None, user=None, when=None, spread_days=0, first_number=0, **fields
):
    """`count` calls in one INSERT, cycling through every outcome case, spread over days if asked."""
    when = when or timezone.now()
    calls = []
    for index in range(count):
        state, status, refreshing, _outcome = OUTCOME_CASES[index % len(OUTCOME_CASES)]
        values = {
            "broadcast": broadcast,
            "voice_message": voice_message,
            "service_id": getattr(voice_message, "exolve_id", "") or "svc-1",
            "source": SOURCE,
            "destination": f"7999{first_number + index:07d}",
            "state": state,
            "status": status,
            "next_refresh_at": when + timedelta(minutes=5) if refreshing else None,
            "requested_by": user,
            "duration": 30 if status == "completed" else None,
            "call_id": uuid.uuid4().hex if state != CallState.QUEUED else None,
        }
        values.update(fields)
        calls.append(Call(**values))
    created = Call.objects.bulk_create(calls, batch_size=500)
    # queued_at is auto_now_add: set the wanted times afterwards.
    if spread_days:
        for offset in range(spread_days):
            pks = [call.pk for index, call in enumerate(created) if index % spread_days == offset]
            Call.objects.filter(pk__in=pks).update(queued_at=when - timedelta(days=offset))
    else:
        Call.objects.filter(pk__in=[c.pk for c in created]).update(queued_at=when)
    return created


def send_preview(client, voice_message, numbers="", token="page-token-1", **extra):
    """Post the send page's form for a preview (as "Preview" does); ``extra`` adds or overrides fields."""
    data = {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "numbers": numbers,
        "token": token,
        "basis": "contract",
        "_preview": "1",
        **extra,
    }
    return client.post(reverse("portal:send"), data)


def confirmation(response) -> dict:
    """What the browser posts when the person clicks "Send now" (the confirm form's hidden fields)."""
    form = response.context["confirm"]
    data = {field.html_name: field.value() for field in form}
    data["_confirm"] = "1"
    return data


def count_queries(client, url, data=None, method="get"):
    """(response, number of SQL queries) for one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        response = getattr(client, method)(url, data or {})
    return response, len(context.captured_queries)
