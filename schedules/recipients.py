"""Who a schedule's run calls: the seam between schedules and the choice of recipients.

`members_of(schedule)`: (number, contact id) of the members of the schedule's lists with a
consent in force for its purpose and not on the stop list, each number once, in number
order. Built on audiences' own checks (consent_verdicts, stop_list.blocked); the send
page's choice of recipients from lists is to take this body's place, with the same answer.
"""

from __future__ import annotations

from audiences import stop_list
from audiences.consent import consent_verdicts
from audiences.contact_models import Contact


def members_of(schedule) -> list[tuple[str, int]]:
    members = (
        Contact.objects.filter(memberships__contact_list__in=schedule.contact_lists.all())
        .order_by("number")
        .values_list("number", "pk")
        .distinct()
    )
    found = dict(members)
    refused = consent_verdicts(found, schedule.purpose)
    blocked = stop_list.blocked(found)
    return [(number, pk) for number, pk in found.items() if number not in refused and number not in blocked]


def zones_of(numbers) -> dict[str, str]:
    """The time zones recorded on the contacts of `numbers` (for numbers whose zone the number does not tell)."""
    numbers = list(numbers)
    zones = {}
    for start in range(0, len(numbers), 900):
        rows = Contact.objects.filter(number__in=numbers[start : start + 900]).exclude(zone="")
        zones.update(rows.values_list("number", "zone"))
    return zones
