"""The send page's recipients taken from a previous broadcast, by outcome (calls/previous_people.py).

The broadcast page's "New broadcast to these people" opens the send page with
`?from_broadcast=X&outcome=no_answer&outcome=busy`; the query stays on the page's forms,
so the preview, "preview again" and the confirmation all read the same choice. The rest
is the send page as always: any voice message, the plan, the preview (stop list, limits),
the rules and the recording from the draft under the form's token (a double submit finds
the broadcast it made). The people are read at the preview and stored in its draft: the
broadcast records exactly them, whatever happens to broadcast X afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext

from audiences.phones import ParsedNumbers
from audiences.stop_list import blocked
from audiences.uploads import UploadedList

from . import previous_people
from .forms import SendForm
from .limits import over_limits
from .models import Broadcast
from .planning import delayed_start, zone_starts

# The send form's ways of giving numbers, replaced by the previous broadcast's people.
LIST_FIELDS = ("numbers", "file", "phone_column", "forget_file", "contact_lists")


@dataclass
class Selection:
    """Broadcast X and the outcomes chosen, from the send page's query; `error` when it cannot be used."""

    broadcast: Broadcast | None = None
    outcomes: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def label(self) -> str:
        return previous_people.describe(self.broadcast, self.outcomes) if self.broadcast else ""

    def query(self) -> str:
        return urlencode({"from_broadcast": self.broadcast.pk, "outcome": ",".join(self.outcomes)})

    @cached_property
    def count(self) -> int:
        return previous_people.matching(self.broadcast, self.outcomes).count() if not self.error else 0


def send_url(path: str, back_query: str, selection: Selection | None) -> str:
    """The send page's address for its forms: the way back and the previous broadcast's people kept."""
    query = "&".join(
        part for part in (back_query, selection.query() if selection and selection.broadcast else "") if part
    )
    return f"{path}?{query}" if query else path


def selection_from(query) -> Selection | None:
    """The selection a send page's query names (None: an ordinary send); its `error` says what is wrong."""
    raw = query.get("from_broadcast")
    if raw is None:
        return None
    broadcast = None
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        broadcast = Broadcast.objects.filter(pk=int(raw)).first()
    if broadcast is None:
        return Selection(error=gettext("There is no broadcast #%(pk)s (it may have been deleted).") % {"pk": raw[:20]})
    try:
        outcomes = previous_people.parse_outcomes(query.getlist("outcome")[:10])
    except previous_people.UnknownOutcome as exc:
        return Selection(broadcast, error=str(exc))
    if not outcomes:
        return Selection(broadcast, error=gettext("Choose at least one outcome: whom of that broadcast to call."))
    return Selection(broadcast, outcomes)


@dataclass
class PeopleList(UploadedList):
    """The people of a previous broadcast as an uploaded list would give them, and the contacts of those
    who came from a contact list ({number: contact id}): they are called again only with its consent."""

    contacts: dict[str, int | None] = field(default_factory=dict)


class NoRecipients(Exception):
    """The previous broadcast or its outcomes give nobody to call; `str()` says why in plain words."""


def recipients(pk, outcomes_text: str | None) -> PeopleList:
    """The people of broadcast `pk` chosen by `outcomes_text` ("no_answer,busy"), as an uploaded list would give
    them (numbers, zones, details): for `manage.py send_voicemessage --from-broadcast N --outcome ...`."""
    broadcast = Broadcast.objects.filter(pk=pk).first()
    if broadcast is None:
        raise NoRecipients(gettext("There is no broadcast #%(pk)s (it may have been deleted).") % {"pk": pk})
    try:
        outcomes = previous_people.parse_outcomes(outcomes_text or "")
    except previous_people.UnknownOutcome as exc:
        raise NoRecipients(str(exc)) from exc
    if not outcomes:
        raise NoRecipients(
            gettext(
                "Say whom of that broadcast to call with --outcome, e.g. --outcome no_answer,busy "
                "(choose among: %(choices)s)."
            )
            % {"choices": ", ".join(previous_people.PreviousOutcome.values)}
        )
    found = PeopleList()
    for person in previous_people.people(broadcast, outcomes):
        found.values.append(person.number)
        if person.from_list:
            found.contacts[person.number] = person.contact_id
        if person.details:
            found.details[person.number] = person.details
        if person.time_zone:
            found.zones[person.number] = person.time_zone
    if not found.values:
        raise NoRecipients(
            gettext("Nobody matches: %(selection)s.") % {"selection": previous_people.describe(broadcast, outcomes)}
        )
    return found


class FromBroadcastSendForm(SendForm):
    """The send form whose recipients are the people of a previous broadcast chosen by outcome."""

    def __init__(self, *args, selection: Selection, **kwargs):
        super().__init__(*args, **kwargs)
        for name in LIST_FIELDS:
            self.fields.pop(name, None)  # the lists' field is there only for those who may see lists
        self.selection = selection

    def clean(self):
        cleaned = super(SendForm, self).clean()  # the voice message, the source and the plan; no list
        selection = self.selection
        if selection.error:
            raise forms.ValidationError(selection.error, code="from_broadcast")
        self.file_zones, self.details, self.kept_contacts, valid = {}, {}, {}, []
        for person in previous_people.people(selection.broadcast, selection.outcomes):
            valid.append(person.number)
            if person.from_list:  # called only with the contact's consent (none once it was deleted)
                self.kept_contacts[person.number] = person.contact_id
            if person.details:
                self.details[person.number] = person.details
            if person.time_zone:
                self.file_zones[person.number] = person.time_zone
        if not valid:
            raise forms.ValidationError(
                gettext("Nobody matches: %(selection)s. Choose other outcomes on the broadcast's page.")
                % {"selection": selection.label},
                code="nobody",
            )
        self.preview = ParsedNumbers(valid=valid)
        if not cleaned.get("name", "").strip():
            cleaned["name"] = selection.label[:200]  # the new broadcast says where its people came from
        stopped = blocked(valid)
        self.stop_listed = [number for number in valid if number in stopped]
        callable_numbers = [number for number in valid if number not in stopped]
        self.over_limit = over_limits(callable_numbers)
        if self.plan is not None:
            to_call = [number for number in callable_numbers if number not in self.over_limit]
            self.zone_starts = zone_starts(to_call, self.plan, self.file_zones)
            self.delayed_start = delayed_start(self.zone_starts)
        return cleaned
