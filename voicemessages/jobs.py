"""Background jobs of voice messages: the sync from Exolve and bulk deletion.

Both run in ``manage.py db_worker`` (``jobs.tasks.run_job``), so the staff request that
starts them returns at once whatever Exolve's speed. Results are stored as data
(counts, names, untranslated Exolve explanations) and put into words when the
progress page is shown, in the viewer's language.
"""

from __future__ import annotations

from django.contrib.admin.models import DELETION, LogEntry
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from jobs.registry import JobFailed, register

from .exceptions import SyncUnavailableError, not_deleted_message, sync_unavailable_message
from .models import VoiceMessage
from .sync import summary_text, sync_voice_messages
from .wording import NAMES_SHOWN, quoted_names

SYNC = "voicemessages.sync"
DELETE = "voicemessages.delete"
# At most this many per-message failures are kept on a job (the rest are counted).
FAILURES_KEPT = 500


# --- Sync from Exolve -------------------------------------------------------------------


def describe_sync(result: dict) -> list[tuple[str, str]]:
    if "unavailable" in result:
        return [("error", sync_unavailable_message(result["unavailable"]))]
    counts = result["counts"]
    lines = [
        (
            "success" if not counts["failed"] else "warning",
            _("Synced from Exolve: %(summary)s.") % {"summary": summary_text(counts)},
        )
    ]
    if newly_missing := result.get("newly_missing", 0):
        lines.append(
            (
                "warning",
                ngettext(
                    "%(count)d voice message is no longer at Exolve; it is marked as missing.",
                    "%(count)d voice messages are no longer at Exolve; they are marked as missing.",
                    newly_missing,
                )
                % {"count": newly_missing},
            )
        )
    for exolve_id, explanation in result.get("failed", []):
        lines.append(
            (
                "error",
                _("Could not read voice message %(id)s from Exolve: %(reason)s")
                % {"id": exolve_id, "reason": _(explanation)},
            )
        )
    return lines


@register(SYNC, title=pgettext_lazy("background job", "Sync from Exolve"), describe=describe_sync)
def run_sync(job, progress) -> dict:
    try:
        result = sync_voice_messages(progress=progress)
    except SyncUnavailableError as error:
        raise JobFailed({"unavailable": error.exolve_error.explanation}) from error
    return {
        "counts": result.counts(),
        "newly_missing": len(result.newly_missing),
        "failed": [[exolve_id, error.explanation] for exolve_id, error in list(result.failed.items())[:FAILURES_KEPT]],
    }


# --- Bulk delete ------------------------------------------------------------------------


def describe_delete(result: dict) -> list[tuple[str, str]]:
    lines = []
    deleted = result["deleted_count"]
    if deleted:
        lines.append(
            (
                "success",
                ngettext(
                    "Deleted %(count)d voice message at Exolve and here: %(names)s.",
                    "Deleted %(count)d voice messages at Exolve and here: %(names)s.",
                    deleted,
                )
                % {
                    "count": deleted,
                    "names": quoted_names(result["deleted"], more=deleted - len(result["deleted"])),
                },
            )
        )
    for failure in result["failed"]:
        lines.append(("error", not_deleted_message(failure["name"], failure["reason"], failure["may_have_reached"])))
    if more := result["failed_count"] - len(result["failed"]):
        lines.append(
            (
                "error",
                ngettext(
                    "%(count)d more voice message was not deleted.",
                    "%(count)d more voice messages were not deleted.",
                    more,
                )
                % {"count": more},
            )
        )
    if gone := result.get("gone_meanwhile", 0):
        lines.append(
            (
                "info",
                ngettext(
                    "%(count)d voice message had already been deleted by someone else.",
                    "%(count)d voice messages had already been deleted by someone else.",
                    gone,
                )
                % {"count": gone},
            )
        )
    if not lines:
        lines.append(("info", _("Nothing was deleted.")))
    return lines


@register(DELETE, title=pgettext_lazy("background job", "Delete voice messages"), describe=describe_delete)
def run_delete(job, progress) -> dict:
    """Delete each chosen message at Exolve, then here; log what went, in the starter's name."""
    pks = job.params["pks"]
    queryset = VoiceMessage.objects.filter(pk__in=pks)
    report = queryset.delete_each(progress=progress)
    if report.deleted and job.started_by_id:
        # Logged after the fact, and only for what really went (as the admin does).
        LogEntry.objects.log_actions(user_id=job.started_by_id, queryset=report.deleted, action_flag=DELETION)
    return {
        "deleted_count": len(report.deleted),
        "deleted": [m.name for m in report.deleted[:NAMES_SHOWN]],
        "failed_count": len(report.failed),
        "failed": [
            {
                "name": message.name,
                "reason": error.exolve_error.explanation,
                "may_have_reached": error.exolve_error.may_have_reached,
            }
            for message, error in report.failed[:FAILURES_KEPT]
        ],
        "gone_meanwhile": len(pks) - report.total,
    }
