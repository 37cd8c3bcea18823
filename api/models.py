"""API tokens (one per integration) and the idempotency keys of the sends made with them.

A token is shown once when a Manager creates it; only its SHA-256 is stored (api/tokens.py).
A token acts with the rights of the Manager who created it (`created_by`): the broadcasts it
sends, steers and the stop-list entries it adds are theirs in the audit trail, with the
token's name in every entry.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    SEND = "send", _("send broadcasts")
    READ = "read", _("read broadcasts, calls, voice messages and caller numbers")
    STEER = "steer", _("stop, pause and resume broadcasts")
    STOP_LIST = "stop_list", _("add numbers to the stop list and check them")


class ApiToken(models.Model):
    name = models.CharField(
        _("name"), max_length=100, unique=True, help_text=_("Which system uses it, e.g. “Clinic booking system”.")
    )
    # The first characters of the token, to recognise it in lists (never enough to use it).
    prefix = models.CharField(_("begins with"), max_length=16, editable=False)
    digest = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: it does not expire (revoke it when unused).")
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Written at most once a minute (in the rate limit's own update): reads stay cheap.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    # The per-minute rate limit, shared by every gunicorn worker: the minute (epoch minutes) and its count.
    rate_minute = models.BigIntegerField(default=0, editable=False)
    rate_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class SendState(models.TextChoices):
    ACCEPTED = "accepted", _("accepted, being recorded")
    RECORDED = "recorded", _("recorded")
    REFUSED = "refused", _("refused")


class ApiSend(models.Model):
    """One send through the API: its `Idempotency-Key`, its body, and what became of it.

    The request inserts the row (the one write of an accepted send) and answers 202; a
    worker records the broadcast from it (api/recording.py), in the same transaction that
    moves it from "accepted" to "recorded" or "refused": recorded once, whoever tries.
    The unique (token, key) holds two identical requests at the same moment: the second's
    insert waits for the first's and then finds its row.
    """

    token = models.ForeignKey(ApiToken, verbose_name=_("API token"), on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("Idempotency-Key"), max_length=255)
    body_digest = models.CharField(max_length=64)
    body = models.JSONField(default=dict)
    state = models.CharField(_("state"), max_length=10, choices=SendState.choices, default=SendState.ACCEPTED)
    broadcast = models.ForeignKey(
        "calls.Broadcast", verbose_name=_("broadcast"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the recording found (the broadcast and a verdict per number) or why it refused (a problem).
    answer = models.JSONField(default=dict)
    # The caller's language (Accept-Language): the recording's refusals and reasons are in it.
    language = models.CharField(max_length=10, default="", blank=True)
    created_at = models.DateTimeField(_("accepted at"), auto_now_add=True, db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API send")
        verbose_name_plural = _("API sends")
        default_permissions = ("view",)  # read in the admin by Managers; only the API and workers write
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="api_one_send_per_token_key")]
        # The workers' queue: only the sends still to record are indexed.
        indexes = [models.Index(fields=["id"], condition=models.Q(state="accepted"), name="api_send_to_record")]

    def __str__(self):
        return self.key
