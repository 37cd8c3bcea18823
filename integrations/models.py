"""Webhook endpoints, the events they are told of, each delivery's log, and who gets e-mail notices.

An event (a call finished, a broadcast finished, stopped or failed) is stored once, keyed
by what it is about (`key`, unique), with the exact body every delivery sends and a
stable `message_id` (the `webhook-id` header) so receivers can drop repeats. Each
endpoint subscribed to its kind gets one delivery row (unique per event and endpoint),
which the webhook worker (integrations/delivery.py) posts and retries.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import signing


class EventKind(models.TextChoices):
    CALL_FINISHED = "call.finished", _("call finished, with its outcome")
    BROADCAST_FINISHED = "broadcast.finished", _("broadcast finished")
    BROADCAST_STOPPED = "broadcast.stopped", _("broadcast stopped")
    BROADCAST_FAILED = "broadcast.failed", _("broadcast cannot continue")
    SMS_FINISHED = "sms.finished", _("follow-up SMS sent, refused or unknown")
    SEND_FINISHED = "send.finished", _("API send recorded (its broadcast) or refused (why)")


BROADCAST_KINDS = (EventKind.BROADCAST_FINISHED, EventKind.BROADCAST_STOPPED, EventKind.BROADCAST_FAILED)


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class Endpoint(models.Model):
    """An address that is told of events, signed with its own secret (Standard Webhooks)."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("address"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=100, default=signing.new_secret, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("owner")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.TextField(_("why it was switched off"), blank=True)
    failures_in_row = models.PositiveIntegerField(_("failed attempts in a row"), default=0, editable=False)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def wants(self, kind: str) -> bool:
        return self.enabled and kind in (self.events or [])


class Event(models.Model):
    kind = models.CharField(_("event"), max_length=32, choices=EventKind.choices)
    key = models.CharField(_("about"), max_length=100, unique=True)
    message_id = models.CharField(_("message id"), max_length=40, unique=True, default=new_message_id)
    body = models.TextField(_("body"))
    broadcast_id = models.BigIntegerField(_("broadcast"), null=True, blank=True)
    noticed_at = models.DateTimeField(_("notices sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self):
        return f"{self.get_kind_display()} ({self.key})"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("to deliver")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("gave up")


class Delivery(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    state = models.CharField(_("state"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    failures = models.PositiveIntegerField(_("failed attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_answer = models.TextField(_("last answer (start)"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        permissions = [("resend_delivery", _("Can send a webhook delivery again"))]
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_endpoint")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"{self.event.get_kind_display()} → {self.endpoint}"


class NoticeSubscription(models.Model):
    """A member of staff who gets the e-mail notices of every broadcast (senders get their own anyway)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("staff member"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail notice subscription")
        verbose_name_plural = _("e-mail notice subscriptions")

    def __str__(self):
        return str(self.user)


class AnswerCount(models.Model):
    """How many Exolve answers of a class (refused, rate-limited, unknown) the workers saw: a counter for /metrics."""

    kind = models.CharField(max_length=32, primary_key=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("Exolve answer count")
        verbose_name_plural = _("Exolve answer counts")
        default_permissions = ()  # nobody edits it: the workers count, /metrics reads

    def __str__(self):
        return f"{self.kind}: {self.count}"
