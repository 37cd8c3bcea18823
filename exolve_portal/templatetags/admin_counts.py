"""How many rows an admin list holds, said with the model's name in the right plural form.

Django's admin writes "6 рассылки" (the name's plural whatever the number); Russian needs
one of three forms ("1 рассылка", "2 рассылки", "6 рассылок"), which only `ngettext` gives.
"""

from django import template
from django.utils.translation import gettext, ngettext_lazy

register = template.Library()

COUNTS = {
    "admin.logentry": ngettext_lazy("%(count)d log entry", "%(count)d log entries", "count"),
    "auth.user": ngettext_lazy("%(count)d user", "%(count)d users", "count"),
    "auth.group": ngettext_lazy("%(count)d group", "%(count)d groups", "count"),
    "axes.accessattempt": ngettext_lazy("%(count)d access attempt", "%(count)d access attempts", "count"),
    "axes.accesslog": ngettext_lazy("%(count)d login", "%(count)d logins", "count"),
    "axes.accessfailurelog": ngettext_lazy("%(count)d failed login", "%(count)d failed logins", "count"),
    "django_tasks_database.dbtaskresult": ngettext_lazy("%(count)d task", "%(count)d tasks", "count"),
    "voicemessages.voicemessage": ngettext_lazy("%(count)d voice message", "%(count)d voice messages", "count"),
    "voicemessages.orphanedvoicemessage": ngettext_lazy(
        "%(count)d voice message left at Exolve", "%(count)d voice messages left at Exolve", "count"
    ),
    "audiences.stoplistentry": ngettext_lazy(
        "%(count)d number in the stop list", "%(count)d numbers in the stop list", "count"
    ),
    "calls.broadcast": ngettext_lazy("%(count)d broadcast", "%(count)d broadcasts", "count"),
    "calls.call": ngettext_lazy("%(count)d call", "%(count)d calls", "count"),
}


@register.simple_tag
def result_count(cl) -> str:
    """ "6 рассылок" for the list `cl`; "Всего: 6" for a model not named above."""
    text = COUNTS.get(cl.opts.label_lower)
    if text is None:
        return gettext("Total: %(count)d") % {"count": cl.result_count}
    return text % {"count": cl.result_count}
