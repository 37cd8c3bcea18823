"""Keeping Exolve in step with the portal's voice messages: the one place that calls Exolve
for a message the portal creates, changes or deletes.

The public interface (what ``VoiceMessage.save()``/``delete()``, the queryset, the
admin and the jobs call):

- ``create_at_exolve(message)``: Create with the message's current values (validated
  first); returns ``Created``. On a changed message this is the new copy that
  replaces the old one (Exolve has no Update). Nothing is written here.
- ``replace_at_exolve(created, name, using=...)``: once the new copy's row is written,
  the old copy is deleted at Exolve after commit (so a rollback never leaves a row
  pointing at a deleted message); if that fails it is recorded as left at Exolve.
- ``delete_at_exolve(message)``: Delete; "already gone" counts as done. Returns
  ``Deleted`` or raises ``VoiceMessageDeleteError``. ``delete_each_at_exolve`` does so
  for many, concurrently, and reports per message.
- ``provisioning_guard()``: every message created at Exolve inside it ends up either
  with a row or deleted at Exolve again once the block is left (a form validated but
  never saved, a failed local write, a rolled-back transaction). If that Delete fails
  too, an ``OrphanedVoiceMessage`` records it. Wrap it *around* the transaction, so
  that a rollback has happened by the time the guard checks.
- ``delete_exolve_id(client, exolve_id)``: the one place that decides what a failed
  Delete means (``DeletionResult``); ``delete_or_record`` adds the record on failure.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, transaction
from django.utils import timezone

from exolve_portal.exolve import errors
from exolve_portal.exolve_connection import get_client
from exolve_portal.threads import in_current_language

from .exceptions import ProvisioningError, VoiceMessageDeleteError

if TYPE_CHECKING:
    from collections.abc import Callable

    from .models import VoiceMessage

logger = logging.getLogger(__name__)

# The only answer of Delete that means the message is already gone: its documented
# 404 "error getting application", as errors.error_for_response classifies it. An
# undocumented 404 (an HTML page of a proxy or a wrong base URL) or any other failure
# says nothing about the message, so it is never taken as deleted.
GONE = (errors.ApplicationNotFoundError,)


# --- Outcomes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    """A message just created at Exolve; ``replaces``: the old copy it stands in for."""

    exolve_id: str
    replaces: str | None = None


@dataclass(frozen=True)
class Deleted:
    """A message no longer at Exolve; ``already_gone``: Exolve said it had no such message."""

    already_gone: bool = False


@dataclass(frozen=True)
class DeletionResult:
    """What a Delete at Exolve did. ``deleted``: Exolve no longer has the message."""

    deleted: bool
    already_gone: bool = False  # Exolve answered that it had no such message
    error: errors.ExolveError | None = None  # why it may still be at Exolve

    @classmethod
    def from_error(cls, error: errors.ExolveError) -> DeletionResult:
        if isinstance(error, GONE):
            return cls(deleted=True, already_gone=True)
        return cls(deleted=False, error=error)


@dataclass
class BulkDeleteReport:
    """What a bulk deletion did, message by message."""

    deleted: list[VoiceMessage] = field(default_factory=list)
    failed: list[tuple[VoiceMessage, VoiceMessageDeleteError]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.deleted) + len(self.failed)


# --- Create and replace -------------------------------------------------------------------


def create_at_exolve(message: VoiceMessage) -> Created:
    """Create ``message`` at Exolve with its current values; the message then holds the new id.

    Validates first (ValidationError: nothing sent). Raises ProvisioningError when
    Exolve refuses or its answer is lost; never retries a Create that may have
    arrived. The row is not written here: ``message.save()`` does that (inside a
    ``provisioning_guard``, which undoes this Create if the row is never stored).
    """
    message.validate_for_exolve()
    try:
        new_id = get_client().create_voice_message(
            message.name, message.media_id, message.redirect_digit, message.redirect_number or None
        )
    except errors.ExolveError as error:
        raise ProvisioningError.from_exolve(error) from error
    track_created(new_id, message.name)
    earlier = message.exolve_pending
    created = Created(new_id, replaces=earlier.replaces if earlier else (message.exolve_id or None))
    message.exolve_pending = created
    message.exolve_id = new_id
    message.exolve_created_at = None  # Create answers only the id; a sync fills this in
    message.raw = {"id": new_id}
    message.synced_at = timezone.now()
    message.missing_since = None
    return created


def replace_at_exolve(created: Created, name: str, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Call once the row holding ``created`` is written: its old copy goes after commit."""
    if created.replaces:
        transaction.on_commit(
            partial(delete_or_record, created.replaces, name, reason="replaced", using=using), using=using
        )


# --- Delete ---------------------------------------------------------------------------------


def delete_exolve_id(client, exolve_id: str) -> DeletionResult:
    """Delete ``exolve_id`` at Exolve with ``client``; never raises an ExolveError."""
    try:
        client.delete_voice_message(exolve_id)
    except errors.ExolveError as error:
        return DeletionResult.from_error(error)
    return DeletionResult(deleted=True)


def delete_at_exolve(message: VoiceMessage) -> Deleted:
    """Delete ``message`` at Exolve ("not found" there counts as done); its row is not touched.

    Raises VoiceMessageDeleteError on any other failure.
    """
    if not message.exolve_id:
        return Deleted(already_gone=True)
    result = delete_exolve_id(get_client(), message.exolve_id)
    if not result.deleted:
        raise VoiceMessageDeleteError(message, result.error) from result.error
    return Deleted(already_gone=result.already_gone)


def delete_each_at_exolve(
    messages: list[VoiceMessage], progress: Callable[[int, int], None] | None = None
) -> BulkDeleteReport:
    """Delete each message at Exolve, up to ``EXOLVE_MAX_IN_FLIGHT`` at once; rows are not touched.

    One failure does not stop the rest. ``progress(done, total)``, if given, is called
    in this thread as answers come.
    """
    report = BulkDeleteReport()
    if not messages:
        return report
    workers = max(1, min(settings.EXOLVE_MAX_IN_FLIGHT, len(messages)))
    delete = in_current_language(_delete_or_error)  # its error text is for the reader
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, (message, error) in enumerate(zip(messages, pool.map(delete, messages), strict=True), start=1):
            if error is None:
                report.deleted.append(message)
            else:
                report.failed.append((message, error))
            if progress:
                progress(done, len(messages))
    return report


def _delete_or_error(message: VoiceMessage) -> VoiceMessageDeleteError | None:
    try:
        delete_at_exolve(message)
    except VoiceMessageDeleteError as error:
        return error
    return None


def delete_or_record(exolve_id: str, name: str, *, reason: str, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Delete ``exolve_id`` at Exolve; if that fails, record it as left at Exolve.

    Returns True when it is gone at Exolve. Never raises an ExolveError.
    """
    from .models import OrphanedVoiceMessage  # models import this module

    result = delete_exolve_id(get_client(), exolve_id)
    if result.deleted:
        return True
    logger.warning("Voice message %s (%r) is left at Exolve: %s", exolve_id, name, result.error)
    try:
        OrphanedVoiceMessage.objects.using(using).create(
            exolve_id=exolve_id, name=name[:255], reason=reason, error=str(result.error)
        )
    except DatabaseError:
        logger.exception("Could not record voice message %s left at Exolve", exolve_id)
    return False


# --- The guard --------------------------------------------------------------------------


@dataclass
class _Guard:
    using: str
    created: dict[str, str] = field(default_factory=dict)  # exolve_id -> name


_active_guard: ContextVar[_Guard | None] = ContextVar("voicemessage_provisioning_guard", default=None)


@contextmanager
def provisioning_guard(using: str = DEFAULT_DB_ALIAS):
    """See the module docstring. Re-entrant: an inner guard joins the outer one."""
    if _active_guard.get() is not None:
        yield
        return
    guard = _Guard(using)
    token = _active_guard.set(guard)
    try:
        yield
    finally:
        _active_guard.reset(token)
        _settle(guard)


def track_created(exolve_id: str, name: str) -> None:
    """Tell the active guard (if any) that ``exolve_id`` was just created at Exolve."""
    guard = _active_guard.get()
    if guard is not None:
        guard.created[exolve_id] = name


def _settle(guard: _Guard) -> None:
    """Delete at Exolve whatever was created under ``guard`` and has no row."""
    if not guard.created:
        return
    from .models import VoiceMessage  # models import this module

    connection = transaction.get_connection(guard.using)
    if connection.in_atomic_block and connection.needs_rollback:
        stored = set()  # the transaction is doomed: nothing in it will be kept
    else:
        try:
            stored = set(
                VoiceMessage.objects.using(guard.using)
                .filter(exolve_id__in=list(guard.created))
                .values_list("exolve_id", flat=True)
            )
        except DatabaseError:
            # Cannot tell; deleting might remove a stored message. A later sync shows
            # any leftover as a message that came from Exolve.
            logger.exception("Could not check which new voice messages were stored: %s", list(guard.created))
            return
    for exolve_id, name in guard.created.items():
        if exolve_id not in stored:
            delete_or_record(exolve_id, name, reason="not_stored", using=guard.using)
