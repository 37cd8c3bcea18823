from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    """Who may be called: the stop list, and the reading of people's numbers and lists."""

    name = "audiences"
    verbose_name = _("Audiences")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the background job kind (long stop-list and contacts imports) with the jobs app.
        from . import contact_jobs, stop_list_jobs  # noqa: F401
