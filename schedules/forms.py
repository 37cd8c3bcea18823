"""The schedule's form: what to send to which lists, when it repeats, and the send plan (calls/plan_form.py).

The plan is read and bounded by the send page's own PlanForm (calling hours, zone, pace,
retries, purpose, basis); there is no start: the schedule's days and time say when.
"""

from __future__ import annotations

from datetime import time

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.contact_models import ContactList
from audiences.sources import SOURCE_NOT_ENABLED, source_choices
from calls.forms import sendable_voice_messages
from calls.plan_form import PlanForm, SendPlan
from voicemessages.models import VoiceMessage

from .models import MissedRuns, Recurrence, Schedule
from .recurrence import Rule

MAX_RUNS = 1000
WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
SCHEDULE_FIELDS = (
    "name", "recurrence", "weekdays", "month_day", "time", "starts_on", "until", "run_limit", "missed",
)  # fmt: skip


class ScheduleForm(PlanForm):
    name = forms.CharField(
        label=_("Name"), max_length=200, help_text=_("How staff will find it, e.g. “Weekly reminder”.")
    )
    voice_message = forms.ModelChoiceField(
        label=_("Voice message"),
        queryset=VoiceMessage.objects.none(),
        error_messages={
            "invalid_choice": _("This voice message cannot be sent: it was deleted, or it no longer exists at Exolve.")
        },
    )
    source = forms.ChoiceField(label=_("Source number"), error_messages={"invalid_choice": SOURCE_NOT_ENABLED})
    contact_lists = forms.ModelMultipleChoiceField(
        label=_("Contact lists"),
        queryset=ContactList.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each run calls their members who have consent for the purpose and are not on the stop list."),
        error_messages={"required": _("Choose at least one contact list."),
                        "invalid_choice": _("A chosen contact list no longer exists; choose again.")},
    )  # fmt: skip
    recurrence = forms.ChoiceField(label=_("Repeats"), choices=Recurrence.choices, widget=forms.RadioSelect)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days of the week"), choices=WEEKDAYS, coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("For a weekly schedule."),
    )  # fmt: skip
    month_day = forms.IntegerField(
        label=_("Day of the month"), required=False, min_value=1, max_value=31,
        help_text=_("For a monthly schedule; in shorter months, their last day (31 runs on 30 April)."),
    )  # fmt: skip
    time = forms.TimeField(
        label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("In the time zone of the broadcast below. Calls still wait for the calling hours."),
    )  # fmt: skip
    starts_on = forms.DateField(label=_("First day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = forms.DateField(
        label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Empty: no last day."),
    )  # fmt: skip
    run_limit = forms.IntegerField(
        label=_("Number of runs"), required=False, min_value=1, max_value=MAX_RUNS,
        help_text=_("Empty: no limit. The schedule ends after this many broadcasts."),
    )  # fmt: skip
    missed = forms.ChoiceField(
        label=_("Runs missed while the portal was down"), choices=MissedRuns.choices, widget=forms.RadioSelect,
        help_text=_("Either way a list is never called twice for one date, nor several times at once."),
    )  # fmt: skip

    field_order = [
        "name", "voice_message", "source", "contact_lists", "purpose", "basis",
        "recurrence", "weekdays", "month_day", "time", "time_zone", "starts_on", "until", "run_limit", "missed",
        "calling_hours", "calling_hours_rest", "pace_per_minute", "retries", "retry_after_minutes", "retry_failed",
    ]  # fmt: skip

    def __init__(self, *args, instance: Schedule | None = None, **kwargs):
        self.instance = instance or Schedule()
        if instance is not None and instance.pk and "initial" not in kwargs:
            kwargs["initial"] = initial_of(instance)
        super().__init__(*args, **kwargs)
        del self.fields["start_at"]  # the days and the time say when
        self.fields["voice_message"].queryset = sendable_voice_messages()
        self.fields["source"].choices = source_choices()
        if not self.is_bound:
            self.initial.setdefault("recurrence", Recurrence.WEEKLY)
            self.initial.setdefault("missed", MissedRuns.LATE)
            self.initial.setdefault("starts_on", timezone.localdate())
            self.initial.setdefault("time", time(10, 0))

    def clean(self):
        cleaned = super().clean()
        recurrence = cleaned.get("recurrence")
        if recurrence == Recurrence.WEEKLY and "weekdays" in cleaned and not cleaned["weekdays"]:
            self.add_error("weekdays", gettext("Choose the days of the week a weekly schedule runs on."))
        if recurrence == Recurrence.MONTHLY and "month_day" in cleaned and not cleaned["month_day"]:
            self.add_error("month_day", gettext("Give the day of the month (1 to 31) a monthly schedule runs on."))
        starts, until = cleaned.get("starts_on"), cleaned.get("until")
        if starts and until and until < starts:
            self.add_error("until", gettext("The last day is before the first day; change one of them."))
        if not self.errors and self.rule() is not None and not self.rule().next_after(timezone.now()):
            self.add_error(None, gettext("With these days the schedule would never run again; change the days."))
        return cleaned

    def rule(self) -> Rule | None:
        data = self.cleaned_data
        if any(data.get(name) is None for name in ("recurrence", "time", "starts_on")):
            return None
        return Rule(
            recurrence=data["recurrence"],
            time=data["time"],
            zone=data.get("time_zone") or settings.TIME_ZONE,
            starts_on=data["starts_on"],
            until=data.get("until"),
            weekdays=tuple(data.get("weekdays") or ()),
            month_day=data.get("month_day"),
        )

    def filled_instance(self) -> Schedule:
        """The schedule with what was typed (not saved: schedules.steering.save_schedule saves it)."""
        data, schedule = self.cleaned_data, self.instance
        plan = self.plan
        for name in SCHEDULE_FIELDS:
            setattr(schedule, name, data.get(name))
        schedule.weekdays = sorted(set(data.get("weekdays") or ())) if data["recurrence"] == Recurrence.WEEKLY else []
        if data["recurrence"] != Recurrence.MONTHLY:
            schedule.month_day = None
        schedule.voice_message = data["voice_message"]
        schedule.source = data["source"]
        schedule.purpose, schedule.basis = plan.purpose, plan.basis
        schedule.time_zone = plan.time_zone
        schedule.plan = {key: value for key, value in plan.to_json().items() if key not in ("start_at",)}
        return schedule


def initial_of(schedule: Schedule) -> dict:
    """A saved schedule as the form's initial values."""
    plan = SendPlan.from_json({**schedule.plan, "purpose": schedule.purpose, "basis": schedule.basis})
    values = {name: getattr(schedule, name) for name in SCHEDULE_FIELDS}
    values.update(plan.form_initial())
    values.update(
        voice_message=schedule.voice_message_id,
        source=schedule.source,
        contact_lists=list(schedule.contact_lists.values_list("pk", flat=True)),
        time_zone=schedule.time_zone,
    )
    return values
