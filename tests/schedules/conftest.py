"""Fixtures of the tests of repeating broadcasts: a list of contacts with consent, and a schedule to it."""

from datetime import UTC, date, time, timedelta

import pytest
from django.utils import timezone

from audiences.consent import record_consent
from audiences.contact_models import Contact, ContactList, Membership
from exolve_portal.exolve.sandbox import SANDBOX_SOURCE_NUMBERS
from schedules.models import Schedule
from schedules.runs import refresh_next_run

NUMBERS = ["79991234501", "79991234502", "79991234503"]


def make_list(name="Club", numbers=NUMBERS, purpose="reminder") -> ContactList:
    """A list whose contacts all consented to `purpose` (given today)."""
    contact_list = ContactList.objects.create(name=name)
    for number in numbers:
        contact, _new = Contact.objects.get_or_create(number=number)
        Membership.objects.create(contact_list=contact_list, contact=contact)
        if not contact.consents.filter(purpose=purpose, withdrawn_at__isnull=True).exists():
            record_consent(contact, purpose=purpose, kind="written", given_at=date(2026, 11, 1))
    return contact_list


def make_schedule(voice_message, lists, *, since=None, **fields) -> Schedule:
    """A schedule (daily at the given time, UTC, by default) counting runs from `since` (default: now)."""
    values = {
        "name": "Weekly reminder",
        "voice_message": voice_message,
        "source": SANDBOX_SOURCE_NUMBERS[0],
        "purpose": "reminder",
        "basis": "consent",
        "plan": {"calling_hours": "any", "calling_hours_rest": "any", "time_zone": "UTC"},
        "recurrence": "daily",
        "time": time(9, 0),
        "time_zone": "UTC",
        "starts_on": date(2020, 1, 1),
        "active_since": since or timezone.now(),
    }
    values.update(fields)
    schedule = Schedule.objects.create(**values)
    schedule.contact_lists.set(lists)
    refresh_next_run(schedule)
    schedule.refresh_from_db()
    return schedule


def hours_ago(hours: float):
    """(a moment `hours` ago, its UTC time of day): a daily run whose moment that was."""
    moment = timezone.now() - timedelta(hours=hours)
    return moment, moment.astimezone(UTC).time().replace(second=0, microsecond=0)


@pytest.fixture
def club(db):
    return make_list()


# Worker processes (tests/calls/conftest.py), for the tests with real `db_worker`s.
from tests.calls.conftest import workers  # noqa: E402, F401
