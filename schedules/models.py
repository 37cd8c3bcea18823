"""A schedule (a broadcast that repeats) and its runs, each run an ordinary broadcast.

A run exists at most once per schedule and date (`run_once_per_date`): the worker that
creates a run's broadcast inserts the run row in the same transaction (schedules/runs.py),
so a second worker, or a worker killed at that moment, leaves one broadcast or none.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audiences.contact_models import ContactList
from audiences.purposes import SENDABLE_PURPOSES, Basis, Purpose
from exolve_portal.fields import staff_member


class Recurrence(models.TextChoices):
    DAILY = "daily", _("every day")
    WORKDAYS = "workdays", _("on working days (Russian production calendar)")
    WEEKLY = "weekly", _("weekly, on chosen days")
    MONTHLY = "monthly", _("monthly, on a day of the month")


class ScheduleState(models.TextChoices):
    ACTIVE = "active", _("active")
    PAUSED = "paused", _("paused")
    ENDED = "ended", _("ended")


class MissedRuns(models.TextChoices):
    LATE = "late", _("create the latest missed run late")
    SKIP = "skip", _("skip missed runs")


class Schedule(models.Model):
    """A voice message sent to contact lists again and again, with the plan of a broadcast."""

    name = models.CharField(_("name"), max_length=200)
    voice_message = models.ForeignKey(
        "voicemessages.VoiceMessage",
        verbose_name=_("voice message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="schedules",
    )
    source = models.CharField(_("source number"), max_length=15)
    contact_lists = models.ManyToManyField(ContactList, verbose_name=_("contact lists"), related_name="schedules")
    purpose = models.CharField(
        _("purpose"),
        max_length=16,
        choices=[(purpose.value, purpose.label) for purpose in SENDABLE_PURPOSES],
        default=Purpose.INFORMATION,
    )
    basis = models.CharField(_("basis"), max_length=16, choices=Basis.choices)
    # The rest of the send plan (calls/plan_form.py SendPlan.to_json, without a start), filled.
    plan = models.JSONField(_("plan"), default=dict, blank=True)

    recurrence = models.CharField(_("repeats"), max_length=16, choices=Recurrence.choices, default=Recurrence.DAILY)
    weekdays = models.JSONField(_("days of the week"), default=list, blank=True)  # 0 = Monday
    month_day = models.PositiveSmallIntegerField(_("day of the month"), null=True, blank=True)
    time = models.TimeField(_("time"))
    time_zone = models.CharField(_("time zone"), max_length=64, default=settings.TIME_ZONE)
    starts_on = models.DateField(_("first day"))
    until = models.DateField(_("last day"), null=True, blank=True)
    run_limit = models.PositiveIntegerField(_("number of runs"), null=True, blank=True)
    missed = models.CharField(
        _("runs missed while the portal was down"), max_length=8, choices=MissedRuns.choices, default=MissedRuns.LATE
    )

    state = models.CharField(_("state"), max_length=8, choices=ScheduleState.choices, default=ScheduleState.ACTIVE)
    # Runs due before this moment do not exist (the schedule was made, resumed or changed after them).
    active_since = models.DateTimeField(_("runs counted from"))
    # The next run's moment while active (None otherwise): what the tick looks for.
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True, db_index=True)
    created_by = staff_member(_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_by = staff_member(_("changed by"))
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("repeating broadcast")
        verbose_name_plural = _("repeating broadcasts")
        ordering = ["name", "pk"]
        permissions = [
            ("pause_schedule", _("Can pause and resume repeating broadcasts")),
            ("end_schedule", _("Can end repeating broadcasts")),
        ]

    def __str__(self):
        return self.name


class RunState(models.TextChoices):
    CREATED = "created", _("broadcast created")
    SKIPPED = "skipped", _("skipped")
    REFUSED = "refused", _("not sent")


class ScheduleRun(models.Model):
    """One date of a schedule: its broadcast, or why there is none (skipped while down, refused)."""

    schedule = models.ForeignKey(Schedule, verbose_name=_("repeating broadcast"), on_delete=models.CASCADE,
                                 related_name="runs")  # fmt: skip
    run_date = models.DateField(_("date"))
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(_("state"), max_length=8, choices=RunState.choices)
    broadcast = models.OneToOneField(
        "calls.Broadcast",
        verbose_name=_("broadcast"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="schedule_run",
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        ordering = ["-run_date"]
        constraints = [models.UniqueConstraint(fields=["schedule", "run_date"], name="run_once_per_date")]

    def __str__(self):
        return f"{self.schedule} {self.run_date}"
