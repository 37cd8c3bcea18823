"""`manage.py db_worker`: django-tasks-db's worker, which first looks for work left behind
and outlives the database's bad moments.

A worker that was killed (kill -9, a reboot) leaves its send task "running" for good.
Before taking tasks, this one sweeps calls left "sending", resumes broadcasts nobody is
sending any more, and makes sure the safety net stays scheduled while calls wait.

The database may be locked for longer than SQLite's timeout (a long export, another
writer) or unreachable for a while (PostgreSQL restarting). django-tasks-db's loop then
raised and the process exited, and all sending stopped until someone restarted it. Here
a database error in the worker's own bookkeeping (taking a task, recording its result)
closes the connection, waits (1 s, doubling up to a minute) and goes on; a task that
meets one fails with the error recorded on it (and the job, for jobs), like any failure.
"""

import gc
import logging
import time

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker as base

logger = logging.getLogger(__name__)

# The database's bad moments: locked, unreachable, the connection lost.
DATABASE_TROUBLE = (OperationalError, InterfaceError)
FIRST_WAIT = 1.0  # seconds before trying again; doubles each time the trouble repeats
LONGEST_WAIT = 60.0
CALM_AFTER = 300.0  # this long without trouble, and the next wait starts short again


def close_connections() -> None:
    """Drop every connection: a broken one would fail the next query too (Django reconnects)."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:
            pass  # already gone


TROUBLE_PATHS = {f"{cls.__module__}.{cls.__qualname__}" for cls in DATABASE_TROUBLE}


def look_for_work_left_behind() -> None:
    """Sweep calls left "sending", resume broadcasts nobody sends, keep the safety net scheduled.

    At start, and again after database trouble: a task that failed on it (the statistics
    refresh, which also keeps the safety net going) may not have scheduled its next run.
    """
    from calls import sending, tasks
    from calls.signals import worker_looking_for_work

    sending.sweep_stale_sending()
    tasks.resume_stalled_sending()
    tasks.schedule_refresh()
    # Apps above the calls keep their own periodic work scheduled (schedules: the tick).
    worker_looking_for_work.send(sender=None)


class Worker(base.Worker):
    """django-tasks-db's worker, which waits out database trouble instead of exiting."""

    def run(self) -> None:
        wait, trouble_at = FIRST_WAIT, 0.0
        after_trouble = False
        while self.running:
            try:
                if after_trouble:
                    look_for_work_left_behind()
                    after_trouble = False
                return super().run()
            except DATABASE_TROUBLE as exc:
                after_trouble = True
                if time.monotonic() - trouble_at > CALM_AFTER:
                    wait = FIRST_WAIT
                trouble_at = time.monotonic()
                logger.warning(
                    "The database could not be used (%s: %s). The worker goes on and tries again in %.0f s.",
                    type(exc).__name__,
                    exc,
                    wait,
                )
                close_connections()
                self.startup_delay = False
                time.sleep(wait)  # a stop signal during the wait ends the worker at once
                wait = min(wait * 2, LONGEST_WAIT)

    def run_task(self, db_task_result) -> None:
        """Run the task; write what became of it even if the database is in trouble meanwhile.

        django-tasks-db records a result with three quick tries: a longer lock raised out
        of the loop (the worker exited), and a success it could not write was recorded as
        a failure. Here both are written as they are, tried until they are (or a stop).
        """
        recorders = ("set_successful", "set_failed")
        for name in recorders:
            setattr(db_task_result, name, self._patiently(getattr(db_task_result, name), db_task_result))
        try:
            super().run_task(db_task_result)
        finally:
            for name in recorders:
                db_task_result.__dict__.pop(name, None)
        if db_task_result.exception_class_path in TROUBLE_PATHS and self.running:
            # The task met the database: what it would have scheduled next is scheduled here.
            self._patiently(look_for_work_left_behind, db_task_result)()

    def _patiently(self, record, db_task_result):
        def write(*args, **kwargs):
            wait = FIRST_WAIT
            while True:
                try:
                    return record(*args, **kwargs)
                except DATABASE_TROUBLE as exc:
                    if not self.running:  # stopping: the task stays "running"; the safety nets see to it
                        raise
                    logger.warning(
                        "Could not write to the database after task %s (%s: %s); trying again in %.0f s.",
                        db_task_result.id,
                        type(exc).__name__,
                        exc,
                        wait,
                    )
                    close_connections()
                    time.sleep(wait)
                    wait = min(wait * 2, LONGEST_WAIT)

        return write


class Command(base.Command):
    def handle(self, *args, **options):
        try:
            look_for_work_left_behind()
        except DatabaseError:  # not migrated yet, or the database is down: the tasks will say
            logger.exception("Could not look for sending left behind before starting the worker")
            close_connections()
        # Django, the apps and their imports live as long as the worker: keep them out of
        # the garbage collector's passes, which would otherwise walk them again and again
        # while the sender allocates (bench/README.md, worker CPU per call).
        gc.freeze()
        # The base command builds its worker from the module's name `Worker`: this one.
        base.Worker = Worker
        return super().handle(*args, **options)
