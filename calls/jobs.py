"""The background job of calls: refreshing the statistics of many calls.

Staff refreshing more than ``EXOLVE_REFRESH_IN_REQUEST`` calls (the admin action, the
broadcast page's button) get a progress page instead of a request that waits on
Exolve. ``jobs.tasks.run_job`` runs it in ``manage.py db_worker``. The export job is
pages.jobs.
"""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from jobs.registry import register

from .models import Call
from .statistics import refresh_calls, refreshed_message
from .tasks import schedule_refresh

REFRESH = "calls.refresh"
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
