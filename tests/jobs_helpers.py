"""Running background jobs in tests: the real `db_worker` loop, in this process.

``worker()`` runs `manage.py db_worker --batch` (claim, run, record each waiting task,
then exit) inside the test's database transaction. Only its ``close_old_connections``
is switched off: in a request-less test on PostgreSQL it would close the connection
that holds the test's transaction.
"""

import pytest
from django.core.management import call_command


@pytest.fixture
def worker(monkeypatch):
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)

    def run():
        call_command("db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)

    return run
