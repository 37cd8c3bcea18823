"""Who a schedule's run calls: the send page's own choice of recipients from lists.

`recipients_of(schedule)` is `calls.audience_recipients.list_recipients` over the schedule's
lists for its purpose (consent in force, not on the stop list, within the limits), so a run
and a broadcast sent by hand to the same lists call the same people.
"""

from __future__ import annotations

from django.utils.translation import gettext

from audiences.contact_models import Contact
from calls.audience_recipients import Recipients, TooManyRecipients, list_recipients
from calls.recording import SendRefused


def recipients_of(schedule) -> Recipients:
    """Who of the schedule's lists this run calls (number -> contact id) and who not, and why."""
    try:
        return list_recipients(schedule.contact_lists.all(), schedule.purpose)
    except TooManyRecipients as exc:
        # The same words as the send page's (one msgid in the catalogue).
        words = gettext("The chosen lists hold more than %(count)d contacts; send to fewer lists at a time.")
        raise SendRefused(words % {"count": exc.args[0]}) from exc


def members_of(schedule) -> list[tuple[str, int]]:
    """(number, contact id) of the people a run calls, in number order."""
    return list(recipients_of(schedule).to_call.items())


def zones_of(numbers) -> dict[str, str]:
    """The time zones recorded on the contacts of `numbers` (for numbers whose zone the number does not tell)."""
    numbers = list(numbers)
    zones = {}
    for start in range(0, len(numbers), 900):
        rows = Contact.objects.filter(number__in=numbers[start : start + 900]).exclude(zone="")
        zones.update(rows.values_list("number", "zone"))
    return zones
