"""The send form (voice message, source, numbers pasted or uploaded) and its confirmation.

Two steps, usable by the admin page and by a standalone send page alike:
1. `SendForm` reads what staff typed or uploaded and computes a preview
   (`form.preview`: valid, invalid and duplicate numbers); nothing is recorded.
2. `ConfirmSendForm` carries the valid numbers and the form's idempotency token as
   hidden fields; `form.save(user)` records the broadcast (once per token).
"""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from voicemessages.models import VoiceMessage

from .phones import ParsedNumbers, parse_numbers, source_numbers, split_lines
from .sending import SendRefused, create_broadcast, new_token
from .uploads import UploadError, read_numbers_file


def sendable_voice_messages():
    """Voice messages that exist at Exolve as far as the portal knows."""
    return VoiceMessage.objects.filter(missing_since__isnull=True).order_by("name", "pk")


def compute_preview(text: str = "", uploaded=None) -> ParsedNumbers:
    """Parse pasted text and an optional uploaded file into one preview. Raises UploadError."""
    values = split_lines(text)
    if uploaded is not None:
        values += read_numbers_file(uploaded)
    return parse_numbers(values)


class _VoiceMessageAndSource(forms.Form):
    voice_message = forms.ModelChoiceField(
        label=_("Voice message"),
        queryset=VoiceMessage.objects.none(),
        error_messages={
            "invalid_choice": _(
                "This voice message cannot be sent: it was deleted, or it no longer exists at Exolve."
            )
        },
    )
    source = forms.ChoiceField(label=_("Source number"), help_text=_("The team's number the call comes from."))
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voice_message"].queryset = sendable_voice_messages()
        self.fields["source"].choices = [(n, n) for n in source_numbers()]
        if not self.is_bound and not self.initial.get("token"):
            self.initial["token"] = new_token()


class SendForm(_VoiceMessageAndSource):
    numbers = forms.CharField(
        label=_("Numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "cols": 40, "placeholder": "+7 (999) 123-45-67"}),
        help_text=_("One number per line, in any usual form: +7 (999) 123-45-67, 8 999 1234567, 79991234567."),
    )
    file = forms.FileField(
        label=_("Or a file"),
        required=False,
        help_text=_("CSV or XLSX with a column named phone (or телефон, number, номер), or a single column."),
    )

    preview: ParsedNumbers | None = None

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("numbers") or ""
        uploaded = cleaned.get("file")
        if not text.strip() and uploaded is None:
            raise forms.ValidationError(gettext("Paste at least one number or upload a file."), code="empty")
        try:
            self.preview = compute_preview(text, uploaded)
        except UploadError as exc:
            self.add_error("file", str(exc))
            return cleaned
        if not self.preview.valid:
            raise forms.ValidationError(gettext("None of the numbers can be called."), code="no_valid")
        return cleaned

    def confirm_form(self):
        """The confirmation step for this preview, carrying everything it needs."""
        return ConfirmSendForm(
            initial={
                "voice_message": self.cleaned_data["voice_message"].pk,
                "source": self.cleaned_data["source"],
                "token": self.cleaned_data["token"],
                "destinations": "\n".join(self.preview.valid),
                "invalid": "\n".join(f"{raw}\t{reason}" for raw, reason in self.preview.invalid),
                "duplicates": "\n".join(self.preview.duplicates),
            }
        )


class ConfirmSendForm(_VoiceMessageAndSource):
    destinations = forms.CharField(widget=forms.HiddenInput)
    # Carried only so the broadcast records what was skipped.
    invalid = forms.CharField(widget=forms.HiddenInput, required=False)
    duplicates = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("voice_message", "source"):
            self.fields[name].widget = forms.HiddenInput()

    def clean_destinations(self):
        parsed = parse_numbers(split_lines(self.cleaned_data["destinations"]))
        if parsed.invalid or not parsed.valid:
            raise forms.ValidationError(gettext("The list of numbers was changed; start again."))
        return parsed.valid

    def save(self, user):
        """Record the broadcast (or return the one this token already made)."""
        invalid = [tuple(line.split("\t", 1)) for line in self.cleaned_data["invalid"].splitlines() if "\t" in line]
        duplicates = [line for line in self.cleaned_data["duplicates"].splitlines() if line]
        try:
            return create_broadcast(
                self.cleaned_data["voice_message"],
                self.cleaned_data["source"],
                self.cleaned_data["destinations"],
                user,
                self.cleaned_data["token"],
                invalid_numbers=invalid,
                duplicate_numbers=duplicates,
            )
        except SendRefused as exc:
            self.add_error(None, str(exc))
            return None
