"""Contacts, the lists they belong to, and their consent per purpose (imported by models.py).

A contact is one normalised number (audiences.phones, as the send page has it); a
consent is a record (who agreed, to what, how, when, entered by whom), kept after its
withdrawal: a contact's consents are its history. Withdrawing puts the number on the
stop list, and a number put on the stop list withdraws its contact's consents
(audiences.consent, audiences.stop_list), each in one transaction.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from exolve_portal.fields import staff_member

from .purposes import SENDABLE_PURPOSES, Purpose

PURPOSE_CHOICES = [(purpose.value, purpose.label) for purpose in SENDABLE_PURPOSES]


class Contact(models.Model):
    """A person to call: a number (unique), a name and what the imported file said of them."""

    number = models.CharField(_("number"), max_length=15, unique=True)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=200, blank=True)
    # Other columns of the imported file, bounded as a call's details (upload_columns).
    extra = models.JSONField(_("other fields"), default=dict, blank=True)
    zone = models.CharField(_("time zone"), max_length=64, blank=True)
    created_by = staff_member(_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_by = staff_member(_("changed by"))
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("person", "contact")
        verbose_name_plural = _("contacts")
        ordering = ["number"]

    def __str__(self):
        return f"{self.number} {self.name}".strip()


class ContactList(models.Model):
    """A named group of contacts (a building's residents, a club's members)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    contacts = models.ManyToManyField(Contact, through="Membership", related_name="lists", verbose_name=_("contacts"))
    created_by = staff_member(_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact list")
        verbose_name_plural = _("contact lists")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A contact in a list: who put it there and when."""

    contact_list = models.ForeignKey(
        ContactList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="memberships"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=pgettext_lazy("person", "contact"), on_delete=models.CASCADE, related_name="memberships"
    )
    added_by = staff_member(_("added by"))
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact in a list")
        verbose_name_plural = _("contacts in lists")
        ordering = ["contact_list", "contact__number"]
        constraints = [models.UniqueConstraint(fields=["contact_list", "contact"], name="membership_once_per_list")]

    def __str__(self):
        return f"{self.contact.number} ({self.contact_list.name})"


class ConsentKind(models.TextChoices):
    WRITTEN = "written", _("written consent")
    WEB_FORM = "web_form", _("a web form")
    CONTRACT = "contract", _("a contract")
    ORAL = "oral", _("an oral consent, recorded")


class WithdrawalChannel(models.TextChoices):
    PHONE_CALL = "phone_call", _("a phone call")
    LETTER = "letter", _("a letter")
    OPERATOR_REFUSAL = "operator_refusal", _("refused to an operator")
    STOP_LIST = "stop_list", _("the stop list")
    OTHER = "other", _("other")


class Consent(models.Model):
    """A contact's consent to calls of one purpose: how, where from, when, who entered it; its withdrawal."""

    contact = models.ForeignKey(
        Contact, verbose_name=pgettext_lazy("person", "contact"), on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=PURPOSE_CHOICES, default=Purpose.INFORMATION)
    kind = models.CharField(_("kind of consent"), max_length=16, choices=ConsentKind.choices)
    source = models.CharField(_("where it came from"), max_length=200, blank=True)
    given_at = models.DateField(_("given on"))
    reference = models.CharField(_("reference or document"), max_length=500, blank=True)
    entered_by = staff_member(_("entered by"))
    entered_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_channel = models.CharField(
        _("withdrawn through"), max_length=16, choices=WithdrawalChannel.choices, blank=True
    )
    withdrawn_by = staff_member(_("withdrawn by"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-entered_at", "-pk"]
        indexes = [models.Index(fields=["contact", "purpose"], name="consent_contact_purpose")]
        constraints = [
            # At most one consent in force per contact and purpose; withdrawn ones stay as history.
            models.UniqueConstraint(
                fields=["contact", "purpose"], condition=Q(withdrawn_at__isnull=True), name="one_consent_in_force"
            )
        ]

    def __str__(self):
        return f"{self.contact.number}: {self.get_purpose_display()}"
