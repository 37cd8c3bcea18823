"""What a sync of caller numbers did, in plain words (the command, the job's page)."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def summary_text(counts: dict) -> str:
    return _("%(created)d new, %(updated)d changed, %(unchanged)d unchanged, %(gone)d no longer at Exolve") % counts


def disabled_text(count: int) -> str:
    return ngettext(
        "%(count)d number that staff could send from may no longer be used (gone from Exolve, or it cannot "
        "call out any more): it is disabled.",
        "%(count)d numbers that staff could send from may no longer be used (gone from Exolve, or they cannot "
        "call out any more): they are disabled.",
        count,
    ) % {"count": count}


def unavailable_text(explanation: str) -> str:
    return _("The caller numbers could not be read from Exolve; nothing was changed. %(reason)s") % {
        "reason": _(explanation)
    }
