"""Mirroring Exolve's voice messages into the portal's table (the command and the admin button).

``sync_voice_messages()`` asks GetList, then GetInfo for every id with bounded
concurrency (``threads.InFlight``; the client is thread-safe; database writes stay in
the calling thread), stores the answers through
``VoiceMessage.bulk_update_or_create_from_exolve`` (which never calls Create), marks
rows Exolve no longer has and, with ``prune``, deletes those locally. A row counts as
missing only when GetInfo answers "not found" for it.
``refresh_voice_messages()`` does the GetInfo part for chosen rows.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from exolve_portal.exolve import errors
from exolve_portal.exolve.client import ExolveClient, VoiceMessageInfo
from exolve_portal.exolve_connection import get_client
from exolve_portal.threads import InFlight

from .exceptions import SyncUnavailableError
from .models import VoiceMessage

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)
_CHUNK = 500  # rows per UPDATE ... WHERE pk IN (...)


@dataclass
class KeptRow:
    """A row missing at Exolve that prune kept because other records point to it."""

    pk: int
    name: str
    exolve_id: str
    related: dict[str, int]  # verbose name of the related records -> how many


@dataclass
class SyncResult:
    """What a sync did (or, with ``dry_run``, would do). Lists hold Exolve ids."""

    dry_run: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # here, but no longer at Exolve
    newly_missing: list[str] = field(default_factory=list)
    failed: dict[str, errors.ExolveError] = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)
    kept: list[KeptRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        """0: everything synced; 1: some messages could not be read."""
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "missing": len(self.missing),
            "failed": len(self.failed),
        }

    def summary(self) -> str:
        """The one-line summary: "created N, updated N, unchanged N, missing N, failed N"."""
        return summary_text(self.counts())


def summary_text(counts: dict[str, int]) -> str:
    """ "created N, updated N, unchanged N, missing N, failed N" from ``SyncResult.counts()``."""
    return (
        _("created %(created)d, updated %(updated)d, unchanged %(unchanged)d, missing %(missing)d, failed %(failed)d")
        % counts
    )


def fetch_infos(
    client: ExolveClient, ids: list[str], *, max_in_flight: int, progress: Progress | None = None
) -> tuple[dict[str, VoiceMessageInfo], set[str], dict[str, errors.ExolveError]]:
    """GetInfo for each id, at most ``max_in_flight`` at once.

    Returns (answers by id, ids Exolve says are gone, ids that failed -> error).
    """
    infos: dict[str, VoiceMessageInfo] = {}
    gone: set[str] = set()
    failed: dict[str, errors.ExolveError] = {}
    if not ids:
        return infos, gone, failed
    with InFlight(client.get_voice_message, min(max_in_flight, len(ids)), name="exolve-sync") as pool:
        for exolve_id in ids:
            pool.submit(exolve_id)
        done = 0
        while done < len(ids):
            for exolve_id, answer in pool.drain(None):
                done += 1
                if isinstance(answer, errors.ExolveError):
                    if errors.is_gone(answer):
                        gone.add(exolve_id)
                    else:
                        logger.warning("GetInfo %s failed: %s", exolve_id, answer)
                        failed[exolve_id] = answer
                elif isinstance(answer, Exception):
                    raise answer  # a surprise, not an answer: the sync stops
                elif answer.id != exolve_id:
                    failed[exolve_id] = errors.MalformedResponseError(
                        f"asked for {exolve_id!r}, got {answer.id!r}", status=200, endpoint="voice-message/v1/GetInfo"
                    )
                else:
                    infos[exolve_id] = answer
                if progress:
                    progress(done, len(ids))
    return infos, gone, failed


def sync_voice_messages(
    *,
    dry_run: bool = False,
    prune: bool = False,
    client: ExolveClient | None = None,
    max_in_flight: int | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Make the table mirror Exolve; see the module docstring.

    Raises SyncUnavailableError (and changes nothing) when GetList fails. A GetInfo
    that fails leaves that row as it was and is listed in ``result.failed``.
    """
    client = client or get_client()
    max_in_flight = max_in_flight or settings.EXOLVE_MAX_IN_FLIGHT
    started = timezone.now()
    try:
        listed = client.list_voice_messages()
    except errors.ExolveError as error:
        raise SyncUnavailableError(error) from error
    listed_ids = list(dict.fromkeys(summary.id for summary in listed))  # unique, in Exolve's order
    # Rows here that GetList did not mention are asked about too: only Exolve's
    # "not found" marks a row missing, never a short or odd list.
    local_ids = VoiceMessage.objects.values_list("exolve_id", flat=True)
    unlisted = sorted(set(local_ids) - set(listed_ids))
    ids = listed_ids + unlisted

    infos, gone, failed = fetch_infos(client, ids, max_in_flight=max_in_flight, progress=progress)

    result = SyncResult(dry_run=dry_run, failed=failed)
    existing = {row.exolve_id: row for row in VoiceMessage.objects.all()}  # one query, after the slow part
    answered = [infos[exolve_id] for exolve_id in ids if exolve_id in infos]
    with transaction.atomic():
        _rows, outcomes = VoiceMessage.bulk_update_or_create_from_exolve(
            answered, existing=existing, now=started, dry_run=dry_run
        )
        for info, outcome in zip(answered, outcomes, strict=True):
            getattr(result, outcome).append(info.id)
        _mark_missing(
            result,
            [existing[exolve_id] for exolve_id in ids if exolve_id in gone and exolve_id in existing],
            now=started,
        )
        if prune:
            _prune(result, existing)
    return result


def _mark_missing(result: SyncResult, rows: list[VoiceMessage], *, now: datetime) -> None:
    """Mark the rows Exolve said it does not have."""
    newly = []
    for row in rows:
        result.missing.append(row.exolve_id)
        if row.missing_since is None:
            newly.append(row.pk)
            result.newly_missing.append(row.exolve_id)
    if result.dry_run:
        return
    gone_ids = [row.exolve_id for row in rows]
    for start in range(0, len(newly), _CHUNK):
        # exolve_id too: a row re-provisioned meanwhile holds a new copy, which is not gone.
        VoiceMessage.objects.filter(
            pk__in=newly[start : start + _CHUNK], exolve_id__in=gone_ids, missing_since__isnull=True
        ).update(missing_since=now, version=F("version") + 1)


def _prune(result: SyncResult, existing: dict[str, VoiceMessage]) -> None:
    """Delete locally the rows missing at Exolve, except those other records point to."""
    rows = [existing[exolve_id] for exolve_id in result.missing]
    related = related_counts([row.pk for row in rows])
    to_delete = []
    for row in rows:
        if related.get(row.pk):
            result.kept.append(KeptRow(row.pk, row.name, row.exolve_id, dict(related[row.pk])))
        else:
            to_delete.append(row.pk)
            result.pruned.append(row.exolve_id)
    if result.dry_run:
        return
    for start in range(0, len(to_delete), _CHUNK):
        # Already gone at Exolve: delete here only.
        VoiceMessage.objects.filter(pk__in=to_delete[start : start + _CHUNK]).delete_locally()


def related_counts(pks: Iterable[int]) -> dict[int, Counter]:
    """pk -> {verbose name of related records (e.g. "calls"): count}, for rows that have any.

    Looks at every model with a ForeignKey to VoiceMessage (calls and broadcasts, when
    the calls app is installed), so history is never dropped silently.
    """
    pks = list(pks)
    counts: dict[int, Counter] = {}
    if not pks:
        return counts
    for relation in VoiceMessage._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        model, field_name = relation.related_model, relation.field.name
        label = str(model._meta.verbose_name_plural)
        for start in range(0, len(pks), _CHUNK):
            rows = (
                model._default_manager.filter(**{f"{field_name}__in": pks[start : start + _CHUNK]})
                .values(field_name)
                .annotate(n=Count("pk"))
                .values_list(field_name, "n")
            )
            for pk, n in rows:
                counts.setdefault(pk, Counter())[label] += n
    return counts


@dataclass
class RefreshResult:
    """What a refresh of chosen messages did. Lists hold the rows."""

    updated: list[VoiceMessage] = field(default_factory=list)
    unchanged: list[VoiceMessage] = field(default_factory=list)
    missing: list[VoiceMessage] = field(default_factory=list)
    failed: list[tuple[VoiceMessage, errors.ExolveError]] = field(default_factory=list)


def refresh_voice_messages(queryset, *, client: ExolveClient | None = None) -> RefreshResult:
    """GetInfo for each chosen row and store the answers; mark the ones Exolve no longer has.

    A failed GetInfo leaves that row as it was.
    """
    client = client or get_client()
    rows = {row.exolve_id: row for row in queryset}
    now = timezone.now()
    infos, gone, failed = fetch_infos(client, list(rows), max_in_flight=settings.EXOLVE_MAX_IN_FLIGHT)
    result = RefreshResult(failed=[(rows[exolve_id], error) for exolve_id, error in failed.items()])
    with transaction.atomic():
        answered = list(infos.values())
        stored, outcomes = VoiceMessage.bulk_update_or_create_from_exolve(answered, existing=rows, now=now)
        for row, outcome in zip(stored, outcomes, strict=True):
            (result.unchanged if outcome == "unchanged" else result.updated).append(row)
        for exolve_id in gone:
            row = rows[exolve_id]
            result.missing.append(row)
            if row.missing_since is None:
                row.missing_since = now
                VoiceMessage.objects.filter(pk=row.pk, exolve_id=exolve_id).update(
                    missing_since=now, version=F("version") + 1
                )
    return result
