"""What can go wrong when the portal keeps a voice message in step with Exolve.

Each exception carries the Exolve error behind it (``exolve_error``) and a message for
staff (``user_message``), already translated into the active language.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from exolve_portal.exolve import errors

if TYPE_CHECKING:
    from .models import VoiceMessage


def explain(error: errors.ExolveError) -> str:
    """The plain-language explanation of an Exolve error, in the active language."""
    return _(error.explanation)


class VoiceMessageError(Exception):
    """Root of this app's errors."""

    def __init__(self, user_message: str, exolve_error: errors.ExolveError | None = None):
        self.user_message = user_message
        self.exolve_error = exolve_error
        super().__init__(user_message)


class ProvisioningError(VoiceMessageError):
    """Create at Exolve failed; nothing was saved in the portal.

    ``field`` names the form field the reason concerns (None: the whole form).
    ``ambiguous`` is True when Exolve may have created the message anyway (a timeout, a
    dropped connection): the portal does not retry, and the next sync picks it up.
    """

    def __init__(self, user_message: str, exolve_error: errors.ExolveError, *, field: str | None, ambiguous: bool):
        super().__init__(user_message, exolve_error)
        self.field = field
        self.ambiguous = ambiguous

    @classmethod
    def from_exolve(cls, error: errors.ExolveError) -> ProvisioningError:
        if isinstance(error, errors.MediaNotFoundError):
            return cls(explain(error), error, field="media_id", ambiguous=False)
        if isinstance(error, errors.RateLimitedError):
            seconds = max(1, math.ceil(error.retry_after))
            message = ngettext(
                "Exolve is busy: nothing was created. Try again in %(seconds)d second.",
                "Exolve is busy: nothing was created. Try again in %(seconds)d seconds.",
                seconds,
            ) % {"seconds": seconds}
            return cls(message, error, field=None, ambiguous=False)
        if error.may_have_reached:
            message = _(
                "Exolve did not confirm the new voice message, so the portal cannot tell whether it "
                "was created there. Nothing was saved here. Do not create it again: use “Sync from "
                "Exolve” in a minute; if Exolve did create it, it will appear in the list."
            )
            # Not explain(error): its "try again" is the wrong advice for a Create.
            return cls(message, error, field=None, ambiguous=True)
        return cls(
            _("Exolve did not create the voice message: %(reason)s Nothing was saved.") % {"reason": explain(error)},
            error,
            field=None,
            ambiguous=False,
        )


class VoiceMessageChangedMeanwhile(VoiceMessageError):
    """The row was changed (or deleted) since this copy was loaded; nothing was saved.

    Any message this save created at Exolve is deleted there again (by the
    provisioning guard, since no row holds its id).
    """

    def __init__(self, voice_message: VoiceMessage):
        self.voice_message = voice_message
        super().__init__(changed_meanwhile_message())


def changed_meanwhile_message() -> str:
    return _("This voice message was changed by someone else meanwhile; reload it and make your change again.")


class VoiceMessageDeleteError(VoiceMessageError):
    """Delete at Exolve failed (for a reason other than "already gone"); the row was kept."""

    def __init__(self, voice_message: VoiceMessage, exolve_error: errors.ExolveError):
        self.voice_message = voice_message
        super().__init__(
            not_deleted_message(voice_message.name, exolve_error.explanation, exolve_error.may_have_reached),
            exolve_error,
        )


def not_deleted_message(name: str, explanation: str, may_have_reached: bool) -> str:
    """Why one voice message was not deleted, in the active language.

    ``explanation`` is an Exolve error's untranslated explanation (so a background job
    can store it and the page translate it for whoever reads it).
    """
    if may_have_reached:
        detail = _("It may or may not have been deleted at Exolve; try again to find out.")
    else:
        detail = _("It is still at Exolve.")
    return _("“%(name)s” was not deleted: %(reason)s %(detail)s") % {
        "name": name,
        "reason": _(explanation),
        "detail": detail,
    }


class BulkDeleteError(VoiceMessageDeleteError):
    """Some messages of a bulk deletion could not be deleted; ``report`` says which.

    Raised by ``VoiceMessage.objects.filter(...).delete()`` after every message was tried.
    """

    def __init__(self, report):
        self.report = report
        first_message, first_error = report.failed[0]
        super().__init__(first_message, first_error.exolve_error)
        self.user_message = ngettext(
            "%(failed)d of %(total)d voice message was not deleted; the first: %(first)s",
            "%(failed)d of %(total)d voice messages were not deleted; the first: %(first)s",
            report.total,
        ) % {
            "failed": len(report.failed),
            "total": report.total,
            "first": first_error.user_message,
        }
        self.args = (self.user_message,)


class SyncUnavailableError(VoiceMessageError):
    """Exolve could not be asked for its list (unreachable, key refused, ...): nothing changed here."""

    def __init__(self, exolve_error: errors.ExolveError):
        super().__init__(sync_unavailable_message(exolve_error.explanation), exolve_error)


def sync_unavailable_message(explanation: str) -> str:
    """A sync that could not get Exolve's list, in the active language (``explanation`` untranslated)."""
    return _("Could not get the list of voice messages from Exolve: %(reason)s Nothing was changed.") % {
        "reason": _(explanation)
    }
