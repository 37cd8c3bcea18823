"""The send plan, written once: the value (`SendPlan`) and the form that reads it (`PlanForm`).

Every way a broadcast is planned goes through `PlanForm`: the send page (`forms.SendForm`
is one; the admin's "Send…" action leads to that page) and `manage.py send_voicemessage`
(which binds the form to its options). The form checks each value with calls/plan_rules.py
and fills the defaults (`SendPlan.filled`). The plan travels on the send draft as JSON
(`to_json` / `from_json`) and the broadcast stores it in one call (`broadcast_fields`);
the recording checks it once more through `plan_rules.check_plan`, whoever called it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exolve_portal.exolve.sms_text import sms_size
from exolve_portal.zone_names import zone_label

from .lifecycle import BroadcastState, Window, any_time_word, typed_window
from .models import SENDABLE_PURPOSES, Basis, Purpose
from .plan_rules import (
    MAX_PACE_PER_MINUTE,
    MAX_RETRIES,
    MAX_RETRY_AFTER_MINUTES,
    MIN_RETRY_AFTER_MINUTES,
    PlanRefused,
    check_basis,
    check_pace,
    check_purpose,
    check_retries,
    check_retry_after,
    check_sms,
    check_start,
    check_time_zone,
    check_windows,
    may_send_any_time,
    typed_hours,
)
from .sms_plan import DEFAULT_SMS_ON, MAX_SMS_TEXT, SMS_OUTCOMES, outcomes_of, sender_choices
from .windows import DEBT_WINDOWS, Windows, debt_default_windows, default_windows

# The broadcast's own zone (for callees whose zone the number does not tell): Russia's zones.
BROADCAST_ZONES = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
    "UTC",
]


@dataclass(frozen=True)
class SendPlan:
    """How a broadcast rings: start (None: now), calling hours, zone, pace, retries, purpose and basis."""

    start_at: datetime | None = None
    calling_hours: str | None = None  # None: EXOLVE_CALLING_HOURS; "" or "any": any time
    # Weekends and public holidays. None: EXOLVE_CALLING_HOURS_WEEKEND when `calling_hours`
    # is None too, else the same as `calling_hours` (one window for every day, as before).
    calling_hours_rest: str | None = None
    time_zone: str | None = None  # None: TIME_ZONE
    pace_per_minute: int | None = None
    retries: int | None = None  # None: EXOLVE_RETRIES
    retry_after_minutes: int | None = None  # None: EXOLVE_RETRY_AFTER_MINUTES
    retry_failed: bool = False
    purpose: str = Purpose.INFORMATION
    basis: str = ""  # why these people may be called (Basis); the form and the command require one
    # The follow-up SMS (calls/sms_plan.py): "" text and sender for none; `sms_on` comma-separated outcomes.
    sms_text: str = ""
    sms_sender: str = ""
    sms_on: str = ""

    @property
    def window(self) -> Windows:
        """The calling hours of both day types as read (WindowError when they cannot be).

        Hours not given are the portal's; for a debt reminder, the portal's where inside the law's,
        else the law's (calls/debt_rules.py).
        The bounds: `plan_rules.check_plan`.
        """
        defaults = debt_default_windows() if self.purpose == Purpose.DEBT_REMINDER else default_windows()
        working = defaults.working if self.calling_hours is None else typed_window(self.calling_hours)
        if self.calling_hours_rest is not None:
            rest = typed_window(self.calling_hours_rest)
        elif self.calling_hours is None or self.purpose == Purpose.DEBT_REMINDER:
            rest = defaults.rest
        else:
            rest = working
        return Windows(working, rest)

    def filled(self) -> SendPlan:
        """The same plan with every default named (the one place defaults are filled)."""
        windows = self.window
        return replace(
            self,
            calling_hours=hours_text(windows.working),
            calling_hours_rest=hours_text(windows.rest),
            time_zone=self.time_zone or settings.TIME_ZONE,
            retries=settings.EXOLVE_RETRIES if self.retries is None else self.retries,
            retry_after_minutes=(
                settings.EXOLVE_RETRY_AFTER_MINUTES if self.retry_after_minutes is None else self.retry_after_minutes
            ),
            purpose=self.purpose or Purpose.INFORMATION,
            sms_text=(self.sms_text or "").strip(),
            sms_sender=(self.sms_sender or "").strip(),
            sms_on=(self.sms_on or DEFAULT_SMS_ON) if (self.sms_text or "").strip() else "",
        )

    def to_json(self) -> dict:
        """The plan as stored on a send draft."""
        return {**asdict(self), "start_at": self.start_at.isoformat() if self.start_at else None}

    @classmethod
    def from_json(cls, data: dict | None) -> SendPlan:
        """A draft's stored plan back (keys it lacks, or other keys such as "zones": as if not given)."""
        values = {field.name: (data or {}).get(field.name) for field in fields(cls)}
        values = {name: value for name, value in values.items() if value is not None}
        if values.get("start_at"):
            values["start_at"] = parse_datetime(values["start_at"])
        return cls(**values)

    def form_initial(self) -> dict:
        """The plan as the send form's initial values (the start in the staff member's time zone)."""
        values = {name: value for name, value in asdict(self).items() if value is not None}
        if self.start_at is not None:
            values["start_at"] = timezone.localtime(self.start_at)
        return values

    @classmethod
    def of_broadcast(cls, broadcast) -> SendPlan:
        """The plan `broadcast` was recorded with, starting now (a resend rings again as it did, from now)."""
        return cls(
            calling_hours=broadcast.calling_hours or "any",  # "" on a broadcast: any time
            # "" on a broadcast: the same as on working days
            calling_hours_rest=broadcast.calling_hours_rest or broadcast.calling_hours or "any",
            time_zone=broadcast.time_zone,
            pace_per_minute=broadcast.pace_per_minute,
            retries=broadcast.retries,
            retry_after_minutes=broadcast.retry_after_minutes,
            retry_failed=broadcast.retry_failed,
            purpose=broadcast.purpose,
            basis=broadcast.basis,
            # No follow-up SMS: its SMS went (once per person) with the broadcast it repeats.
        )

    def broadcast_fields(self, now: datetime) -> dict:
        """What a broadcast stores of this checked, filled plan; a start not after `now` is now."""
        start = self.start_at if self.start_at and self.start_at > now else None
        window = self.window
        return {
            "state": BroadcastState.SCHEDULED if start else BroadcastState.SENDING,
            "start_at": start,
            "calling_hours": "" if window.working.any_time else str(window.working),
            "calling_hours_rest": window.rest_text(),
            "time_zone": self.time_zone,
            "pace_per_minute": self.pace_per_minute or None,
            "purpose": self.purpose,
            "basis": self.basis,
            "retries": self.retries,
            "retry_after_minutes": self.retry_after_minutes,
            "retry_failed": self.retry_failed,
            "sms_text": self.sms_text or "",
            "sms_sender": (self.sms_sender or "") if self.sms_text else "",
            "sms_on": self.sms_on or "",
        }


PLAN_FIELDS = tuple(field.name for field in fields(SendPlan))


def hours_text(window: Window) -> str:
    """Calling hours the one way a plan holds them: "09:00-21:00", or "any"."""
    return "any" if window.any_time else str(window)


def zone_choices():
    zones = list(BROADCAST_ZONES)
    if settings.TIME_ZONE not in zones:
        zones.insert(0, settings.TIME_ZONE)
    return [(zone, zone_label(zone)) for zone in zones]


class _CheckedChoiceField(forms.ChoiceField):
    """A choice list to pick from; what is taken is decided by calls/plan_rules.py (any known zone, for one)."""

    def valid_value(self, value):
        return True


# Each basis with a plain word on what it means (the broadcast shows the short label).
BASIS_CHOICES = [
    (Basis.CONSENT.value, _("The recipients' consent: they agreed to receive such calls, and you can show it.")),
    (Basis.CONTRACT.value, _("An existing contract or service: the calls are about what they have with you.")),
    (Basis.DEBT.value, _("A debt owed: debt reminders only (Federal law 230-FZ).")),
]


class PlanForm(forms.Form):
    """When, how fast and how persistently a broadcast rings, and why; `form.plan` once valid."""

    start_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    calling_hours = forms.CharField(
        label=_("Calling hours"),
        required=False,
        max_length=16,
        help_text=_(
            "On working days, in the callee's local time, for example 09:00-21:00. Calls outside them wait until "
            "they open."
        ),
    )
    calling_hours_rest = forms.CharField(
        label=_("Calling hours on weekends and public holidays"),
        required=False,
        max_length=16,
        help_text=_(
            "The same on days of rest by the Russian production calendar. Empty: as on working days "
            "(or the portal's hours when those are empty too). Debt reminders: within 08:00-22:00 on working days "
            "and 09:00-20:00 on days of rest (230-FZ)."
        ),
    )
    time_zone = _CheckedChoiceField(
        label=_("Time zone of the broadcast"),
        required=False,
        help_text=_("For numbers whose zone the number does not tell (mobile numbers)."),
    )
    # The bounds of these numbers are checked by calls/plan_rules.py (clean_<field> below),
    # as for the recording; the widgets only show them.
    pace_per_minute = forms.IntegerField(
        label=_("Calls per minute at most"),
        required=False,
        help_text=_("Leave empty for no limit (for example, when callers may press a key to reach operators)."),
    )
    retries = forms.IntegerField(
        label=_("Call again those who did not answer or were busy: up to this many more times"),
        required=False,
        help_text=_("From 0 (do not call again) to 5."),
    )
    retry_after_minutes = forms.IntegerField(
        label=_("Minutes between attempts"),
        required=False,
        help_text=_("A new attempt also waits for the calling hours."),
    )
    retry_failed = forms.BooleanField(label=_("Call again failed calls too"), required=False)
    # Only what may be sent is offered; anything else posted is refused by plan_rules.check_purpose.
    purpose = _CheckedChoiceField(
        label=_("Purpose"), required=False, choices=[(purpose.value, purpose.label) for purpose in SENDABLE_PURPOSES]
    )
    # Required, with no choice made for the sender (plan_rules.check_basis says so in plain words).
    basis = _CheckedChoiceField(
        label=_("Why these people may be called"),
        required=False,
        choices=BASIS_CHOICES,
        widget=forms.RadioSelect,
        help_text=_("Recorded with the broadcast, shown on its page, in the audit trail and in the exports."),
    )

    # The follow-up SMS (calls/sms_plan.py checks it, here and at the recording).
    sms_text = forms.CharField(
        label=_("Then an SMS to those the calls did not reach"),
        required=False,
        max_length=MAX_SMS_TEXT,
        widget=forms.Textarea(attrs={"rows": 3, "data-sms-counter": "1"}),
        help_text=_(
            "Optional. Sent once per person after their last attempt, inside the calling hours. 70 characters "
            "per SMS in Cyrillic (67 per part when longer), 160 in Latin (153)."
        ),
    )
    sms_sender = _CheckedChoiceField(
        label=_("SMS from"),
        required=False,
        help_text=_("A registered sender name or a mobile number of the team: city and 8-800 numbers cannot send SMS."),
    )
    sms_on = forms.MultipleChoiceField(
        label=_("Send the SMS when the last attempt was"),
        required=False,
        choices=SMS_OUTCOMES,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user=None, **kwargs):
        """`user`: who plans (None: a command, which keeps to EXOLVE_CALLING_HOURS)."""
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["sms_sender"].choices = sender_choices()
        if isinstance(self.initial.get("sms_on"), str):
            self.initial["sms_on"] = list(outcomes_of(self.initial["sms_on"]) or (DEFAULT_SMS_ON,))
        self.initial.setdefault("sms_on", [DEFAULT_SMS_ON])
        self.fields["start_at"].help_text = _(
            "Leave empty to send now, or give a date and time in your time zone, %(zone)s."
        ) % {"zone": zone_label(timezone.get_current_timezone_name())}
        # Lazy: read (with each zone's offset) only when the field is shown; the API's form never shows it.
        self.fields["time_zone"].choices = zone_choices
        bounds = {
            "pace_per_minute": (1, MAX_PACE_PER_MINUTE),
            "retries": (0, MAX_RETRIES),
            "retry_after_minutes": (MIN_RETRY_AFTER_MINUTES, MAX_RETRY_AFTER_MINUTES),
        }
        for name, (low, high) in bounds.items():
            self.fields[name].widget.attrs.update(min=low, max=high)
        if not self.is_bound:
            # A debt reminder's form starts from the law's windows (calls/debt_rules.py).
            purpose = self.initial.get("purpose") or Purpose.INFORMATION
            for name, value in SendPlan(purpose=purpose).filled().form_initial().items():
                self.initial.setdefault(name, value)
        if self.may_send_any_time():
            hint = gettext("“%(word)s” for any time.") % {"word": any_time_word()}
            for name in ("calling_hours", "calling_hours_rest"):
                self.fields[name].help_text = f"{self.fields[name].help_text} {hint}"

    @property
    def sms_preview(self) -> dict | None:
        """The follow-up SMS as the preview shows it: its size, and at most how many SMS parts in all."""
        plan = self.plan
        if plan is None or not plan.sms_text:
            return None
        size = sms_size(plan.sms_text)
        people = getattr(self, "calls_to_make", 0) or 0
        on = ", ".join(str(label) for value, label in SMS_OUTCOMES if value in outcomes_of(plan.sms_on))
        return {"size": size, "sender": plan.sms_sender, "on": on, "max_parts": size.parts * people}

    def may_send_any_time(self) -> bool:
        return may_send_any_time(self.user)

    @property
    def plan(self) -> SendPlan | None:
        """The checked plan with its defaults filled; None until the form is valid in every plan value."""
        if not self.is_bound or any(name in self.errors for name in PLAN_FIELDS):
            return None
        return SendPlan(**{name: self.cleaned_data.get(name) for name in PLAN_FIELDS}).filled()

    @staticmethod
    def _checked(check, value):
        """`check(value)`, a calls/plan_rules.py rule: what it returns, else `value`; a refusal: the field's error."""
        try:
            result = check(value)
        except PlanRefused as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from None
        return value if result is None else result

    def clean_start_at(self):
        return self._checked(check_start, self.cleaned_data.get("start_at"))

    def _hours(self, name: str) -> str | None:
        """Hours as typed, read (their bounds depend on the purpose: `clean`); None when empty."""
        text = (self.cleaned_data.get(name) or "").strip() or None
        return None if text is None else hours_text(self._checked(lambda value: typed_hours(value, name), text))

    def clean_calling_hours(self):
        return self._hours("calling_hours")

    def clean_calling_hours_rest(self):
        return self._hours("calling_hours_rest")

    def clean_time_zone(self):
        return self._checked(check_time_zone, self.cleaned_data.get("time_zone") or None)  # None: TIME_ZONE

    def clean_pace_per_minute(self):
        return self._checked(check_pace, self.cleaned_data.get("pace_per_minute"))

    def clean_retries(self):
        return self._checked(check_retries, self.cleaned_data.get("retries"))

    def clean_retry_after_minutes(self):
        return self._checked(check_retry_after, self.cleaned_data.get("retry_after_minutes"))

    def clean_purpose(self):
        return self._checked(check_purpose, self.cleaned_data.get("purpose") or None) or Purpose.INFORMATION

    def clean_sms_on(self):
        return ",".join(o for o, _label in SMS_OUTCOMES if o in (self.cleaned_data.get("sms_on") or []))

    def clean(self):
        cleaned = super().clean()
        if not any(name in self.errors for name in ("sms_text", "sms_sender", "sms_on")):
            try:
                sms = {n: cleaned.get(n) or "" for n in ("sms_text", "sms_sender", "sms_on")}
                check_sms(SendPlan(purpose=cleaned.get("purpose") or Purpose.INFORMATION, **sms).filled())
            except PlanRefused as exc:
                self.add_error(exc.field, forms.ValidationError(str(exc), code=exc.code))
        if "purpose" in cleaned and "basis" not in self.errors:
            try:
                check_basis(cleaned.get("basis") or "", cleaned["purpose"], required=True)
            except PlanRefused as exc:
                self.add_error(exc.field, forms.ValidationError(str(exc), code=exc.code))
        hours = ("calling_hours", "calling_hours_rest")
        if all(name in cleaned for name in hours) and "purpose" not in self.errors:
            purpose = cleaned.get("purpose") or Purpose.INFORMATION
            if purpose == Purpose.DEBT_REMINDER:
                self._law_for_untouched_defaults(cleaned)
            try:
                check_windows(SendPlan(purpose=purpose, **{name: cleaned[name] for name in hours}), self.user)
            except PlanRefused as exc:
                self.add_error(exc.field, forms.ValidationError(str(exc), code=exc.code))
        return cleaned

    @staticmethod
    def _law_for_untouched_defaults(cleaned: dict) -> None:
        """A debt reminder's hours left as the form offered them (the portal's) become the law's
        where the portal's are wider: what the form would have prefilled, had it known the purpose
        (the page has no script). Hours staff typed are checked as typed, never widened."""
        portal = SendPlan().filled()
        law = (DEBT_WINDOWS.working, DEBT_WINDOWS.rest)
        for name, window in zip(("calling_hours", "calling_hours_rest"), law, strict=True):
            typed = cleaned[name]
            if typed is not None and typed == getattr(portal, name) and not typed_window(typed).within(window):
                cleaned[name] = None  # the law's (SendPlan.window)
