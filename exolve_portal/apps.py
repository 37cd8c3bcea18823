from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExolvePortalConfig(AppConfig):
    name = "exolve_portal"
    verbose_name = _("Exolve Voice Portal")

    def ready(self):
        from django.contrib.auth.models import Group

        # Connects the setting_changed receiver that rebuilds the Exolve client.
        from exolve_portal import checks, exolve_connection  # noqa: F401

        from .role_names import shown_name

        # A role group shows its name in the reader's language wherever Django shows a
        # group (lists, filters, pickers, breadcrumbs); the stored name stays.
        Group.__str__ = lambda group: shown_name(group.name)
