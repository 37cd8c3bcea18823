"""Admin list filters whose choices come from a short, indexed query, never from a whole table.

Django's default filter for a foreign key lists every row of the related table (and
`RelatedOnlyFieldListFilter` reads DISTINCT over the whole filtered table): at a
million calls that is a page nobody waits for. These offer the few most recent
choices plus the one chosen, so a link from elsewhere (e.g. "Show calls" of an old
broadcast) still shows what it filters by.
"""

from django.contrib import admin


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
        value = self.value()
        return int(value) if value and value.isdigit() else None

    def lookups(self, request, model_admin):
        choices = {}
        for pk, label in self.recent():
            if pk is not None and len(choices) < self.shown:
                choices.setdefault(pk, label)
        chosen = self.chosen()
        if chosen is not None and chosen not in choices:
            choices = {chosen: self.chosen_label(chosen), **choices}
        return [(str(pk), label) for pk, label in choices.items()]

    def queryset(self, request, queryset):
        chosen = self.chosen()
        if chosen is not None:
            return queryset.filter(**{self.field: chosen})
        return queryset


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
