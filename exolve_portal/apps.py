from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExolvePortalConfig(AppConfig):
    name = "exolve_portal"
    verbose_name = _("Exolve Voice Portal")

    def ready(self):
        # Connects the setting_changed receiver that rebuilds the Exolve client.
        from exolve_portal import checks, exolve_connection  # noqa: F401
