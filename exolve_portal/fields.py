"""Model fields the apps share."""

from django.conf import settings
from django.db import models


def staff_member(verbose_name, *, related_name: str = "+", **options) -> models.ForeignKey:
    """Who did something (created, started, steered, asked for it); empty for a command or a sync.

    The record outlives the person's account: deleting a user empties the field
    (SET_NULL) and never deletes what they did.
    """
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name=related_name,
        **options,
    )
