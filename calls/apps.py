from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Calls")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the background job kind (refresh of many calls) with the jobs app, and
        # the check of the plan's default settings.
        from . import jobs, plan_rules  # noqa: F401
