"""`{{ zone|zone_label }}`: a time zone as staff name it ("Владивосток (UTC+10)")."""

from django import template

from exolve_portal import zone_names

register = template.Library()


@register.filter
def zone_label(name):
    return zone_names.zone_label(name)
