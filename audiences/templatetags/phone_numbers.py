"""`{{ number|phone }}`: a stored number as people write it (`+7 916 123-00-16`)."""

from django import template

from audiences.phones import display_number

register = template.Library()


@register.filter
def phone(number) -> str:
    return display_number(number)
