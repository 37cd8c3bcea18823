"""The sync of caller numbers as a background job (the admin's button), run by ``manage.py db_worker``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from exolve_portal.exolve.errors import ExolveError
from jobs.registry import JobFailed, register

from .sync import sync_caller_numbers
from .wording import disabled_text, summary_text, unavailable_text

SYNC = "caller_numbers.sync"


def describe_sync(result: dict) -> list[tuple[str, str]]:
    if "unavailable" in result:
        return [("error", unavailable_text(result["unavailable"]))]
    counts = result["counts"]
    lines = [("success", _("Caller numbers synced from Exolve: %(summary)s.") % {"summary": summary_text(counts)})]
    if counts.get("disabled"):
        lines.append(("warning", disabled_text(counts["disabled"])))
    return lines


@register(SYNC, title=pgettext_lazy("background job", "Sync caller numbers from Exolve"), describe=describe_sync)
def run_sync(job, progress) -> dict:
    try:
        result = sync_caller_numbers()
    except ExolveError as error:
        raise JobFailed({"unavailable": error.explanation}) from error
    progress(1, 1)
    return {"counts": result.counts()}
