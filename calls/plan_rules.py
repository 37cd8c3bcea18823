"""The rules of a send plan, each written once: the plan form (`plan_form.PlanForm`, for the
send page and `manage.py send_voicemessage`), `steering.move` and the recording
(`recording.create_broadcast`, the last line of defence) all check through these
functions, so no path can be typed around another.

- Calling hours are read as people write them (`lifecycle.typed_window`: `9:00-21:00`,
  `21:00-09:00` overnight; seconds and equal ends refused). Anyone without "send at any
  time" keeps them inside EXOLVE_CALLING_HOURS: narrower or equal, wrapping windows
  compared as the hours they are (21:00-09:00 is not inside 09:00-21:00). The commands
  act as nobody in particular, so they hold to EXOLVE_CALLING_HOURS too: a script that
  must call outside them runs with its own EXOLVE_CALLING_HOURS. Weekends and public
  holidays have their own hours (`calling_hours_rest`), bounded the same way by
  EXOLVE_CALLING_HOURS_WEEKEND (calls/windows.py).
- A debt reminder rings within the law's windows (calls/debt_rules.py, 230-FZ article 7)
  in place of the portal's: narrower or equal, never wider, whatever the permissions.
- The start is in the future (the recording allows START_TOLERANCE late: it then sends
  now) and at most MAX_START_AHEAD away.
- A pace is 1 to MAX_PACE_PER_MINUTE calls a minute; retries 0 to MAX_RETRIES, at least
  MIN_RETRY_AFTER_MINUTES and at most MAX_RETRY_AFTER_MINUTES apart.
- Only the purposes of SENDABLE_PURPOSES are sent: advertising by automatic calls is
  forbidden whatever the consent (38-FZ "On advertising", article 18 part 2). A debt reminder
  goes with the basis "a debt owed", and that basis only with a debt reminder. The form and
  the command require a basis; the recording takes "" (not recorded) only from resends of
  broadcasts recorded before the basis was (docs/compliance.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.checks import Error, register
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext

from .lifecycle import Window, WindowError, get_zone, typed_window
from .models import SENDABLE_PURPOSES, Basis, Purpose
from .permissions import SEND_ANY_TIME_PERMISSION
from .sms_plan import sms_refusal
from .windows import DEBT_WINDOWS, Windows, debt_default_windows, default_windows, stored_windows

if TYPE_CHECKING:
    from .plan_form import SendPlan

# A start further ahead than this is a typo (3000-01-01), not a plan.
MAX_START_AHEAD = timedelta(days=365)
# The recording takes a start this far in the past as "now": a file read or a preview
# confirmed a moment after the time it named. Forms and commands want a future time.
START_TOLERANCE = timedelta(minutes=5)
# Exolve documents no rate limit (API-NOTES.md). A pace is for the people who take the
# calls back (a key press to reach operators), far below ten calls a second; every paced
# call costs one claim at the broadcast's lock. Faster: leave the pace empty, and the
# workers send as fast as EXOLVE_MAX_IN_FLIGHT and EXOLVE_MAX_RPS let them.
MAX_PACE_PER_MINUTE = 600
MAX_RETRIES = 5
# Calling again within minutes of no answer or busy is harassment, not a retry.
MIN_RETRY_AFTER_MINUTES = 5
MAX_RETRY_AFTER_MINUTES = 7 * 24 * 60


class PlanRefused(ValueError):
    """A plan value out of bounds; `str()` says why in plain words, `field` names the form field."""

    def __init__(self, message: str, field: str, code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.code = code


def may_send_any_time(user) -> bool:
    """Whether `user` may call outside EXOLVE_CALLING_HOURS (None, a command: no)."""
    return user is not None and getattr(user, "is_authenticated", False) and user.has_perm(SEND_ANY_TIME_PERMISSION)


def check_calling_hours(text: str | None, *, any_time_allowed: bool, rest: bool = False) -> Window:
    """The window `text` names (None: the portal's), if this person may use it; else PlanRefused.

    `rest`: the hours for weekends and public holidays (bounded by EXOLVE_CALLING_HOURS_WEEKEND).
    """
    field = "calling_hours_rest" if rest else "calling_hours"
    defaults = default_windows()
    default = defaults.rest if rest else defaults.working
    if text is None:
        return default
    window = typed_hours(text, field)
    if any_time_allowed or window.within(default):
        return window
    if window.any_time:
        message = gettext("You may not send at any time: give calling hours, for example %(hours)s.")
        raise PlanRefused(message % {"hours": default}, field, "any_time")
    if rest:
        message = gettext(
            "On weekends and public holidays calls may ring only within %(hours)s (callee's local time): "
            "give hours inside them, for example %(hours)s."
        )
    else:
        message = gettext(
            "Calls may ring only within %(hours)s (callee's local time): give calling hours inside them, "
            "for example %(hours)s."
        )
    raise PlanRefused(message % {"hours": default}, field, "outside")


def typed_hours(text: str, field: str) -> Window:
    """Hours as typed (`lifecycle.typed_window`), a refusal naming `field` when they cannot be read."""
    try:
        return typed_window(text)
    except WindowError as exc:
        raise PlanRefused(str(exc), field) from None


def check_windows(plan: SendPlan, user) -> Windows:
    """The plan's windows for both day types, if `user` may use them; else PlanRefused.

    Days of rest not given: the portal's when working days are not given either, else the
    same as working days. A debt reminder is bounded by the law's windows instead.
    """
    if plan.purpose == Purpose.DEBT_REMINDER:
        return check_debt_windows(plan.calling_hours, plan.calling_hours_rest)
    allowed = may_send_any_time(user)
    working = check_calling_hours(plan.calling_hours, any_time_allowed=allowed)
    if plan.calling_hours_rest is not None:
        rest = check_calling_hours(plan.calling_hours_rest, any_time_allowed=allowed, rest=True)
    elif plan.calling_hours is None:
        rest = default_windows().rest
    else:
        rest = working
    return Windows(working, rest)


def check_debt_windows(working_text: str | None, rest_text: str | None) -> Windows:
    """A debt reminder's windows (None: the portal's inside the law's), never wider than 230-FZ
    allows; else PlanRefused."""
    law, defaults = DEBT_WINDOWS, debt_default_windows()
    working = defaults.working if working_text is None else typed_hours(working_text, "calling_hours")
    rest = defaults.rest if rest_text is None else typed_hours(rest_text, "calling_hours_rest")
    message = gettext(
        "Debt reminders may ring only within %(hours)s (the debtor's local time) %(days)s: the law on debt "
        "collection (230-FZ, article 7) allows no more, whoever sends. Give hours inside them, or leave the field "
        "empty for %(hours)s."
    )
    if not working.within(law.working):
        days = pgettext("debt reminder windows", "on working days")
        raise PlanRefused(message % {"hours": law.working, "days": days}, "calling_hours", "debt")
    if not rest.within(law.rest):
        days = pgettext("debt reminder windows", "on weekends and public holidays")
        raise PlanRefused(message % {"hours": law.rest, "days": days}, "calling_hours_rest", "debt")
    return Windows(working, rest)


def check_start(start: datetime | None, *, late: timedelta = timedelta(0)) -> None:
    """A start in the future (up to `late` past is taken) and at most MAX_START_AHEAD away; None: now."""
    if start is None:
        return
    now = timezone.now()
    if start <= now - late:
        message = gettext("This time has already passed: give a later time.")
        raise PlanRefused(message, "start_at", "past")
    if start > now + MAX_START_AHEAD:
        latest = formats.date_format(timezone.localtime(now + MAX_START_AHEAD), "DATE_FORMAT")
        message = gettext("This time is more than a year ahead: give a date up to %(date)s.")
        raise PlanRefused(message % {"date": latest}, "start_at", "too_far")


def check_pace(pace: int | None) -> None:
    """None: no pace; else 1 to MAX_PACE_PER_MINUTE calls a minute."""
    if pace is not None and not 1 <= pace <= MAX_PACE_PER_MINUTE:
        message = gettext(
            "Calls per minute: from 1 to %(max)d. Leave it empty for no limit (as fast as the portal sends)."
        )
        raise PlanRefused(message % {"max": MAX_PACE_PER_MINUTE}, "pace_per_minute")


def check_retries(retries: int | None) -> None:
    if retries is not None and not 0 <= retries <= MAX_RETRIES:
        message = gettext("Retries: from 0 (do not call again) to %(max)d.")
        raise PlanRefused(message % {"max": MAX_RETRIES}, "retries")


def check_retry_after(minutes: int | None) -> None:
    if minutes is not None and not MIN_RETRY_AFTER_MINUTES <= minutes <= MAX_RETRY_AFTER_MINUTES:
        message = gettext("Minutes between attempts: from %(min)d to %(max)d (a week).")
        raise PlanRefused(
            message % {"min": MIN_RETRY_AFTER_MINUTES, "max": MAX_RETRY_AFTER_MINUTES}, "retry_after_minutes"
        )


def check_time_zone(name: str | None) -> None:
    if name is not None and get_zone(name) is None:
        raise PlanRefused(gettext("Unknown time zone: %(zone)s.") % {"zone": name}, "time_zone")


def advertising_refusal() -> str:
    """Why advertising is never sent, the law named, and what to do instead (shown wherever it is refused)."""
    return gettext(
        "Advertising cannot be sent by automatic calls: Russian law forbids it whatever the consent "
        "(Federal law 38-FZ “On advertising”, article 18 part 2; a fine of 300,000 to 1,000,000 roubles "
        "per case, Code of Administrative Offences article 14.3 part 4.1). To offer something to "
        "customers, call them yourself, person to person. This portal sends information, reminders "
        "and debt reminders: choose one of those purposes."
    )


def check_purpose(purpose: str | None) -> None:
    """A purpose that may be sent (None: information); advertising never (38-FZ art. 18 part 2)."""
    if purpose is None or purpose in SENDABLE_PURPOSES:
        return
    if purpose == Purpose.ADVERTISING:
        raise PlanRefused(advertising_refusal(), "purpose", "advertising")
    message = gettext("The purpose is one of: %(choices)s.")
    raise PlanRefused(message % {"choices": ", ".join(SENDABLE_PURPOSES)}, "purpose", "invalid_choice")


def check_basis(basis: str | None, purpose: str | None, *, required: bool) -> None:
    """Why these people may be called: one of Basis ("" only when not `required`), paired with the purpose."""
    if not basis:
        if required:
            message = gettext(
                "Choose why these people may be called: their consent, an existing contract or service, or a debt."
            )
            raise PlanRefused(message, "basis", "required")
    elif basis not in Basis.values:
        message = gettext("The basis is one of: %(choices)s.")
        raise PlanRefused(message % {"choices": ", ".join(Basis.values)}, "basis", "invalid_choice")
    if purpose == Purpose.DEBT_REMINDER and basis != Basis.DEBT:
        message = gettext("A debt reminder is sent because of a debt: choose the basis “%(debt)s”.")
        raise PlanRefused(message % {"debt": Basis.DEBT.label}, "basis", "debt_needs_debt")
    if basis == Basis.DEBT and purpose != Purpose.DEBT_REMINDER:
        message = gettext(
            "The basis “%(debt)s” is only for debt reminders: choose the purpose “%(purpose)s”, or another basis."
        )
        raise PlanRefused(
            message % {"debt": Basis.DEBT.label, "purpose": Purpose.DEBT_REMINDER.label}, "basis", "debt_only"
        )


def check_plan(plan: SendPlan, user, *, late: timedelta = timedelta(0)) -> Windows:
    """Every bound of `plan` for `user` (None: a command); its calling hours, or the first PlanRefused."""
    check_purpose(plan.purpose)
    check_basis(plan.basis, plan.purpose or Purpose.INFORMATION, required=False)
    check_start(plan.start_at, late=late)
    window = check_windows(plan, user)
    check_time_zone(plan.time_zone)
    check_pace(plan.pace_per_minute)
    check_retries(plan.retries)
    check_retry_after(plan.retry_after_minutes)
    check_sms(plan)
    return window


def check_sms(plan: SendPlan) -> None:
    """The follow-up SMS (calls/sms_plan.py): its text, a sender that may send SMS, its outcomes.

    Not with a debt reminder: 230-FZ counts text messages with the calls (2 a day, 4 a week,
    16 a month) and the portal's counts (calls/limits.py) know calls only.
    """
    if plan.purpose == Purpose.DEBT_REMINDER and (plan.sms_text or "").strip():
        raise PlanRefused(
            gettext(
                "A debt reminder cannot be followed by an SMS: the law (230-FZ) counts text messages with "
                "the calls, and the portal counts calls only. Leave the SMS text empty."
            ),
            "sms_text",
        )
    if refusal := sms_refusal(plan.sms_text, plan.sms_sender, plan.sms_on):
        raise PlanRefused(refusal[1], refusal[0])


@register()
def plan_settings(app_configs, **kwargs):
    """`manage.py check` names a default the send form would refuse (the form starts from them)."""
    errors = []
    for name in ("EXOLVE_CALLING_HOURS", "EXOLVE_CALLING_HOURS_WEEKEND"):
        try:
            stored_windows(getattr(settings, name), "")
        except ValueError:
            errors.append(
                Error(
                    f"{name}={getattr(settings, name)!r} cannot be read.",
                    hint='Write it as "09:00-21:00", or "any".',
                    id="calls.E001",
                )
            )
    if not 0 <= settings.EXOLVE_RETRIES <= MAX_RETRIES:
        errors.append(Error(f"EXOLVE_RETRIES must be from 0 to {MAX_RETRIES}.", id="calls.E002"))
    if not MIN_RETRY_AFTER_MINUTES <= settings.EXOLVE_RETRY_AFTER_MINUTES <= MAX_RETRY_AFTER_MINUTES:
        errors.append(
            Error(
                f"EXOLVE_RETRY_AFTER_MINUTES must be from {MIN_RETRY_AFTER_MINUTES} to {MAX_RETRY_AFTER_MINUTES}.",
                id="calls.E003",
            )
        )
    return errors
