"""The report of a contacts import, and the background job of a long one.

An import of more than CONTACTS_IN_REQUEST rows is recorded as a job (its rows as data)
and its progress page shown; ``manage.py db_worker`` runs it through the same
`contacts_import.merge` as a short one, in the name of the one who started it. Once
done the rows are dropped from the job: only the counts and the first refused rows stay.
"""

from __future__ import annotations

from dataclasses import asdict

from django.utils import translation
from django.utils.translation import ngettext, pgettext_lazy

from jobs.models import Job
from jobs.registry import register
from jobs.tasks import start_job

from .contact_models import ContactList
from .contacts_import import ConsentGiven, ImportRow, MergeResult, merge

IMPORT = "audiences.contacts_import"


def start_import(rows: list[ImportRow], contact_list, *, user, consent=None, return_url: str = "") -> Job:
    job, _started = start_job(
        IMPORT,
        user=user,
        params={
            "list": contact_list.pk,
            "rows": [asdict(row) for row in rows],
            "consent": consent.as_params() if consent else None,
            "language": translation.get_language(),
        },
        total=len(rows),
        return_url=return_url,
    )
    return job


def result_data(result: MergeResult) -> dict:
    return {**asdict(result), "refused": [list(item) for item in result.refused]}


def describe_import(result: dict) -> list[tuple[str, str]]:
    """The import's counts and its refused rows, in plain words."""
    added, updated, unchanged = result["added"], result["updated"], result["unchanged"]
    joined, consents = result["joined"], result["consents"]
    lines = [
        ("success" if added else "info", ngettext("%(count)d contact added.", "%(count)d contacts added.", added)),
        ("info", ngettext("%(count)d contact updated.", "%(count)d contacts updated.", updated)),
        ("info", ngettext("%(count)d contact unchanged.", "%(count)d contacts unchanged.", unchanged)),
        ("info", ngettext("%(count)d contact put in the list.", "%(count)d contacts put in the list.", joined)),
    ]
    counts = [added, updated, unchanged, joined]
    if consents:
        lines.append(("success", ngettext("%(count)d consent recorded.", "%(count)d consents recorded.", consents)))
        counts.append(consents)
    lines = [(level, text % {"count": count}) for (level, text), count in zip(lines, counts, strict=True)]
    if stop_listed := result["consents_stop_listed"]:
        lines.append(
            (
                "warning",
                ngettext(
                    "%(count)d number is on the stop list: no consent was recorded for it.",
                    "%(count)d numbers are on the stop list: no consent was recorded for them.",
                    stop_listed,
                )
                % {"count": stop_listed},
            )
        )
    if refused := result["refused_count"]:
        lines.append(
            (
                "warning",
                ngettext(
                    "%(count)d row was refused (listed below with the reason); correct it and import it again.",
                    "%(count)d rows were refused (listed below with the reason); correct them and import them again.",
                    refused,
                )
                % {"count": refused},
            )
        )
        row_word = pgettext_lazy("a row of a file", "Row")
        lines += [("error", f"{row_word} {row}: {raw} — {reason}") for row, raw, reason in result["refused"]]
        if more := refused - len(result["refused"]):
            lines.append(("error", ngettext("and %(count)d more.", "and %(count)d more.", more) % {"count": more}))
    return lines


@register(IMPORT, title=pgettext_lazy("background job", "Import contacts to a list"), describe=describe_import)
def run_import(job, progress) -> dict:
    params = job.params
    contact_list = ContactList.objects.get(pk=params["list"])
    rows = [ImportRow(**row) for row in params["rows"]]
    with translation.override(params.get("language")):
        result = merge(
            rows,
            contact_list,
            user=job.started_by,
            consent=ConsentGiven.from_params(params.get("consent")),
            progress=progress,
        )
    # The rows are not kept on the job once merged.
    Job.objects.filter(pk=job.pk).update(
        params={**{k: v for k, v in params.items() if k != "rows"}, "count": len(rows)}
    )
    return result_data(result)
