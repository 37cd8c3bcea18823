"""The worker outlives the database's bad moments (issue 19, item 4).

- A real `db_worker` on a SQLite file database, with export jobs waiting, while another
  connection holds the write lock for longer than SQLite's timeout: the worker says so,
  stays alive, and does every job once the lock is let go.
- In this process: a task that meets a locked database fails with the error recorded on
  it, and the worker goes on with the next task; a job whose outcome cannot be written at
  first is recorded once the database answers again.
"""

import json
import os
import signal
import sqlite3
import time

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.tasks import task

from jobs.models import Job, JobState
from tests.calls.test_calls_worker import manage
from tests.factories_calls import worker_env

SQLITE_TIMEOUT = 1  # seconds a connection waits for a lock before "database is locked"


def read_so_far(process, seen: list) -> str:
    """What the worker printed so far (never waits for more)."""
    descriptor = process.stdout.fileno()
    os.set_blocking(descriptor, False)
    try:
        while chunk := os.read(descriptor, 65536):
            seen.append(chunk.decode(errors="replace"))
    except BlockingIOError:
        pass
    return "".join(seen)


HOLD = 3 * SQLITE_TIMEOUT  # the writer holds the lock this long


@pytest.mark.slow
def test_the_worker_outlives_a_database_locked_longer_than_its_timeout(tmp_path, workers):
    db_path = tmp_path / "portal.sqlite3"
    env = worker_env(
        tmp_path / "sandbox.sqlite3",
        db_url=f"sqlite:///{db_path}?timeout={SQLITE_TIMEOUT}",
        EXOLVE_EXPORT_DIR=tmp_path / "exports",
        LOG_LEVEL="INFO",
    )
    manage(env, "migrate", "--no-input", "-v", "0")
    worker = workers.start(env)
    printed: list = []
    deadline = time.monotonic() + 30
    while "Starting worker" not in read_so_far(worker, printed):  # its checks passed, it looks for work
        assert worker.poll() is None and time.monotonic() < deadline, read_so_far(worker, printed)
        time.sleep(0.1)

    # A writer queues three exports (as three clicks do) and holds the write lock, with
    # them uncommitted, for longer than the worker waits for a lock.
    out = manage(env, "shell", "-c", f"""
import json, time
from django.db import transaction
from pages.jobs import EXPORT
from jobs.tasks import start_job
params = {{"filters": {{}}, "format": "csv", "filename": "calls.csv", "language": "en"}}
with transaction.atomic():
    jobs = [start_job(EXPORT, params=params)[0].pk for _ in range(3)]
    time.sleep({HOLD})
print(json.dumps(jobs))
""").stdout  # fmt: skip
    jobs = json.loads(out.strip().splitlines()[-1])
    assert worker.poll() is None, f"the worker exited:\n{read_so_far(worker, printed)}"

    def states():
        with sqlite3.connect(db_path) as db:
            marks = ",".join("?" * len(jobs))
            return [state for (state,) in db.execute(f"SELECT state FROM jobs_job WHERE id IN ({marks})", jobs)]

    deadline = time.monotonic() + 20
    while states() != ["done"] * 3:
        assert worker.poll() is None, f"the worker exited:\n{read_so_far(worker, printed)}"
        assert time.monotonic() < deadline, f"jobs {states()}:\n{read_so_far(worker, printed)}"
        time.sleep(0.1)
    assert "The database could not be used" in read_so_far(worker, printed)  # it did meet the lock
    assert worker.poll() is None
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0


# --- in this process --------------------------------------------------------------------


@task()
def meets_a_locked_database() -> None:
    """As the statistics refresh would, if the database failed it before it scheduled its next run."""
    from django_tasks_db.models import DBTaskResult

    from calls.tasks import refresh_due_calls

    DBTaskResult.objects.filter(task_path=refresh_due_calls.module_path).delete()
    raise OperationalError("database is locked")


@task()
def says_hello() -> str:
    return "hello"


@pytest.fixture
def db_tasks(settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # In a test transaction the worker must not close the connection that holds it.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)


def run_worker():
    call_command("db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)


@pytest.mark.django_db
def test_a_task_that_meets_a_locked_database_fails_with_the_error_and_the_next_one_runs(db_tasks, voice_message):
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from calls.tasks import refresh_due_calls
    from tests.factories_calls import make_call

    make_call(voice_message)  # a call waits to be sent: the safety net must stay scheduled
    failing, fine = meets_a_locked_database.enqueue(), says_hello.enqueue()
    run_worker()
    # The worker scheduled again what the failed task would have.
    assert DBTaskResult.objects.filter(task_path=refresh_due_calls.module_path, status="READY").exists()
    failing = meets_a_locked_database.get_result(failing.id)  # as stored
    fine = says_hello.get_result(fine.id)
    assert failing.status == TaskResultStatus.FAILED
    assert "database is locked" in failing.errors[0].traceback
    assert fine.status == TaskResultStatus.SUCCESSFUL and fine.return_value == "hello"


@pytest.mark.django_db
def test_a_job_whose_outcome_cannot_be_written_at_first_is_recorded_when_the_database_answers(db_tasks, monkeypatch):
    from django.db.models import QuerySet

    from jobs import registry
    from jobs import tasks as job_tasks
    from jobs.models import JobQuerySet

    kind = registry.JobKind(name="tests.nothing", title="Nothing", run=lambda job, progress: {"did": "nothing"},
                            describe=lambda result: [])  # fmt: skip
    monkeypatch.setitem(registry._KINDS, kind.name, kind)
    job, _started = job_tasks.start_job(kind.name)
    refused = []

    def locked_twice(queryset, **changes):  # the database refuses the outcome twice, then takes it
        if changes.get("state") == JobState.DONE and len(refused) < 2:
            refused.append(changes)
            raise OperationalError("database is locked")
        return QuerySet.update(queryset, **changes)

    monkeypatch.setattr(JobQuerySet, "update", locked_twice, raising=False)
    monkeypatch.setattr(job_tasks, "OUTCOME_RETRIES", (0, 0, 0))
    run_worker()
    job = Job.objects.get(pk=job.pk)
    assert len(refused) == 2 and job.state == JobState.DONE and job.result == {"did": "nothing"}
