from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulesConfig(AppConfig):
    """Broadcasts that repeat: a message to contact lists, daily, on working days, weekly or monthly."""

    name = "schedules"
    verbose_name = _("Repeating broadcasts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The worker's start (and its recovery from database trouble) keeps the schedules' tick scheduled.
        from . import tasks  # noqa: F401
