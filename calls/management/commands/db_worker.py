"""`manage.py db_worker`: django-tasks-db's worker, which first looks for work left behind.

A worker that was killed (kill -9, a reboot) leaves its send task "running" for good.
Before taking tasks, this one sweeps calls left "sending", resumes broadcasts nobody is
sending any more, and makes sure the safety net stays scheduled while calls wait.
"""

import gc
import logging

from django.db import DatabaseError
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

logger = logging.getLogger(__name__)


class Command(DatabaseWorkerCommand):
    def handle(self, *args, **options):
        from calls import sending, tasks

        try:
            sending.sweep_stale_sending()
            tasks.resume_stalled_sending()
            tasks.schedule_refresh()
        except DatabaseError:  # not migrated yet, or the database is down: the tasks will say
            logger.exception("Could not look for sending left behind before starting the worker")
        # Django, the apps and their imports live as long as the worker: keep them out of
        # the garbage collector's passes, which would otherwise walk them again and again
        # while the sender allocates (bench/README.md, worker CPU per call).
        gc.freeze()
        return super().handle(*args, **options)
