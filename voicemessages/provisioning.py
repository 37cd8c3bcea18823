"""Keeping Exolve and the portal's table in step when the portal itself changes Exolve.

Exolve and the database cannot share a transaction, so the rules are:

- ``provisioning_guard()``: every voice message created at Exolve inside it ends up
  either with a row in the portal's table or deleted at Exolve again once the block is
  left (a form validated but never saved, a local write that failed, a transaction that
  rolled back). If that Delete fails too, an ``OrphanedVoiceMessage`` records it.
  Wrap it *around* the transaction (the admin wraps its add/change view), so that a
  rollback has happened by the time the guard checks.
- The old copy of a re-provisioned message is deleted only after the new id is
  committed (``transaction.on_commit``), so a rollback never leaves a row pointing at a
  deleted message.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, DatabaseError, transaction

from exolve_portal.exolve_connection import get_client

from .remote import delete_at_exolve

logger = logging.getLogger(__name__)


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


def delete_or_record(exolve_id: str, name: str, *, reason: str, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Delete ``exolve_id`` at Exolve; if that fails, record it as left at Exolve.

    Returns True when it is gone at Exolve. Never raises an ExolveError.
    """
    from .models import OrphanedVoiceMessage

    result = delete_at_exolve(get_client(), exolve_id)
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
