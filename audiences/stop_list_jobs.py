"""The background job of a long stop-list import (more than STOP_LIST_IN_REQUEST numbers).

The admin's import page records the numbers read from the pasted text or the file on the
job and shows its progress page; ``jobs.tasks.run_job`` runs it in ``manage.py db_worker``
through the same `import_numbers` as a short import, in the name of the one who started
it (so each addition is in the audit trail). Once done, the numbers are dropped from the
job: only the counts and the first unreadable values are kept.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import ngettext, pgettext_lazy

from jobs.models import Job
from jobs.registry import register
from jobs.tasks import start_job

from .models import StopListReason
from .phones import NotCallable
from .stop_list_files import import_numbers

IMPORT = "calls.stop_list_import"
# At most this many unreadable values are kept on a job and listed on its page.
INVALID_KEPT = 100


def start_import(values, *, reason: str, note: str, user, return_url: str = "") -> Job:
    """Record the import as a job (its values as data) and queue it; returns the job."""
    stored = [[value.raw, value.reason] if isinstance(value, NotCallable) else value for value in values]
    job, _started = start_job(
        IMPORT,
        user=user,
        params={"values": stored, "reason": reason, "note": note, "language": translation.get_language()},
        total=len(stored),
        return_url=return_url,
    )
    return job


def describe_import(result: dict) -> list[tuple[str, str]]:
    added, listed, invalid = result["added"], result["already_listed"], result["invalid_count"]
    lines = [
        (
            "success" if added else "info",
            ngettext("Added %(count)d number to the stop list.", "Added %(count)d numbers to the stop list.", added)
            % {"count": added},
        )
    ]
    if listed:
        lines.append(
            (
                "info",
                ngettext(
                    "%(count)d number was already on the stop list.",
                    "%(count)d numbers were already on the stop list.",
                    listed,
                )
                % {"count": listed},
            )
        )
    if duplicates := result["duplicates"]:
        lines.append(
            (
                "info",
                ngettext(
                    "%(count)d number was given more than once and counted once.",
                    "%(count)d numbers were given more than once and counted once.",
                    duplicates,
                )
                % {"count": duplicates},
            )
        )
    if invalid:
        lines.append(
            (
                "warning",
                ngettext(
                    "%(count)d number could not be read and was not added.",
                    "%(count)d numbers could not be read and were not added.",
                    invalid,
                )
                % {"count": invalid},
            )
        )
        # The reasons as the worker wrote them, in the language of the one who started the import.
        lines += [("error", f"{raw}: {reason}") for raw, reason in result["invalid"]]
        if more := invalid - len(result["invalid"]):
            lines.append(("error", ngettext("and %(count)d more.", "and %(count)d more.", more) % {"count": more}))
    return lines


@register(IMPORT, title=pgettext_lazy("background job", "Import numbers to the stop list"), describe=describe_import)
def run_import(job, progress) -> dict:
    params = job.params
    values = [NotCallable(*value) if isinstance(value, list) else value for value in params["values"]]
    with translation.override(params.get("language")):
        result = import_numbers(
            values,
            reason=params.get("reason") or StopListReason.ASKED,
            note=params.get("note") or "",
            user=job.started_by,
            progress=progress,
        )
    # The numbers are not kept on the job once they are on the list.
    Job.objects.filter(pk=job.pk).update(
        params={**{k: v for k, v in params.items() if k != "values"}, "count": len(values)}
    )
    return {
        "added": result.added,
        "already_listed": result.already_listed,
        "duplicates": result.duplicates,
        "invalid_count": len(result.invalid),
        "invalid": [list(item) for item in result.invalid[:INVALID_KEPT]],
    }
