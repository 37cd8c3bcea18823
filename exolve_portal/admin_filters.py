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
