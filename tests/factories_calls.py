"""Fixtures and helpers for the calls tests (import the fixtures you use into the test module)."""

import datetime
import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from calls.models import Broadcast, Call, CallState
from calls.recording import create_broadcast, new_token
from calls.statistics import refresh_calls
from exolve_portal.exolve.sandbox import SANDBOX_SOURCE_NUMBERS
from tests.factories import SENDER_PERMS, make_staff

REPO = Path(__file__).resolve().parent.parent
SOURCE = SANDBOX_SOURCE_NUMBERS[0]
MAKE = "call/v1/MakeVoiceMessage"
GET_INFO = "call/v1/GetInfo"
IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

postgres_only = pytest.mark.postgres_only


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def skip_unless_postgres():
    if not is_postgres():
        pytest.skip("needs PostgreSQL (row locks, concurrent workers)")


@pytest.fixture
def immediate_tasks(settings):
    """Tasks run as soon as they are enqueued (on commit)."""
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def dummy_tasks(settings):
    """Tasks are recorded, never run: the test runs the work itself."""
    settings.TASKS = DUMMY_TASKS


@pytest.fixture
def instant_retries(monkeypatch):
    """Retries may follow at once (0 minutes apart): for tests of retries, which cannot wait minutes.

    The bound itself (calls/plan_rules.py, at least 5 minutes) is tested in tests/calls/test_plan_rules.py.
    """
    from calls import plan_rules

    monkeypatch.setattr(plan_rules, "MIN_RETRY_AFTER_MINUTES", 0)


@pytest.fixture
def voice_message(sandbox, db):
    """A voice message created at the sandbox (saving a new one calls Create)."""
    from voicemessages.models import VoiceMessage

    return VoiceMessage.objects.create(name="Greeting", media_id=1967)


@pytest.fixture
def operator(db):
    return make_staff(perms=SENDER_PERMS)


def queue(voice_message, numbers, *, user=None, token=None, source=SOURCE) -> Broadcast:
    """Record a broadcast without running its tasks (the on-commit enqueue never fires in a test transaction)."""
    return create_broadcast(voice_message, source, list(numbers), user, token or new_token())


# Destinations by what the sandbox does with them (their last digit).
NO_ANSWER = "79991234566"
BUSY = "79991234567"
ANSWERS = "79991234560"


def rung(sandbox) -> Counter:
    """How many calls the sandbox accepted per destination."""
    return Counter(entry["body"]["destination"] for entry in sandbox.requests_log(MAKE) if entry["status"] == 200)


def finish_calls(sandbox, broadcast):
    """Let every sent call reach its final status at the sandbox and refresh it."""
    sandbox.advance(60)
    return refresh_calls(list(Call.objects.filter(broadcast=broadcast, state=CallState.SENT)))


def states(broadcast) -> dict:
    return {c.destination: c.state for c in Call.objects.filter(broadcast=broadcast)}


def make_call(voice_message, destination="79991234560", **fields) -> Call:
    defaults = {
        "voice_message": voice_message,
        "service_id": voice_message.exolve_id if voice_message else "gone",
        "source": SOURCE,
        "destination": destination,
        "state": CallState.QUEUED,
    }
    defaults.update(fields)
    return Call.objects.create(**defaults)


def csv_upload(text: str, name="numbers.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def xlsx_bytes(rows) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_upload(rows, name="numbers.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, xlsx_bytes(rows))


# --- Worker subprocesses --------------------------------------------------------


def database_url() -> str:
    """A DATABASE_URL that reaches the test database from another process."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        name = settings_dict["NAME"]
        if not name or str(name).startswith("file:memorydb") or name == ":memory:":
            raise RuntimeError("the SQLite test database must be a file to be shared with a worker process")
        return f"sqlite:///{name}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def worker_env(sandbox_path, db_url=None, **extra) -> dict:
    """The environment for a worker process on `db_url` (default: the test database)."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url or database_url(),
            "EXOLVE_SANDBOX": "on",
            "EXOLVE_API_KEY": "",
            "EXOLVE_SANDBOX_STATE": str(sandbox_path),
            "DJANGO_SETTINGS_MODULE": "exolve_portal.settings",
            "LOG_LEVEL": "WARNING",
            "LANGUAGE_CODE": "en",  # tests read the commands' English output
            "EXOLVE_CALLING_HOURS": "any",  # CI runs at any hour
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(env, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# --- Contact lists to send to (tests/calls/test_send_to_lists.py, tests/pages/test_pages_send_to_lists.py) ---

GIVEN = datetime.date(2026, 11, 1)


def contact(number, name="", lists=(), consent=("information",), **extra):
    """A contact with a consent in force for each of `consent`, in `lists`."""
    from audiences.consent import record_consent
    from audiences.contact_models import Contact, Membership

    person = Contact.objects.create(number=number, name=name, extra=extra)
    for purpose in consent:
        record_consent(person, purpose=purpose, kind="written", given_at=GIVEN)
    for item in lists:
        Membership.objects.create(contact_list=item, contact=person)
    return person


@pytest.fixture
def club(db):
    """Two lists whose members are each a case: called, no consent, withdrawn, stop list, another purpose, invalid."""
    from audiences import stop_list
    from audiences.consent import withdraw_consent
    from audiences.contact_models import ContactList

    club, other = ContactList.objects.create(name="Club"), ContactList.objects.create(name="Building")
    contact("79990000001", "Anna", [club, other], flat="12")  # in both lists: once
    contact("79990000002", "Boris", [club], consent=())
    withdraw_consent(contact("79990000003", "Vera", [club]).consents.get(), channel="phone_call")  # and stop-listed
    contact("79990000004", "Gleb", [club], consent=("reminder",))
    contact("79990000005", "Dina", [club])
    stop_list.add(["79990000005"])  # its consent withdrawn by the stop list
    contact("123", "Typo", [other])
    contact("79990000007", "Egor", [other])
    return club, other
