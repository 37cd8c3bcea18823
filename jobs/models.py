"""Job: one piece of staff-started work that runs in the background (a sync, a bulk delete, ...).

A job is recorded waiting, claimed once by the task that runs it (``jobs.tasks.run_job``),
moves to running, and ends done or failed. While it runs it keeps ``done``/``total``
and ``updated_at`` (its heartbeat) current; a running job whose heartbeat is older than
``JOBS_STALE_AFTER`` seconds belongs to a worker that stopped and is marked failed.
Its ``result`` is data, not text: the job's kind turns it into words when the page is
shown, in the viewer's language.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exolve_portal.fields import staff_member
from exolve_portal.role_names import MANAGERS

from .registry import get_kind


class JobState(models.TextChoices):
    WAITING = "waiting", _("waiting to start")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


ACTIVE_STATES = [JobState.WAITING, JobState.RUNNING]


class JobFailure(models.TextChoices):
    """Why a job failed when its own result does not say (empty: the result says)."""

    NONE = "", _("see the result")
    STOPPED = "stopped", _("the background worker stopped while doing it")
    CRASHED = "crashed", _("an unexpected error stopped it")


class JobQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state__in=ACTIVE_STATES)

    def fail_stale(self, now=None) -> int:
        """Mark failed the running jobs whose worker stopped (no heartbeat for JOBS_STALE_AFTER)."""
        now = now or timezone.now()
        cutoff = now - timedelta(seconds=settings.JOBS_STALE_AFTER)
        return self.filter(state=JobState.RUNNING, updated_at__lt=cutoff).update(
            state=JobState.FAILED, failure=JobFailure.STOPPED, finished_at=now, updated_at=now
        )


class Job(models.Model):
    kind = models.CharField(_("kind"), max_length=64)
    started_by = staff_member(_("started by"))
    state = models.CharField(_("state"), max_length=16, choices=JobState.choices, default=JobState.WAITING)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    params = models.JSONField(_("what to do"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    failure = models.CharField(_("failure"), max_length=16, choices=JobFailure.choices, default="", blank=True)
    error = models.TextField(_("technical detail"), blank=True)
    # Kinds that must not run twice at once (a sync) share this key while active.
    exclusive_key = models.CharField(max_length=64, blank=True, default="")
    return_url = models.CharField(_("back to"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    started_at = models.DateTimeField(_("began running"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(_("last progress"), default=timezone.now)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One active job per exclusive key: a second click finds the running one.
            models.UniqueConstraint(
                fields=["exclusive_key"],
                condition=Q(state__in=ACTIVE_STATES) & ~Q(exclusive_key=""),
                name="job_one_active_per_exclusive_key",
            ),
        ]
        indexes = [models.Index(fields=["state", "updated_at"], name="job_state_updated_idx")]

    def __str__(self):
        return f"{self.title} #{self.pk}"

    @property
    def title(self):
        kind = get_kind(self.kind)
        return kind.title if kind else self.kind

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def percent(self) -> int:
        if self.state == JobState.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))

    def may_be_seen_by(self, user) -> bool:
        """The one who started it, superusers, Managers, and whoever may view background jobs."""
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser or (self.started_by_id and self.started_by_id == user.pk):
            return True
        return user.has_perm("jobs.view_job") or user.groups.filter(name=MANAGERS).exists()

    def describe(self) -> list[tuple[str, str]]:
        """The outcome in plain words, in the active language: [(level, text), ...]."""
        kind = get_kind(self.kind)
        if kind is None or not self.result:
            return []
        return kind.describe(self.result)
