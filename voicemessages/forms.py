"""The admin form for a voice message: saving it creates the message at Exolve.

Create happens when the form is found valid (``is_valid()``, after all of Django's
checks, the model's own included), because that is the only point where the admin can
still show a refusal as a form error instead of an error page. Use the form inside
``provisioning_guard()`` (the admin does): a form that validates but is never saved
would otherwise leave its new message at Exolve, and outside any transaction (the
admin is): on SQLite the write lock would be held while Exolve answers.

The form carries the ``version`` of the copy it was filled from (a hidden field): an
edit of a copy that changed meanwhile is refused before anything is sent, and
``save()`` refuses it too if the change happens while Create is answering (the admin
then shows the form again, which finds its version stale).
"""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from exolve_portal.exolve import sandbox_account

from .exceptions import ProvisioningError, changed_meanwhile_message
from .models import VoiceMessage
from .provisioning import create_at_exolve
from .validators import MEDIA_ID_MAX, normalise_redirect_number

_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
# Exolve's page on voice messages: a message plays a file uploaded beforehand to the application's audio library.
EXOLVE_VOICE_DOCS_URL = "https://docs.exolve.ru/docs/ru/api-reference/voice-api/"
MEDIA_ID_HELP = format_lazy(
    '{} <a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
    _(
        "The id of the audio file people hear when they pick up. The recording is uploaded beforehand "
        "to your application's audio library in the Exolve personal account, where each file has its id. "
        "No access to the personal account? Ask whoever manages your Exolve account for the id."
    ),
    EXOLVE_VOICE_DOCS_URL,
    _("Exolve's help on voice messages and audio files"),
)
DIGIT_RANGE = _("The redirect digit must be a single digit from 0 to 9.")


class MediaIdField(forms.IntegerField):
    """A media id as people type it; says plainly when it is not a number or out of range."""

    default_error_messages = {"invalid": _("Enter the media id as a whole number, for example 1967.")}

    def __init__(self, **kwargs):
        # Range is checked by the model's validators, with their plain messages.
        kwargs.setdefault("min_value", None)
        kwargs.setdefault("max_value", None)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = re.sub(r"[\s\u00a0]", "", str(value))
        if not _WHOLE_NUMBER.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if len(text.lstrip("+-")) > 30:  # far beyond any id; also avoids int() on huge strings
            raise ValidationError(
                _("This media id is too large: Exolve media ids go up to %(limit_value)s."),
                code="max_value",
                params={"limit_value": MEDIA_ID_MAX},
            )
        return int(text)


class RedirectNumberField(forms.CharField):
    """A phone number as people type it (+7 (999) 123-45-67), stored as digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        return normalise_redirect_number(super().to_python(value))


class VoiceMessageForm(forms.ModelForm):
    # The admin shows help texts as HTML: the link is ours, the words are translated.
    media_id = MediaIdField(label=_("media id"), help_text=MEDIA_ID_HELP)
    redirect_number = RedirectNumberField(
        label=_("redirect number"), help_text=VoiceMessage._meta.get_field("redirect_number").help_text
    )
    redirect_digit = forms.IntegerField(
        label=_("redirect digit"),
        required=False,  # empty: no redirect, or the default digit 0 with a number
        help_text=VoiceMessage._meta.get_field("redirect_digit").help_text,
        # The range here too: clean() sets the digit aside when the number cannot be read.
        min_value=0,
        max_value=9,
        error_messages={"invalid": DIGIT_RANGE, "min_value": DIGIT_RANGE, "max_value": DIGIT_RANGE},
        widget=forms.NumberInput(attrs={"min": 0, "max": 9, "step": 1}),
    )
    # Text, read in clean_version: a hidden field's own errors would be invisible.
    version = forms.CharField(label=_("version"), widget=forms.HiddenInput, required=False)

    class Meta:
        model = VoiceMessage
        fields = ["name", "media_id", "redirect_digit", "redirect_number", "version"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The version stored when this form was built; None for a new message.
        self.stored_version = None if self.instance._state.adding else self.instance.version
        if not self.instance.redirect_number and not self.instance.redirect_digit:
            self.initial["redirect_digit"] = None  # no redirect: both fields empty
        if settings.EXOLVE_SANDBOX:
            # A newcomer trying the sandbox needs a media id it knows, without reading docs.
            field = self.fields["media_id"]
            ids = ", ".join(str(i) for i in sandbox_account.DEFAULT_MEDIA_IDS)
            field.help_text = format_lazy("{} {}", field.help_text, _("Sandbox: use media id %(ids)s.") % {"ids": ids})

    def clean_redirect_digit(self):
        digit = self.cleaned_data["redirect_digit"]
        return 0 if digit is None else digit

    def clean_version(self):
        """The version the form was filled from; None when it is missing or not a number."""
        if self.stored_version is None:
            return self.instance.version  # a new message: nothing to compare with
        version = self.cleaned_data["version"].strip()
        return int(version) if version.isascii() and version.isdigit() else None

    def clean(self):
        cleaned_data = super().clean()
        if self.has_error("redirect_number"):
            # A number that could not be read already says so: the model's "give the
            # number" (it would see no number) would confuse. The digit's range is checked above.
            cleaned_data.pop("redirect_digit", None)
        if self.is_stale():
            self.add_error(None, changed_meanwhile_message())
        return cleaned_data

    def is_stale(self) -> bool:
        """True when the message changed since the copy this form was filled from."""
        return self.stored_version is not None and self.cleaned_data.get("version") != self.stored_version

    def is_valid(self):
        """Valid, and created at Exolve when saving needs it; a refusal becomes a form error."""
        valid = super().is_valid()
        if not valid or not self.instance.needs_provisioning():
            return valid
        try:
            create_at_exolve(self.instance)
        except ValidationError as error:
            self.add_error(None, error)
        except ProvisioningError as error:
            self.add_error(error.field or NON_FIELD_ERRORS, error.user_message)
        return not self.errors
