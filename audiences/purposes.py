"""Why a broadcast rings people, as Russian law sees it, and why these people may be called.

Both live here, below the calls, because consent is recorded per contact and purpose
(audiences) and every broadcast records its purpose and basis (calls). docs/compliance.md
says which rule each value brings and the article behind it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    INFORMATION = "information", _("information (service notice)")
    REMINDER = "reminder", _("reminder")
    # 230-FZ article 7: its own calling windows and per-number limits (calls/debt_rules.py).
    DEBT_REMINDER = "debt_reminder", _("debt reminder")
    # 38-FZ article 18 part 2 forbids advertising by automatic dialling whatever the consent.
    # Kept only so broadcasts recorded with it before still read as they were; never sent.
    ADVERTISING = "advertising", _("advertising (no longer sent)")


# What staff may choose for a new broadcast (and consent may be recorded for).
SENDABLE_PURPOSES = (Purpose.INFORMATION, Purpose.REMINDER, Purpose.DEBT_REMINDER)


class Basis(models.TextChoices):
    """Why the recipients of a broadcast may be called (126-FZ as amended by 41-FZ)."""

    CONSENT = "consent", _("the recipients' consent")
    CONTRACT = "contract", _("an existing contract or service")
    DEBT = "debt", _("a debt owed")
