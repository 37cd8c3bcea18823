"""Admin list filters whose choices come from a short, indexed query, never from a whole table.

Django's default filter for a foreign key lists every row of the related table (and
`RelatedOnlyFieldListFilter` reads DISTINCT over the whole filtered table): at a
million calls that is a page nobody waits for. These offer the few most recent
choices plus the one chosen, so a link from elsewhere (e.g. "Show calls" of an old
broadcast) still shows what it filters by.

Values from the URL that name nothing (an id beyond 64 bits, "-1", "x", a date at an
end of the calendar) list nothing, instead of failing in the database.
"""

from datetime import date, datetime

from django.contrib import admin
from django.utils.dateparse import parse_date, parse_datetime

from .bounds import FIRST_DAY, LAST_DAY, parse_id


class RecentChoicesFilter(admin.SimpleListFilter):
    """Filter on `field` (a foreign key's column, e.g. "broadcast_id") by a primary key.

    Subclasses set `title`, `parameter_name` and `field`, and write `recent()`:
    (pk, label) pairs, most recent first, from a query with a LIMIT (repeats are
    dropped here); and, if the chosen row's label needs it, `chosen_label(pk)`.
    """

    field: str
    shown = 10

    def recent(self):
        raise NotImplementedError

    def chosen_label(self, pk):
        return f"#{pk}"

    def chosen(self):
        return parse_id(self.value())

    def lookups(self, request, model_admin):
        choices = {}
        for pk, label in self.recent():
            if pk is not None and len(choices) < self.shown:
                choices.setdefault(pk, label)
        chosen = self.chosen()
        if chosen is not None and chosen not in choices:
            choices = {chosen: self.chosen_label(chosen), **choices}
        return [(str(pk), label) for pk, label in choices.items()]

    def has_output(self):
        # Shown (and so applied) whenever the URL chooses, even with nothing recent to offer.
        return bool(self.value()) or super().has_output()

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        chosen = self.chosen()
        if chosen is None:
            return queryset.none()  # no row has that id
        return queryset.filter(**{self.field: chosen})


class RecentRelatedFilter(RecentChoicesFilter):
    """Choices: the rows the newest `read` rows of `newest_of` point to through `via`, plus the chosen one.

    E.g. the voice messages of the newest broadcasts (`newest_of = Broadcast`, `via =
    "voice_message"`): one query on the smaller table, by its primary key, with a LIMIT.
    The newest rows often repeat a choice, so `read` is a few times `shown`.
    """

    newest_of: type
    via: str
    label_field: str
    read = 50

    def recent(self):
        newest = self.newest_of.objects.filter(**{f"{self.via}__isnull": False}).order_by("-pk")
        return newest.values_list(f"{self.via}_id", f"{self.via}__{self.label_field}")[: self.read]

    def chosen_label(self, pk):
        related = self.newest_of._meta.get_field(self.via).related_model
        label = related.objects.filter(pk=pk).values_list(self.label_field, flat=True).first()
        return label or super().chosen_label(pk)


class BoundedDateFieldListFilter(admin.DateFieldListFilter):
    """Django's date filter ("today", "past 7 days", ...), whose bounds from the URL must be real days.

    Django passes `?queued_at__gte=0001-01-01` to the database as it is, where turning
    it into UTC overflows; a bound outside FIRST_DAY..LAST_DAY (or not a date) lists nothing.
    """

    def queryset(self, request, queryset):
        for name in (self.lookup_kwarg_since, self.lookup_kwarg_until):
            values = self.used_parameters.get(name)
            if values is None:
                continue
            if not all(_day_within_bounds(text) for text in (values if isinstance(values, list) else [values])):
                return queryset.none()
        return super().queryset(request, queryset)


def _day_within_bounds(text) -> bool:
    try:
        moment = parse_datetime(str(text)) or parse_date(str(text))
    except ValueError:
        return False
    if isinstance(moment, datetime):
        moment = moment.date()
    return isinstance(moment, date) and FIRST_DAY <= moment <= LAST_DAY
