"""Calls (one attempt to deliver one voice message to one number) and broadcasts.

Exolve's own fields (`call_id`, `status` and the statistics of call/v1/GetInfo) are
stored as received; the local `state` says where the portal is with the call.
"""

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from audiences.phones import display_number
from audiences.purposes import SENDABLE_PURPOSES, Basis, Purpose  # noqa: F401  (imported from here by the send engine)
from exolve_portal.fields import staff_member

from .lifecycle import BroadcastState
from .windows import stored_windows

# Exolve statuses after which nothing changes any more. The list is open: any other
# string is stored and shown as received, and the call keeps being refreshed.
FINAL_STATUSES = ("completed", "no_answer", "busy", "canceled", "rejected", "failed")


def seen_statuses() -> list[str]:
    """Every Exolve status stored on any call, read from the status index one value at a
    time (a loose index scan): as cheap at a million calls as at a thousand. Every probe
    starts just after the last value found (`> ''` skips the calls without a status
    without reading them)."""
    quote = connection.ops.quote_name
    table, column = quote(Call._meta.db_table), quote(Call._meta.get_field("status").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE seen(status) AS (
                SELECT MIN({column}) FROM {table} WHERE {column} > ''
                UNION ALL
                SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > seen.status)
                FROM seen WHERE seen.status IS NOT NULL
            )
            SELECT status FROM seen WHERE status IS NOT NULL
            """
        )
        return [row[0] for row in cursor.fetchall()]


class CallState(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FINISHED = "finished", _("finished")
    REJECTED = "rejected", _("rejected")
    UNKNOWN = "unknown", _("unknown")
    # Not called: its broadcast was stopped before a worker took it.
    CANCELED = "canceled", _("not called (stopped)")
    # Not called: the number is on the stop list, or over its per-number limit (see error).
    SKIPPED = "skipped", _("not called (skipped)")


# States staff may deliberately send again, and the final Exolve statuses they may too.
RESENDABLE_STATES = (CallState.REJECTED, CallState.UNKNOWN)
RESENDABLE_STATUSES = ("no_answer", "busy")
# Exolve statuses after which a broadcast's automatic retries call again ("failed" optional).
RETRY_STATUSES = ("no_answer", "busy")


def resendable_q() -> Q:
    """Calls staff may deliberately send again: unknown, rejected, no answer, busy."""
    return Q(state__in=RESENDABLE_STATES) | Q(state=CallState.FINISHED, status__in=RESENDABLE_STATUSES)


def is_resendable(call) -> bool:
    return call.state in RESENDABLE_STATES or (call.state == CallState.FINISHED and call.status in RESENDABLE_STATUSES)


def _sent_voice_message(related_name: str) -> models.ForeignKey:
    """The voice message sent; the record keeps its history when the message is deleted (SET_NULL)."""
    return models.ForeignKey(
        "voicemessages.VoiceMessage",
        verbose_name=_("voice message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name=related_name,
    )


class Broadcast(models.Model):
    """One send of one voice message from one source to one or many destinations."""

    # What staff call it ("Reminder of 5 December"); optional, typed on the send form.
    name = models.CharField(_("name"), max_length=200, blank=True, default="")
    voice_message = _sent_voice_message(related_name="broadcasts")
    # Kept so the history still reads well after the voice message is deleted.
    voice_message_name = models.CharField(_("voice message name"), max_length=255, blank=True)
    service_id = models.CharField(_("Exolve voice message id"), max_length=128)
    source = models.CharField(_("source number"), max_length=15)
    created_by = staff_member(_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    # One token per send form: a double-submitted form finds the broadcast it already made.
    token = models.CharField(_("idempotency token"), max_length=64, unique=True)
    # What was skipped when the broadcast was made, for the record.
    invalid_numbers = models.JSONField(_("invalid numbers"), default=list, blank=True)
    duplicate_numbers = models.JSONField(_("duplicate numbers"), default=list, blank=True)
    # Last sign of life of a worker sending this broadcast: a send task still "running"
    # with no beat for a while died with its worker (kill -9, a reboot).
    sender_beat_at = models.DateTimeField(_("last sign of life of its sender"), null=True, blank=True)

    # Steering (calls/lifecycle.py): what staff decided, and when calls may ring.
    state = models.CharField(_("state"), max_length=16, choices=BroadcastState.choices, default=BroadcastState.SENDING)
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True)
    state_changed_by = staff_member(_("state changed by"))
    start_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    # "09:00-21:00" in the callee's local time; "" for any time.
    calling_hours = models.CharField(_("calling hours"), max_length=16, blank=True)
    # The same for weekends and public holidays (calls/windows.py): "" = as on working
    # days (every broadcast recorded before had one window), "any" = any time.
    calling_hours_rest = models.CharField(
        _("calling hours on weekends and holidays"), max_length=16, blank=True, default=""
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default=settings.TIME_ZONE)
    pace_per_minute = models.PositiveIntegerField(_("calls per minute at most"), null=True, blank=True)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.INFORMATION)
    # The advertising consent tick of old broadcasts, kept as history (advertising is no longer sent).
    consent_confirmed = models.BooleanField(_("recipients' consent confirmed"), default=False)
    # Why these people may be called (audiences/purposes.py Basis); "": not recorded (older broadcasts).
    basis = models.CharField(_("basis"), max_length=16, choices=Basis.choices, blank=True, default="")
    # Automatic retries of calls that got no answer or were busy ("failed" optional).
    retries = models.PositiveSmallIntegerField(_("retries"), default=0)
    retry_after_minutes = models.PositiveIntegerField(_("minutes between attempts"), default=30)
    retry_failed = models.BooleanField(_("retry failed calls too"), default=False)
    # A follow-up SMS to those the calls did not reach (calls/sms_followups.py); "": none.
    sms_text = models.TextField(_("follow-up SMS text"), blank=True, default="")
    sms_sender = models.CharField(_("SMS sender"), max_length=20, blank=True, default="")
    # The final outcomes of the last attempt that trigger it, comma-separated ("no_answer,busy").
    sms_on = models.CharField(_("SMS after"), max_length=40, blank=True, default="")
    # Under a pace, the next call may be claimed at this time (held across all workers).
    pace_next_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The contact lists it was sent to, as they were then (calls/audience_recipients.py `Recipients.record`):
    # names kept, so a list renamed or deleted later does not change the record. {}: none.
    audiences = models.JSONField(_("contact lists"), default=dict, blank=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-created_at", "-pk"]
        permissions = [("steer_broadcast", _("Can stop, pause and resume any broadcast"))]

    def __str__(self):
        if self.name:
            return _("Broadcast #%(pk)s: %(name)s") % {"pk": self.pk, "name": self.name}
        name = self.voice_message_name or self.service_id
        return _("Broadcast #%(pk)s: %(name)s from %(source)s") % {"pk": self.pk, "name": name, "source": self.source}

    @property
    def basis_shown(self) -> str:
        return basis_label(self.basis)

    @property
    def calling_windows(self):
        """Its calling hours for working days and days of rest, as stored (calls/windows.py)."""
        return stored_windows(self.calling_hours, self.calling_hours_rest)

    @property
    def title(self) -> str:
        """What the broadcast is called on its pages: its name, else its voice message's."""
        return self.name or self.voice_message_name or self.service_id


def basis_label(basis: str) -> str:
    """The basis in words; "" (broadcasts recorded before the basis was): "not recorded"."""
    return str(Basis(basis).label) if basis in Basis.values else str(_("not recorded"))


def pending_q() -> Q:
    """Calls still waiting for something: to be sent, or for a final status."""
    return Q(state__in=(CallState.QUEUED, CallState.SENDING)) | Q(state=CallState.SENT, next_refresh_at__isnull=False)


class Call(models.Model):
    """One attempt to deliver one voice message to one number."""

    # No index of its own: the claim index (below) leads with it. With statistics that
    # did not know a new broadcast yet, the planner claimed through a broadcast-only index
    # and sorted all 100,000 of its calls on every turn (bench/README.md).
    broadcast = models.ForeignKey(
        Broadcast,
        verbose_name=_("broadcast"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        related_name="calls",
    )
    voice_message = _sent_voice_message(related_name="calls")
    service_id = models.CharField(_("Exolve voice message id"), max_length=128)
    source = models.CharField(_("source number"), max_length=15)
    destination = models.CharField(_("destination number"), max_length=15)
    state = models.CharField(_("state"), max_length=16, choices=CallState.choices, default=CallState.QUEUED)
    requested_by = staff_member(_("requested by"))
    queued_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    # A queued call is not claimed before this: the broadcast's start, or calling hours.
    not_before = models.DateTimeField(_("not before"), default=timezone.now)
    # The callee's time zone when known (from the number or the uploaded list).
    time_zone = models.CharField(_("callee's time zone"), max_length=64, blank=True)
    # What the uploaded list said of the person: {"name": ..., other column's header: cell} (bounded).
    details = models.JSONField(_("from the uploaded list"), default=dict, blank=True)
    # Set when a worker takes the call (queued -> sending), exactly once.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by worker"), max_length=64, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # If this call resends an earlier one (deliberately, by staff).
    resend_of = models.ForeignKey(
        "self", verbose_name=_("resend of"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Automatic retries: attempt 2, 3, ... of the same person in the same broadcast, each
    # linked to the first attempt; the unique constraint makes each attempt exist once.
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    first_attempt = models.ForeignKey(
        "self", verbose_name=_("first attempt"), null=True, blank=True, on_delete=models.CASCADE, related_name="retries"
    )
    # The contact of a list it was recorded from (calls/audience_recipients.py); deleting the
    # contact keeps the call and its number. `needs_consent`: recorded from a list, so rung only
    # while the contact has a consent in force for the broadcast's purpose (checked at the claim;
    # a contact deleted since has none).
    contact = models.ForeignKey(
        "audiences.Contact",
        verbose_name=pgettext_lazy("person", "contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    needs_consent = models.BooleanField(_("called only with consent"), default=False)
    # Set, with a conditional UPDATE, in the transaction that records this call's resend:
    # a call is resent at most once, however often the resend form is submitted.
    resent_at = models.DateTimeField(_("resent at"), null=True, blank=True)

    # Exolve's answer, as received.
    call_id = models.CharField(_("Exolve call id"), max_length=128, null=True, blank=True, unique=True)
    status = models.CharField(_("Exolve status"), max_length=64, blank=True)
    created = models.DateTimeField(_("created at Exolve"), null=True, blank=True)
    updated = models.DateTimeField(_("updated at Exolve"), null=True, blank=True)
    started = models.DateTimeField(_("started"), null=True, blank=True)
    ended = models.DateTimeField(_("ended"), null=True, blank=True)
    duration = models.IntegerField(_("duration (s)"), null=True, blank=True)
    timeout = models.IntegerField(_("answer timeout (s)"), null=True, blank=True)
    direction = models.CharField(_("direction"), max_length=32, blank=True)
    raw = models.JSONField(_("last Exolve answer"), null=True, blank=True)

    error = models.TextField(_("last error"), blank=True)
    refreshed_at = models.DateTimeField(_("statistics refreshed at"), null=True, blank=True)
    # When the statistics are due to be refreshed next; null: not automatically any more.
    next_refresh_at = models.DateTimeField(_("next refresh at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-queued_at", "-pk"]
        permissions = [
            ("send_voicemessage", _("Can send voice messages")),
            ("refresh_call", _("Can refresh call statistics")),
            ("send_any_time", _("Can send outside calling hours (any time)")),
        ]
        indexes = [
            models.Index(fields=["state", "queued_at"], name="calls_state_queued_idx"),
            models.Index(fields=["queued_at"], name="calls_queued_idx"),
            # The claim: a broadcast's queued calls whose time has come, nothing else read.
            # Also every lookup of a broadcast's calls, by state or not (its first columns).
            models.Index(fields=["broadcast", "state", "not_before"], name="calls_claim_idx"),
            models.Index(fields=["next_refresh_at"], name="calls_next_refresh_idx"),
            models.Index(fields=["status"], name="calls_status_idx"),
            models.Index(fields=["destination"], name="calls_destination_idx"),
            # Per-number limits: how often a number was called lately.
            models.Index(fields=["destination", "claimed_at"], name="calls_destination_claimed_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["first_attempt", "attempt"],
                condition=Q(first_attempt__isnull=False),
                name="calls_one_call_per_attempt",
            )
        ]

    def __str__(self):
        return _("Call to %(destination)s (%(state)s)") % {
            "destination": display_number(self.destination),
            "state": self.get_state_display(),
        }


class SendDraft(models.Model):
    """The send page's checked list, stored at the preview and sent as it is at the confirmation.

    Keyed by the send form's token, which becomes the broadcast's token: the confirm
    step posts only the token, so what is sent, and the record of what was skipped,
    is what the preview showed, never what the browser sends back.
    """

    token = models.CharField(_("form token"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.CASCADE, related_name="+"
    )
    voice_message = models.ForeignKey(
        "voicemessages.VoiceMessage",
        verbose_name=_("voice message"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(_("source number"), max_length=15)
    numbers = models.JSONField(_("numbers to call"), default=list)
    invalid = models.JSONField(_("invalid numbers"), default=list)  # [as typed, reason]
    duplicates = models.JSONField(_("duplicate numbers"), default=list)
    # When and how it rings: {"start_at": ISO or None, "calling_hours", "time_zone", "pace_per_minute"}.
    plan = models.JSONField(_("when and how fast"), default=dict, blank=True)
    # {number: {"name": ..., header: cell}} from the uploaded list's other columns.
    details = models.JSONField(_("from the uploaded list"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("send draft")
        verbose_name_plural = _("send drafts")

    def __str__(self):
        return self.token


class KeptUpload(models.Model):
    """The file last uploaded on a send form, kept so "preview again" needs no second upload.

    Keyed by the form's token and its uploader (nobody else's form reads it); at most
    EXOLVE_UPLOAD_MAX_BYTES, deleted with old drafts.
    """

    token = models.CharField(_("form token"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("file name"), max_length=255)
    data = models.BinaryField(_("content"))
    created_at = models.DateTimeField(_("uploaded at"), db_index=True)

    class Meta:
        verbose_name = _("uploaded list")
        verbose_name_plural = _("uploaded lists")
        constraints = [models.UniqueConstraint(fields=["token", "created_by"], name="calls_kept_upload_once")]

    def __str__(self):
        return self.name


from .sms_models import SmsFollowUp, SmsState  # noqa: E402, F401  (a model of this app)
