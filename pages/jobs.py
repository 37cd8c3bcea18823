"""The background job of the pages: large exports of calls.

Staff exporting more than ``EXOLVE_EXPORT_IN_REQUEST`` calls get a progress page, which
then offers the file. ``jobs.tasks.run_job`` runs it in ``manage.py db_worker``.
"""

from __future__ import annotations

import hashlib
import json

from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext_lazy

from calls.models import Call
from jobs.registry import register

from . import exports
from .filters import CallFilterForm

# The job's kind, stored on its rows: the name it had before the pages were an app.
EXPORT = "calls.export"


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
