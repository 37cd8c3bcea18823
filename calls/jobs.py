"""Background jobs of calls: refreshing the statistics of many calls, and large exports.

Staff refreshing more than ``EXOLVE_REFRESH_IN_REQUEST`` calls (the admin action, the
broadcast page's button) get a progress page instead of a request that waits on
Exolve; so do staff exporting more than ``EXOLVE_EXPORT_IN_REQUEST`` calls, whose page
then offers the file. ``jobs.tasks.run_job`` runs these in ``manage.py db_worker``.
"""

from __future__ import annotations

import hashlib
import json

from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext_lazy

from jobs.registry import register

from . import exports
from .filters import CallFilterForm
from .models import Call
from .statistics import refresh_calls, refreshed_message
from .tasks import schedule_refresh

REFRESH = "calls.refresh"
EXPORT = "calls.export"
# A job refreshes at most this many calls (the first, by id); a request at most the threshold.
REFRESH_JOB_LIMIT = 10_000
# At most this many per-call failures are kept on a job (the rest are counted).
FAILURES_KEPT = 200


def describe_refresh(result: dict) -> list[tuple[str, str]]:
    lines = [
        (
            "warning" if result["failed"] else "success",
            refreshed_message(result["refreshed"], result["finished"], result["failed"]),
        )
    ]
    # The reasons are the text stored on each call (its "error"), as the worker wrote it.
    lines += [("error", f"{destination}: {reason}") for destination, reason in result["errors"]]
    return lines


@register(REFRESH, title=pgettext_lazy("background job", "Refresh call statistics"), describe=describe_refresh)
def run_refresh(job, progress) -> dict:
    calls = list(
        Call.objects.filter(pk__in=job.params["pks"], call_id__isnull=False)
        .only("pk", "call_id", "sent_at", "destination", "state")
        .order_by("pk")
    )
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        progress(done, len(calls))

    progress(0, len(calls))
    summary = refresh_calls(calls, progress=step)
    schedule_refresh()
    return {
        "refreshed": summary.refreshed,
        "finished": summary.finished,
        "failed": summary.failed,
        "errors": [list(error) for error in summary.errors[:FAILURES_KEPT]],
    }


# --- Export -------------------------------------------------------------------------------


def export_key(user, filters: dict, file_format: str) -> str:
    """The same person's export of the same calls in the same format: one running job at a time.

    `filters` are the filter form's applied (validated) values, so "?broadcast=01" and
    "?broadcast=1" are one export.
    """
    what = json.dumps([user.pk, file_format, {name: str(value) for name, value in filters.items()}], sort_keys=True)
    return f"{EXPORT}:{hashlib.sha256(what.encode()).hexdigest()[:40]}"


def describe_export(result: dict) -> list[tuple[str, str]]:
    text = ngettext("Exported %(count)d call.", "Exported %(count)d calls.", result["rows"]) % {"count": result["rows"]}
    if exports.saved_export(result["file"]) is None:
        return [("info", text + " " + gettext("The file has been deleted since; export again to get a new one."))]
    link = format_html('<a href="{}" id="job-download">{}</a>', result["url"], gettext("Download the file"))
    return [("success", format_html("{} {}", text, link))]


@register(EXPORT, title=pgettext_lazy("background job", "Export calls"), describe=describe_export)
def run_export(job, progress) -> dict:
    """Write the filtered calls to a file under EXOLVE_EXPORT_DIR, in the language of the one who asked."""
    params = job.params
    exports.remove_expired_exports()
    with translation.override(params.get("language")):
        queryset = CallFilterForm(params["filters"] or None).filter(Call.objects.all())
        total = job.total
        name, rows = exports.save_export(
            queryset, params["format"], stem="calls", progress=lambda done: progress(done, max(total, done))
        )
    return {
        "rows": rows,
        "file": name,
        "filename": params["filename"],
        "url": reverse("portal:calls_export_download", args=[job.pk]),
    }
