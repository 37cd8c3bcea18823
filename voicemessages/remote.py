"""Deleting a voice message at Exolve: the one place that decides what a failed Delete means.

Every deletion (a message deleted in the admin, a bulk delete, the old copy of a
re-provisioned message, a Create left without a row, a retry of one left at Exolve)
goes through ``delete_at_exolve``, so "already gone" is decided once.
"""

from __future__ import annotations

from dataclasses import dataclass

from exolve_portal.exolve import errors

# The only answer of Delete that means the message is already gone: its documented
# 404 "error getting application", as errors.error_for_response classifies it. An
# undocumented 404 (an HTML page of a proxy or a wrong base URL) or any other failure
# says nothing about the message, so it is never taken as deleted.
GONE = (errors.ApplicationNotFoundError,)


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


def delete_at_exolve(client, exolve_id: str) -> DeletionResult:
    """Delete ``exolve_id`` at Exolve with ``client``; never raises an ExolveError."""
    try:
        client.delete_voice_message(exolve_id)
    except errors.ExolveError as error:
        return DeletionResult.from_error(error)
    return DeletionResult(deleted=True)
