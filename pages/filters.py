"""The calls table's filters: a plain form whose valid fields narrow a queryset.

Used by the calls page and by its CSV/XLSX export, so an export holds exactly the rows
the page shows. A field that does not validate is reported and ignored; the others
still apply.
"""

from datetime import timedelta

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.phones import InvalidNumber, normalize
from calls.outcomes import Outcome, outcome_q
from exolve_portal.bounds import FIRST_DAY, LAST_DAY, MAX_ID
from voicemessages.models import VoiceMessage

from .dashboard import local_midnight

# The message field suggests this many recent voice message names (not the whole table).
MESSAGE_SUGGESTIONS = 200


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


# Days a date filter accepts: the far ends of the calendar overflow as local midnights in UTC.
DAY_BOUNDS = [MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)]


class CallFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, validators=DAY_BOUNDS, widget=DateInput(attrs={"id": "filter-date-from"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, validators=DAY_BOUNDS, widget=DateInput(attrs={"id": "filter-date-to"})
    )
    message = forms.CharField(
        label=_("Voice message"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"id": "filter-message", "list": "voice-message-names", "placeholder": _("name or part of it")}
        ),
    )
    broadcast = forms.IntegerField(
        label=_("Broadcast no."),
        required=False,
        min_value=1,
        max_value=MAX_ID,
        widget=forms.NumberInput(attrs={"id": "filter-broadcast", "style": "width: 6em"}),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("any"))] + list(Outcome.choices),
        widget=forms.Select(attrs={"id": "filter-outcome"}),
    )
    number = forms.CharField(
        label=_("Number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"id": "filter-number", "placeholder": "+7 999 123-45-67"}),
        help_text=_("A whole number in any usual form, or some of its digits."),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", gettext("The end date is before the start date."))
        return cleaned

    def message_suggestions(self) -> list[str]:
        """Names of recent voice messages for the message field's suggestions (one bounded query)."""
        names = VoiceMessage.objects.order_by("-created_at").values_list("name", flat=True)[:MESSAGE_SUGGESTIONS]
        return sorted(set(names), key=str.casefold)

    def applied(self) -> dict:
        """The fields that validated and are set."""
        if not self.is_bound:
            return {}
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: value for name, value in cleaned.items() if value not in (None, "") and name not in self.errors}

    def filter(self, queryset):
        """`queryset` narrowed by every valid, non-empty field."""
        values = self.applied()
        if values.get("date_from"):
            queryset = queryset.filter(queued_at__gte=local_midnight(values["date_from"]))
        if values.get("date_to"):
            queryset = queryset.filter(queued_at__lt=local_midnight(values["date_to"] + timedelta(days=1)))
        if values.get("message"):
            text = values["message"].strip()
            queryset = queryset.filter(
                Q(voice_message__name__icontains=text)
                | Q(voice_message__isnull=True, broadcast__voice_message_name__icontains=text)
            )
        if values.get("broadcast"):
            queryset = queryset.filter(broadcast_id=values["broadcast"])
        if values.get("outcome"):
            queryset = queryset.filter(outcome_q(values["outcome"]))
        if values.get("number"):
            queryset = queryset.filter(number_q(values["number"]))
        return queryset


def number_q(text: str) -> Q:
    """A whole number in any form matches exactly (indexed); otherwise its digits anywhere."""
    try:
        return Q(destination=normalize(text))
    except InvalidNumber:
        digits = "".join(ch for ch in text if ch.isdigit())
        return Q(destination__contains=digits) if digits else Q(pk__in=[])
