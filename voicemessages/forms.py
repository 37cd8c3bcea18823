"""The admin form for a voice message: saving it creates the message at Exolve.

Create happens while the form is validated (in ``_post_clean``), because that is the
only point where the admin can still show a refusal as a form error instead of an
error page. Use the form inside ``provisioning_guard()`` (the admin does): a form that
validates but is never saved would otherwise leave its new message at Exolve.
"""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from exolve_portal.exolve import sandbox

from .exceptions import ProvisioningError
from .models import VoiceMessage
from .validators import MEDIA_ID_MAX, normalise_redirect_number

_WHOLE_NUMBER = re.compile(r"[+-]?\d+")


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
    media_id = MediaIdField(label=_("media id"), help_text=VoiceMessage._meta.get_field("media_id").help_text)
    redirect_number = RedirectNumberField(
        label=_("redirect number"), help_text=VoiceMessage._meta.get_field("redirect_number").help_text
    )
    redirect_digit = forms.IntegerField(
        label=_("redirect digit"),
        initial=0,
        help_text=VoiceMessage._meta.get_field("redirect_digit").help_text,
        error_messages={"invalid": _("The redirect digit must be a single digit from 0 to 9.")},
        widget=forms.NumberInput(attrs={"min": 0, "max": 9, "step": 1}),
    )

    class Meta:
        model = VoiceMessage
        fields = ["name", "media_id", "redirect_digit", "redirect_number"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if settings.EXOLVE_SANDBOX:
            # A newcomer trying the sandbox needs a media id it knows, without reading docs.
            field = self.fields["media_id"]
            field.help_text = format_lazy(
                "{} {}",
                field.help_text,
                _("Sandbox: use media id %(ids)s.") % {"ids": ", ".join(str(i) for i in sandbox.DEFAULT_MEDIA_IDS)},
            )

    def _post_clean(self):
        super()._post_clean()
        if self.errors or not self.instance.needs_provisioning():
            return
        try:
            self.instance.provision()
        except ValidationError as error:
            self._update_errors(error)
        except ProvisioningError as error:
            self.add_error(error.field or NON_FIELD_ERRORS, error.user_message)
