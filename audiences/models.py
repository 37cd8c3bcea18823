"""Who may be called: the stop list (do-not-call numbers), with why, who and when.

The model came from the calls app without its table moving (`db_table` keeps the old
name); its permissions, group assignments and audit entries moved with its content type
(migrations 0001 here and calls 0009).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from exolve_portal.fields import staff_member


class StopListReason(models.TextChoices):
    ASKED = "asked", _("asked not to be called")
    COMPLAINT = "complaint", _("complaint")
    WRONG_PERSON = "wrong_person", _("wrong person")
    OTHER = "other", _("other")


class StopListEntry(models.Model):
    """A number that must never be called (do-not-call), with why, who and when.

    Checked when a preview is built, when a broadcast is recorded and again when a
    worker claims a call: a number added after recording is not called.
    """

    number = models.CharField(_("number"), max_length=15, unique=True)
    reason = models.CharField(_("reason"), max_length=16, choices=StopListReason.choices, default=StopListReason.ASKED)
    note = models.CharField(_("note"), max_length=255, blank=True)
    added_by = staff_member(_("added by"))
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stop-list number")
        verbose_name_plural = _("stop list")
        ordering = ["-added_at", "-pk"]
        # The table calls made (the model moved here without copying it).
        db_table = "calls_stoplistentry"

    def __str__(self):
        return self.number


# Contacts, lists and consent live in their own module; imported here for Django to find them.
from .contact_models import (  # noqa: E402
    Consent,
    ConsentKind,
    Contact,
    ContactList,
    Membership,
    WithdrawalChannel,
)

__all__ = ["Consent", "ConsentKind", "Contact", "ContactList", "Membership", "StopListEntry", "StopListReason"]
__all__ += ["WithdrawalChannel"]
