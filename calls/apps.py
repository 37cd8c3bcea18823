from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Calls")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the background job kinds (refresh of many calls, long stop-list imports)
        # with the jobs app, and the check of the plan's default settings.
        from . import jobs, plan_rules, stop_list_jobs  # noqa: F401
