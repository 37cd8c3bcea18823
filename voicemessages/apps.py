from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceMessagesConfig(AppConfig):
    name = "voicemessages"
    verbose_name = _("Voice messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the background job kinds (sync, bulk delete) with the jobs app.
        from . import jobs  # noqa: F401
