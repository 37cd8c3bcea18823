"""The installed apps that name themselves in English only, named in the staff's words.

django-axes takes its admin section's title from its label ("Axes") and django-tasks-db
from a plain string ("Tasks Database Backend"), neither translatable; these subclasses
give each a translatable name and stand for them in INSTALLED_APPS.
"""

from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class LoginProtectionConfig(AxesConfig):
    verbose_name = _("Login protection")

    def ready(self):
        super().ready()
        # axes names its rows in English ("Attempted Access: …"), in every list's checkbox label.
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        AccessAttempt.__str__ = lambda row: gettext("Login attempt: %(user)s") % {"user": row.username}
        AccessLog.__str__ = lambda row: gettext("Login: %(user)s") % {"user": row.username}
        AccessFailureLog.__str__ = lambda row: gettext("Failed login: %(user)s") % {"user": row.username}


class TaskResultsConfig(TasksAppConfig):
    verbose_name = _("Background tasks")
