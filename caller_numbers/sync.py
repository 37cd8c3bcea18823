"""Mirroring the application's numbers from Exolve (number/customer/v1/GetList).

One function, called alike by `manage.py sync_caller_numbers`, the admin's button (a
background job, `jobs.py`) and the first start (`--if-never-synced`). Exolve is read
first, entirely; only then is anything written, in one transaction: an Exolve error
changes nothing. A number Exolve no longer lists is kept (its broadcasts name it), marked
gone and disabled; one that can no longer call out is disabled. What Managers decide (the
label) is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from exolve_portal.exolve_connection import get_client

from .models import EXOLVE_COLUMNS, CallerNumber


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # newly no longer listed by Exolve
    disabled: list[str] = field(default_factory=list)  # were enabled, may no longer be used

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("created", "updated", "unchanged", "gone", "disabled")}


def never_synced() -> bool:
    """No number was ever mirrored (what the first start looks at)."""
    return not CallerNumber.objects.exists()


def sync_caller_numbers(client=None, *, now=None) -> SyncResult:
    """Read every number from Exolve, then create, update and mark gone here. ExolveError: nothing changed."""
    owned = (client or get_client()).list_numbers()
    now = now or timezone.now()
    result = SyncResult()
    with transaction.atomic():
        rows = {row.number: row for row in CallerNumber.objects.select_for_update()}
        new, changed = [], []
        for item in owned:
            facts = CallerNumber.exolve_fields(item)
            exolve_created_at, raw = item.create_date, _json_safe(item.raw)
            row = rows.get(item.number_name)
            if row is None:
                new.append(
                    CallerNumber(
                        number=item.number_name[:20],
                        exolve_created_at=exolve_created_at,
                        raw=raw,
                        first_seen_at=now,
                        last_seen_at=now,
                        **facts,
                    )
                )
                result.created.append(item.number_name)
                continue
            differs = any(getattr(row, name) != value for name, value in facts.items()) or row.gone_since
            (result.updated if differs else result.unchanged).append(row.number)
            for name, value in facts.items():
                setattr(row, name, value)
            row.exolve_created_at, row.raw, row.last_seen_at, row.gone_since = exolve_created_at, raw, now, None
            if row.enabled and not row.can_call_out:
                row.enabled = False
                result.disabled.append(row.number)
            changed.append(row)
        listed = {item.number_name for item in owned}
        for row in rows.values():
            if row.number not in listed and row.gone_since is None:
                row.gone_since = now
                result.gone.append(row.number)
                if row.enabled:
                    row.enabled = False
                    result.disabled.append(row.number)
                changed.append(row)
        CallerNumber.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
        columns = [*EXOLVE_COLUMNS, "exolve_created_at", "raw", "last_seen_at", "gone_since", "enabled"]
        CallerNumber.objects.bulk_update(changed, columns, batch_size=500)
    return result


def _json_safe(raw: dict) -> dict:
    """Exolve's row as it came (it is parsed JSON already); a non-dict is kept as nothing."""
    return raw if isinstance(raw, dict) else {}
