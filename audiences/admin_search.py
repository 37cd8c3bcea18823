"""Admin search that finds a phone number however staff type it."""

from django.db.models import Q

from .phones import InvalidNumber, normalize


class NumberSearchMixin:
    """`number_fields`: the fields a search term that reads as a phone number is looked up in.

    "+7 (999) 123-45-67" finds 79991234567, besides what `search_fields` find.
    """

    number_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            number = normalize(search_term)
        except InvalidNumber:
            return results, may_have_duplicates
        same_number = Q()
        for field in self.number_fields:
            same_number |= Q(**{field: number})
        return results | queryset.filter(same_number), may_have_duplicates
