from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("Access for other systems (API)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db.models.signals import m2m_changed, post_save

        from calls.signals import worker_looking_for_work

        from . import tasks
        from .models import ApiToken

        # A token, an owner or rights changed in this process (the admin) apply at once here;
        # other processes read them again within a second (api/tokens.py).
        user = get_user_model()
        for sender in (user, ApiToken):
            post_save.connect(_forget_tokens, sender=sender, dispatch_uid=f"api-forget-{sender.__name__}")
        for through in (user.groups.through, user.user_permissions.through, Group.permissions.through):
            m2m_changed.connect(_forget_tokens, sender=through, dispatch_uid=f"api-rights-{through}")
        # A worker starting (or back from database trouble) records the sends left accepted.
        worker_looking_for_work.connect(tasks.record_left_behind, dispatch_uid="api-sends-left-behind")


def _forget_tokens(**_signal):
    from . import tokens

    tokens.forget()
