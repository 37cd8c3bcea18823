"""The follow-up SMS of a plan: who it may come from, what may be sent, after which outcomes.

One place for the send page, the command, the recording (`plan_rules.check_plan`) and the
SMS worker, so all refuse alike. The sender is a sender name registered in the Exolve
personal account (`EXOLVE_SMS_SENDER_NAMES`) or a mobile caller number a Manager enabled
that can send SMS; Exolve documents that city (ABC) and 8-800 numbers cannot send SMS,
so they are refused with that reason everywhere, before anything is sent.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from audiences.phones import display_number
from caller_numbers.models import CallerNumber, Kind
from exolve_portal.exolve.sms_text import MAX_PARTS, sms_size

# The final outcomes of a person's last attempt that may trigger the SMS, and the default.
SMS_OUTCOMES = (("no_answer", _("no answer")), ("busy", _("busy")), ("failed", _("failed")))
DEFAULT_SMS_ON = "no_answer"
MAX_SMS_TEXT = 1600  # characters typed; the parts are the real bound

# Plain-language refusals (translated when shown).
FROM_CITY = gettext_noop(
    "SMS cannot be sent from city (ABC) or 8-800 numbers: Exolve does not allow it. Choose a mobile "
    "number of the team or a sender name registered in the Exolve personal account."
)
NOT_A_SENDER = gettext_noop(
    "SMS cannot be sent from this sender: choose a mobile caller number a Manager enabled (able to send "
    "SMS) or a sender name registered in the Exolve personal account (setting EXOLVE_SMS_SENDER_NAMES)."
)
NO_SENDER = gettext_noop("Choose who the SMS comes from.")
NO_OUTCOME = gettext_noop("Choose after which outcomes the SMS is sent (for example, no answer).")
NO_TEXT = gettext_noop("Write the SMS text, or leave the sender empty to send no SMS.")
TOO_LONG = gettext_noop(
    "The SMS text is too long: it would take %(parts)d SMS parts, at most %(max)d are sent. Shorten it."
)


def sender_names() -> list[str]:
    return [str(n).strip() for n in settings.EXOLVE_SMS_SENDER_NAMES if str(n).strip()]


def _kind(number: str) -> str:
    """The number's type as Exolve said (caller numbers), else as the Russian numbering plan says:
    +7 800 is 8-800, +7 9xx mobile (DEF), any other +7 code geographic, a city number (ABC)."""
    row = CallerNumber.objects.filter(number=number).values("kind").first()
    if row and row["kind"] != Kind.OTHER:
        return row["kind"]
    if len(number) == 11 and number.isdigit() and number.startswith("7"):
        if number.startswith("7800"):
            return Kind.TOLL_FREE
        return Kind.MOBILE if number[1] == "9" else Kind.CITY
    return ""


def mobile_senders() -> list[str]:
    """Enabled mobile caller numbers that can send SMS."""
    return list(
        CallerNumber.objects.sendable().filter(kind=Kind.MOBILE, can_send_sms=True).values_list("number", flat=True)
    )


def sender_refusal(sender: str) -> str:
    """Why `sender` may not send the follow-up SMS (untranslated), or ""."""
    sender = (sender or "").strip()
    if not sender:
        return NO_SENDER
    if sender in sender_names():
        return ""
    if _kind(sender) in (Kind.CITY, Kind.TOLL_FREE):
        return FROM_CITY
    return "" if sender in mobile_senders() else NOT_A_SENDER


def sender_choices() -> list[tuple[str, str]]:
    """("", "no SMS"), then the sender names and mobile numbers staff may choose."""
    names = [(name, name) for name in sender_names()]
    numbers = [(number, display_number(number)) for number in mobile_senders()]
    return [("", gettext("No SMS")), *names, *numbers]


def outcomes_of(sms_on: str) -> tuple[str, ...]:
    known = {value for value, _label in SMS_OUTCOMES}
    return tuple(o for o in (sms_on or "").split(",") if o in known)


def sms_refusal(text: str, sender: str, sms_on: str) -> tuple[str, str] | None:
    """(field, why: translated) when the plan's SMS may not be sent; None when fine or when there is none."""
    text, sender = (text or "").strip(), (sender or "").strip()
    if not text and not sender:
        return None
    if not text:
        return "sms_text", gettext(NO_TEXT)
    size = sms_size(text)
    if size.too_long or len(text) > MAX_SMS_TEXT:
        return "sms_text", gettext(TOO_LONG) % {"parts": size.parts, "max": MAX_PARTS}
    if refusal := sender_refusal(sender):
        return "sms_sender", gettext(refusal)
    if not outcomes_of(sms_on or DEFAULT_SMS_ON):
        return "sms_on", gettext(NO_OUTCOME)
    return None
