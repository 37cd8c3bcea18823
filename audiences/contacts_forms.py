"""The forms of contacts and lists: import into a list (with the consent of every row), one
contact, a consent, a withdrawal. Shared by the admin and the staff pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .contact_models import PURPOSE_CHOICES, Consent, ConsentKind, Contact, ContactList, WithdrawalChannel
from .contacts_import import CONTACTS_IN_REQUEST, ConsentGiven, rows_from_file, rows_from_text
from .phones import InvalidNumber, ListRefused, normalize
from .uploads import UploadError

NUMBER_HELP = _("As people type it: +7 (999) 123-45-67, 8 999 1234567, 79991234567.")


class ContactImportForm(forms.Form):
    contact_list = forms.ModelChoiceField(
        label=_("list"), queryset=ContactList.objects.order_by("name"), required=False
    )
    new_list = forms.CharField(label=_("or a new list named"), max_length=200, required=False)
    file = forms.FileField(
        label=_("file"),
        required=False,
        help_text=_("CSV or XLSX with a phone column; a name column and other columns are kept with each contact."),
    )
    text = forms.CharField(
        label=_("contacts"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 50}),
        help_text=format_lazy(
            _(
                "Or paste them, one a line: the number, then the name. More than {count} rows are "
                "imported in the background, with a page that shows the progress."
            ),
            count=CONTACTS_IN_REQUEST,
        ),
    )
    purpose = forms.ChoiceField(
        label=_("record consent for"),
        choices=[("", _("(no consent recorded)")), *PURPOSE_CHOICES],
        required=False,
        help_text=_("The same consent is recorded for every imported contact that has none in force."),
    )
    kind = forms.ChoiceField(label=_("kind of consent"), choices=[("", "—"), *ConsentKind.choices], required=False)
    given_at = forms.DateField(label=_("given on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.CharField(label=_("where it came from"), max_length=200, required=False)
    reference = forms.CharField(label=_("reference or document"), max_length=500, required=False)

    def clean_text(self):
        text = self.cleaned_data.get("text") or ""
        if len(text.encode()) > settings.EXOLVE_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                gettext("The pasted text is too large; import the contacts in parts, or as a file."), code="too_long"
            )
        try:
            return rows_from_text(text)
        except ListRefused as exc:
            raise forms.ValidationError(str(exc), code="too_long") from exc

    def clean_new_list(self):
        name = (self.cleaned_data.get("new_list") or "").strip()
        if name and ContactList.objects.filter(name=name).exists():
            raise forms.ValidationError(gettext("A list with this name exists; choose it above."))
        return name

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("contact_list") and not cleaned.get("new_list") and "new_list" not in self.errors:
            self.add_error("contact_list", gettext("Choose a list, or name a new one."))
        rows = []
        if uploaded := cleaned.get("file"):
            try:
                rows += rows_from_file(uploaded)
            except UploadError as exc:
                self.add_error("file", str(exc))
        rows += cleaned.get("text") or []
        if not rows and not self.errors:
            raise forms.ValidationError(gettext("Choose a file or paste the contacts to import."))
        self.rows = rows
        self.consent = self._consent(cleaned)
        return cleaned

    def _consent(self, cleaned) -> ConsentGiven | None:
        if not cleaned.get("purpose"):
            return None
        for name in ("kind", "given_at"):
            if not cleaned.get(name):
                self.add_error(name, gettext("Say how and when the consent was given, or record no consent."))
        if not cleaned.get("kind") or not cleaned.get("given_at"):
            return None
        return ConsentGiven(
            purpose=cleaned["purpose"],
            kind=cleaned["kind"],
            given_at=cleaned["given_at"],
            source=cleaned.get("source") or "",
            reference=cleaned.get("reference") or "",
        )

    def target_list(self, user) -> ContactList:
        if chosen := self.cleaned_data.get("contact_list"):
            return chosen
        contact_list, _created = ContactList.objects.get_or_create(
            name=self.cleaned_data["new_list"], defaults={"created_by": user}
        )
        return contact_list


class ContactForm(forms.ModelForm):
    number = forms.CharField(label=_("number"), max_length=40, help_text=NUMBER_HELP)

    class Meta:
        model = Contact
        fields = ("number", "name", "zone")

    def clean_number(self):
        try:
            number = normalize(self.cleaned_data["number"])
        except InvalidNumber as exc:
            raise forms.ValidationError(str(exc)) from exc
        if Contact.objects.filter(number=number).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(gettext("A contact with the number %(number)s exists.") % {"number": number})
        return number


class ConsentForm(forms.ModelForm):
    class Meta:
        model = Consent
        fields = ("purpose", "kind", "given_at", "source", "reference")
        widgets = {"given_at": forms.DateInput(attrs={"type": "date"})}


class WithdrawForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("withdrawn through"),
        choices=[c for c in WithdrawalChannel.choices if c[0] != WithdrawalChannel.STOP_LIST],
        initial=WithdrawalChannel.PHONE_CALL,
    )
    note = forms.CharField(label=_("note"), max_length=255, required=False)
