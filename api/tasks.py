"""The API's background work: recording accepted sends (api/recording.py) in a worker.

An accepted send asks for a recording task with `record_soon()`, at most once a second per
process: the task is deferred to the end of the current second (plus a margin for the
workers' clocks), so every send this process accepts in that second is committed before it
runs, and one task records them all. A task already waiting to run after this second (and by
that time) is enough; one due earlier might run before this second's last send. A worker
starting (or back from database trouble) records what was left accepted.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from django.db import DatabaseError, transaction
from django.tasks import task

from jobs import task_queue

from . import recording

logger = logging.getLogger(__name__)

RECORD_PRIORITY = 10  # as sending (calls.tasks.SEND_PRIORITY): a send waits for nothing else
CLOCK_MARGIN = 0.5  # seconds: workers on other hosts whose clocks run a little ahead


@task(priority=RECORD_PRIORITY)
def record_sends() -> dict:
    recorded = recording.record_waiting()
    return {"recorded": recorded, "forgotten": recording.forget_old_sends()}


class _Asked:
    lock = threading.Lock()
    second: int | None = None


def record_soon() -> None:
    """Make sure a recording task runs after this second ends (one enqueue per second and process)."""
    second = int(time.time())
    with _Asked.lock:
        if _Asked.second == second:
            return
        _Asked.second = second
    if not record_sends.get_backend().supports_defer:  # a backend that runs tasks at once (tests)
        record_sends.enqueue()
        return
    second_ends = datetime.fromtimestamp(second + 1, tz=UTC)
    due = datetime.fromtimestamp(second + 1 + CLOCK_MARGIN, tz=UTC)
    try:
        with transaction.atomic():
            if not task_queue.is_waiting(record_sends, due_by=due, not_before=second_ends):
                record_sends.using(run_after=due).enqueue()
    except DatabaseError:
        # The send is stored; the next send (or a worker starting) asks again.
        logger.exception("Could not enqueue the recording of API sends")
        with _Asked.lock:
            _Asked.second = None


def record_left_behind(sender=None, **kwargs) -> None:
    if recording.ApiSend.objects.filter(state=recording.SendState.ACCEPTED).exists():
        record_sends.enqueue()
