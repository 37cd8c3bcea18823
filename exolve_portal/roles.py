"""The two staff roles and what each may do. `manage.py setup_roles` applies them."""

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

OPERATORS = "Operators"
MANAGERS = "Managers"

# app_label.codename
OPERATOR_PERMISSIONS = [
    "voicemessages.view_voicemessage",
    "calls.send_voicemessage",
    "calls.view_call",
    "calls.refresh_call",
    "calls.view_broadcast",
]
MANAGER_PERMISSIONS = OPERATOR_PERMISSIONS + [
    "voicemessages.add_voicemessage",
    "voicemessages.change_voicemessage",
    "voicemessages.delete_voicemessage",
    "voicemessages.sync_voicemessages",
]

ROLES = {OPERATORS: OPERATOR_PERMISSIONS, MANAGERS: MANAGER_PERMISSIONS}
ROLE_DESCRIPTIONS = {
    OPERATORS: _("view voice messages, send them, view and refresh calls"),
    MANAGERS: _("everything operators do, plus create, change, delete and sync voice messages"),
}


def setup_roles() -> dict[str, int]:
    """Create or update the groups; idempotent. Returns group name -> permission count."""
    result = {}
    for name, codes in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)
        result[name] = len(permissions)
    return result
