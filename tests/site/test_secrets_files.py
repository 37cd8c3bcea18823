"""Nothing secret on an error page; files with phone numbers readable by their owner only; one export at a time.

- With DEBUG on, Django's technical 500 page lists the settings, the request's META
  (the whole environment under the development server) and each frame's variables:
  a password inside a URL (DATABASE_URL) is hidden there like any key.
- The SQLite database, the sandbox's state and background exports are created 0600 in
  folders created 0700, whatever the umask.
- Reloading a large export's page finds the export already being made.
"""

import os
import secrets
import stat
import subprocess
import sys
import textwrap

import pytest
from django.contrib.auth.decorators import login_not_required
from django.test import Client
from django.urls import path, reverse

from calls.models import Call
from exolve_portal.exolve.sandbox import SANDBOX_API_KEY
from exolve_portal.exolve.sandbox.state import SandboxState
from exolve_portal.roles import OPERATORS
from jobs.models import Job, JobState
from jobs.tasks import run_job
from pages import exports
from tests.factories import make_staff
from tests.factories_calls import REPO
from tests.pages_helpers import bulk_calls, make_broadcast

# Made up at run time: the error page also quotes the source lines around each frame.
DATABASE_PASSWORD = secrets.token_hex(8)
DATABASE_URL = f"postgres://portal:{DATABASE_PASSWORD}@db.internal:5432/portal"
API_KEY = secrets.token_hex(12)
CACHE_PASSWORD = secrets.token_hex(8)


@login_not_required
def failing_view(request):
    connection_url = DATABASE_URL  # a frame variable the page lists  # noqa: F841
    raise RuntimeError("something broke")


urlpatterns = [path("fails/", failing_view)]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def usual_umask():
    """The umask most systems run with (files 0644, folders 0755 unless asked otherwise)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


# --- The technical 500 page -----------------------------------------------------------


@pytest.mark.urls(__name__)
def test_the_debug_error_page_hides_passwords_in_urls_and_keys(settings, monkeypatch, db):
    settings.DEBUG = True
    settings.EXOLVE_API_KEY = API_KEY
    settings.REPORTS_URL = f"redis://:{CACHE_PASSWORD}@cache:6379/0"  # any setting, whatever its name
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    client = Client(raise_request_exception=False)
    # The development server passes the environment in META; so does this request.
    response = client.get("/fails/", DATABASE_URL=DATABASE_URL, BACKUP_TARGET=DATABASE_URL)

    page = response.content.decode()
    assert response.status_code == 500
    assert "something broke" in page and "connection_url" in page  # the technical page, frames included
    assert "DATABASE_URL" in page and "postgres://portal:" in page  # shown, the password hidden
    for secret in (DATABASE_PASSWORD, API_KEY, CACHE_PASSWORD):
        assert secret not in page


def test_a_password_in_any_settings_url_is_hidden(settings):
    from django.views.debug import get_default_exception_reporter_filter

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://portal:{CACHE_PASSWORD}@cache:6379/0",
        }
    }
    safe = repr(get_default_exception_reporter_filter().get_safe_settings()["CACHES"])
    assert CACHE_PASSWORD not in safe and "redis://portal:" in safe


# --- Files created 0600 in folders 0700 ------------------------------------------------


@pytest.mark.django_db
def test_a_background_export_is_private(settings, tmp_path, usual_umask):
    settings.EXOLVE_EXPORT_DIR = tmp_path / "new" / "exports"
    bulk_calls(3)
    name, rows = exports.save_export(Call.objects.all(), "csv", stem="calls")
    assert rows == 3
    assert mode(tmp_path / "new" / "exports") == 0o700
    assert mode(tmp_path / "new") == 0o700
    assert mode(tmp_path / "new" / "exports" / name) == 0o600


def test_the_sandbox_state_is_private(tmp_path, usual_umask):
    state_file = tmp_path / "var" / "sandbox.sqlite3"
    state = SandboxState(state_file, api_keys=[SANDBOX_API_KEY])
    try:
        assert mode(tmp_path / "var") == 0o700
        assert mode(state_file) == 0o600
        assert mode(f"{state_file}-wal") == 0o600  # SQLite gives its WAL the database's mode
    finally:
        state.close()


@pytest.mark.slow
def test_the_sqlite_database_is_created_private(tmp_path):
    """A fresh install: the folder and the database Django opens, made under the usual umask."""
    database = tmp_path / "var" / "portal.sqlite3"
    script = textwrap.dedent(
        """
        import os, stat, sys
        os.umask(0o022)
        import django
        django.setup()
        from django.db import connection
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE t (x integer)")
            cursor.execute("INSERT INTO t VALUES (1)")
            for name in (sys.argv[1], sys.argv[1] + "-wal", os.path.dirname(sys.argv[1])):
                print(oct(stat.S_IMODE(os.stat(name).st_mode)))
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exolve_portal.settings",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(database)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["0o600", "0o600", "0o700"]


# --- One export at a time ---------------------------------------------------------------


@pytest.fixture
def background_exports(settings):
    settings.EXOLVE_EXPORT_IN_REQUEST = 2
    return settings


@pytest.mark.django_db
def test_reloading_a_large_export_finds_the_one_being_made(client, background_exports):
    broadcast = make_broadcast()
    bulk_calls(5, broadcast=broadcast)
    asker, other = make_staff("asker", OPERATORS), make_staff("other", OPERATORS)
    client.force_login(asker)
    url = reverse("portal:calls_export_csv")

    first = client.get(url, {"broadcast": broadcast.pk})
    again = client.get(url, {"broadcast": f"0{broadcast.pk}"})  # the same calls, written otherwise

    assert Job.objects.count() == 1
    job = Job.objects.get()
    assert first["Location"] == again["Location"] == reverse("jobs:job", args=[job.pk])
    assert "This export is already being prepared" in client.get(again["Location"]).content.decode()

    # Another format, other calls, another person: each one export of its own.
    client.get(reverse("portal:calls_export_xlsx"), {"broadcast": broadcast.pk})
    client.get(url)
    client.force_login(other)
    client.get(url, {"broadcast": broadcast.pk})
    assert Job.objects.count() == 4

    # Once it is done, asking again makes a new file.
    run_job.call(job.pk)
    assert Job.objects.get(pk=job.pk).state == JobState.DONE
    client.force_login(asker)
    client.get(url, {"broadcast": broadcast.pk})
    assert Job.objects.count() == 5


@pytest.mark.django_db
def test_the_database_holds_one_active_export_per_person_and_filters(operator_user):
    from django.db import IntegrityError, transaction

    from pages.jobs import EXPORT, export_key

    key = export_key(operator_user, {"broadcast": 7}, "csv")
    Job.objects.create(kind=EXPORT, started_by=operator_user, exclusive_key=key)
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(kind=EXPORT, started_by=operator_user, exclusive_key=key)
