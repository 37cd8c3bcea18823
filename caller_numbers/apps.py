from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallerNumbersConfig(AppConfig):
    name = "caller_numbers"
    verbose_name = _("Caller numbers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the background job kind (the sync from Exolve) with the jobs app.
        from . import jobs  # noqa: F401
