"""Starting a background job and the task that runs it (``manage.py db_worker``).

``start_job(kind, ...)`` records a waiting Job and enqueues ``run_job`` for it; the
request that called it returns at once. ``run_job`` claims the job with a conditional
UPDATE (a task that runs twice does the work once), calls the kind's ``run``, keeps
progress and the heartbeat current, and records the result, or the failure.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from .models import Job, JobFailure, JobState
from .registry import JobFailed, get_kind

logger = logging.getLogger(__name__)

# Progress is written at most this often (seconds), so a fast job is not a stream of writes.
PROGRESS_EVERY = 0.5
# The outcome of a job that ran is written again after these waits (seconds) while the
# database is locked or unreachable, rather than leaving the job "running" until it is
# taken for stopped.
OUTCOME_RETRIES = (1, 2, 4, 8)
DATABASE_TROUBLE = (OperationalError, InterfaceError)


def start_job(
    kind: str, *, user=None, params: dict | None = None, total: int = 0, return_url: str = "", exclusive=False
) -> tuple[Job, bool]:
    """Record a job and enqueue its task. Returns (job, True), or (the active one, False).

    With ``exclusive``, a job of this kind that is still waiting or running is returned
    instead of starting another (one sync at a time, whoever clicked). ``exclusive`` may
    be a key of its own (at most 64 characters) instead: one active job per key (the
    same person's same export).
    """
    if get_kind(kind) is None:
        raise LookupError(f"unknown job kind {kind!r}")
    key = (exclusive if isinstance(exclusive, str) else kind) if exclusive else ""
    if exclusive:
        Job.objects.fail_stale()
        if active := Job.objects.active().filter(exclusive_key=key).first():
            return active, False
    backend = run_job.get_backend()
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                started_by=user if user is not None and user.is_authenticated else None,
                params=params or {},
                total=total,
                return_url=return_url,
                exclusive_key=key,
            )
            if backend.supports_get_result:
                # A queue in the database: the task row commits with the job, or neither does.
                _enqueue(job)
    except IntegrityError:
        if exclusive and (active := Job.objects.active().filter(exclusive_key=key).first()):
            return active, False  # someone started one at the same moment
        raise
    if not backend.supports_get_result:
        _enqueue(job)  # a backend that runs at once (tests) or only records
    job.refresh_from_db()
    return job, True


def _enqueue(job: Job) -> None:
    run_job.enqueue(job.pk)


class _Progress:
    """progress(done, total): written to the job at most every PROGRESS_EVERY seconds, and at the end."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.written_at = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.written_at < PROGRESS_EVERY:
            return
        self.written_at = now
        Job.objects.filter(pk=self.job_id, state=JobState.RUNNING).update(
            done=done, total=total, updated_at=timezone.now()
        )


@task()
def run_job(job_id: int) -> dict:
    """Run one job; never raises for the job's own failures (they are recorded on it)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=JobState.WAITING).update(
        state=JobState.RUNNING, started_at=now, updated_at=now
    )
    if not claimed:
        return {"job": job_id, "ran": False}  # already run, or given up on
    job = Job.objects.get(pk=job_id)
    kind = get_kind(job.kind)
    state, failure, error, result = JobState.DONE, JobFailure.NONE, "", {}
    try:
        if kind is None:
            raise LookupError(f"unknown job kind {job.kind!r}")
        result = kind.run(job, _Progress(job_id)) or {}
    except JobFailed as failed:
        state, result = JobState.FAILED, failed.result
    except DATABASE_TROUBLE as exc:  # locked or unreachable: say which, it is not a bug
        logger.exception("Background job %s (%s) failed: the database could not be used", job_id, job.kind)
        state, failure, error = JobState.FAILED, JobFailure.CRASHED, f"{type(exc).__name__}: {exc}"[:500]
    except Exception as exc:
        logger.exception("Background job %s (%s) failed", job_id, job.kind)
        state, failure, error = JobState.FAILED, JobFailure.CRASHED, type(exc).__name__
    finished = timezone.now()
    changes = {"state": state, "failure": failure, "error": error, "result": result, "finished_at": finished}
    changes["updated_at"] = finished
    if state == JobState.DONE:
        changes["done"] = F("total")
    # Unconditional: even a job given up on as stopped records what it really did.
    _write_outcome(job_id, changes)
    return {"job": job_id, "ran": True, "state": state}


def _write_outcome(job_id: int, changes: dict) -> None:
    for wait in (*OUTCOME_RETRIES, None):
        try:
            Job.objects.filter(pk=job_id).update(**changes)
            return
        except DATABASE_TROUBLE:
            if wait is None:
                raise  # the task fails; the job is marked stopped once its heartbeat is old
            logger.warning("Could not record the outcome of background job %s; trying again in %d s", job_id, wait)
            _forget_connection()
            time.sleep(wait)


def _forget_connection() -> None:
    """A connection lost stays broken: close it, the next query opens a new one."""
    if connection.in_atomic_block:
        return  # an enclosing transaction (tests) owns it
    try:
        connection.close()
    except DatabaseError:
        pass
