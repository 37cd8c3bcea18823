"""SmsFollowUp: the one SMS a broadcast sends a person its calls did not reach (issue 25).

At most one per person per broadcast (the constraint `calls_one_sms_per_person`), created
only once the person's last attempt is final (calls/sms_followups.py), claimed
queued -> sending once and never re-sent when it may have arrived (calls/sms_sending.py).
Imported by calls/models.py.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SmsState(models.TextChoices):
    QUEUED = "queued", _("waiting to be sent")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    REFUSED = "refused", _("refused")
    UNKNOWN = "unknown", _("unknown")
    CANCELED = "canceled", _("not sent (stopped)")


class SmsFollowUp(models.Model):
    broadcast = models.ForeignKey(
        "calls.Broadcast", verbose_name=_("broadcast"), on_delete=models.CASCADE, related_name="sms_followups"
    )
    # The person's last attempt, whose final outcome asked for the SMS.
    call = models.ForeignKey(
        "calls.Call", verbose_name=_("last call"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    destination = models.CharField(_("number"), max_length=15)
    sender = models.CharField(_("SMS sender"), max_length=20)
    state = models.CharField(_("state"), max_length=16, choices=SmsState.choices, default=SmsState.QUEUED)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Not sent before this: the callee's calling window.
    not_before = models.DateTimeField(_("not before"))
    time_zone = models.CharField(_("callee's time zone"), max_length=64, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by worker"), max_length=64, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    message_id = models.CharField(_("Exolve message id"), max_length=64, blank=True)
    # SendSMS's answer as received; the delivery statuses of messaging/v1/GetList are unknown.
    raw = models.JSONField(_("last Exolve answer"), null=True, blank=True)
    error = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("follow-up SMS")
        verbose_name_plural = _("follow-up SMS")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["broadcast", "state", "not_before"], name="calls_sms_claim_idx"),
            models.Index(fields=["state", "claimed_at"], name="calls_sms_state_claimed_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "destination"], name="calls_one_sms_per_person"),
        ]

    def __str__(self):
        return _("SMS to %(destination)s (%(state)s)") % {
            "destination": self.destination,
            "state": self.get_state_display(),
        }
