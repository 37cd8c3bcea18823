"""The two staff roles and what each may do.

A fresh install gets the groups from a data migration (exolve_portal/migrations);
`manage.py setup_roles` applies them again at any time (safe to re-run, e.g. after an
upgrade adds a permission). Applying a role sets the group's permissions to exactly
this list: permissions added to these two groups by hand are removed.
"""

from django.utils.translation import gettext_lazy as _

from audiences.permissions import (
    ADD_TO_STOP_LIST_PERMISSION,
    CHANGE_STOP_LIST_PERMISSION,
    DELETE_FROM_STOP_LIST_PERMISSION,
    MANAGER_AUDIENCE_PERMISSIONS,
    OPERATOR_AUDIENCE_PERMISSIONS,
    VIEW_STOP_LIST_PERMISSION,
)
from calls.permissions import (
    REFRESH_PERMISSION,
    SEND_ANY_TIME_PERMISSION,
    SEND_PERMISSION,
    VIEW_BROADCASTS_PERMISSION,
    VIEW_CALLS_PERMISSION,
)
from integrations.permissions import MANAGER_INTEGRATION_PERMISSIONS
from schedules.permissions import MANAGER_SCHEDULE_PERMISSIONS, OPERATOR_SCHEDULE_PERMISSIONS

from .role_names import MANAGERS, OPERATORS

# app_label.codename
OPERATOR_PERMISSIONS = [
    "voicemessages.view_voicemessage",
    SEND_PERMISSION,
    VIEW_CALLS_PERMISSION,
    REFRESH_PERMISSION,
    VIEW_BROADCASTS_PERMISSION,
    # The stop list: anyone who sends may see it and put a number on it...
    VIEW_STOP_LIST_PERMISSION,
    ADD_TO_STOP_LIST_PERMISSION,
    # Contacts and lists: view, add, import, record consent (and withdraw it: the stop list).
    *OPERATOR_AUDIENCE_PERMISSIONS,
    # The team's caller numbers, with their labels (what the send page offers).
    "caller_numbers.view_callernumber",
    # Repeating broadcasts: view, create, pause and resume them.
    *OPERATOR_SCHEDULE_PERMISSIONS,
]
MANAGER_PERMISSIONS = OPERATOR_PERMISSIONS + [
    "voicemessages.add_voicemessage",
    "voicemessages.change_voicemessage",
    "voicemessages.delete_voicemessage",
    "voicemessages.sync_voicemessages",
    # Messages the portal could not delete at Exolve: seeing them and retrying the delete.
    "voicemessages.view_orphanedvoicemessage",
    "voicemessages.delete_orphanedvoicemessage",
    # The audit trail: who created, changed, deleted messages and who sent what.
    "admin.view_logentry",
    # Stop, pause, resume and move anyone's broadcast (operators steer only their own).
    "calls.steer_broadcast",
    # Send with no calling hours ("any time").
    SEND_ANY_TIME_PERMISSION,
    # ...only managers take a number off the stop list or change why it is there.
    CHANGE_STOP_LIST_PERMISSION,
    DELETE_FROM_STOP_LIST_PERMISSION,
    # Inviting colleagues (exolve_portal/invitations.py: a staff account as Operator or
    # Manager, nothing more; Django's "Add user" leads there). Not auth.change_user: that
    # would let a Manager grant any permission or make a superuser.
    "auth.add_user",
    # Contacts and lists: change and delete them, take contacts out of lists, correct consents.
    *MANAGER_AUDIENCE_PERMISSIONS,
    # Which caller numbers staff may send from, their operator labels, and their sync from Exolve.
    "caller_numbers.change_callernumber",
    "caller_numbers.sync_caller_numbers",
    # Tokens of the HTTP API for other systems (api/): create, change scopes and expiry, revoke.
    "api.view_apitoken",
    "api.add_apitoken",
    "api.change_apitoken",
    # ...and what became of each send made with them (recorded, refused and why).
    "api.view_apisend",
    # Repeating broadcasts: change them (future runs only) and end them.
    *MANAGER_SCHEDULE_PERMISSIONS,
    # Webhook endpoints, their delivery log ("send again") and who gets e-mail notices.
    *MANAGER_INTEGRATION_PERMISSIONS,
]

ROLES = {OPERATORS: OPERATOR_PERMISSIONS, MANAGERS: MANAGER_PERMISSIONS}
ROLE_DESCRIPTIONS = {
    OPERATORS: _(
        "view voice messages, send them, view and refresh calls, view the stop list and add numbers to it, "
        "view contact lists, import contacts and record their consent, view the caller numbers, "
        "create, pause and resume repeating broadcasts"
    ),
    MANAGERS: _(
        "everything operators do, plus create, change, delete and sync voice messages, "
        "change and remove stop-list numbers, change and delete contacts and lists, read the audit log, "
        "steer anyone's broadcast, send at any time, "
        "enable caller numbers and record their labels, change and end repeating broadcasts, "
        "create and revoke API tokens, invite colleagues, and register webhooks and e-mail notices"
    ),
}


class MissingPermission(LookupError):
    """A role names a permission the database does not have (an app not migrated yet?)."""


def setup_roles(apps=None, *, skip_missing=False) -> dict[str, int]:
    """Create or update the groups; idempotent. Returns group name -> permission count.

    `apps` is a migration's app registry (historical models); default: the real models.
    `skip_missing`: leave out permissions a later migration creates (an early data
    migration; the later one applies the roles again with them).
    """
    if apps is None:
        from django.contrib.auth.models import Group, Permission
    else:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    wanted = {tuple(code.split(".", 1)) for codes in ROLES.values() for code in codes}
    found = {
        (app_label, codename): pk
        for pk, app_label, codename in Permission.objects.filter(
            codename__in={codename for _app, codename in wanted}
        ).values_list("pk", "content_type__app_label", "codename")
    }
    missing = sorted(".".join(key) for key in wanted - found.keys() if not _model_comes_later(apps, *key))
    if missing and not skip_missing:
        raise MissingPermission(
            f"These permissions do not exist yet: {', '.join(missing)}. Run `manage.py migrate` first."
        )
    result = {}
    for name, codes in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        present = [found[key] for key in (tuple(code.split(".", 1)) for code in codes) if key in found]
        group.permissions.set(present)
        result[name] = len(present)
    return result


def _model_comes_later(apps, app_label: str, codename: str) -> bool:
    """Whether `codename` is a default permission of a model a later migration creates (or gives it).

    An older roles migration applies today's roles, which name models its state does
    not have yet (contacts, say); the migration that creates them applies the roles again.
    """
    if apps is None:
        return False
    action, _sep, model = codename.partition("_")
    if action not in ("add", "change", "delete", "view"):
        # A custom permission ("schedules.pause_schedule"): later when its app has no model yet.
        try:
            apps.get_app_config(app_label)
        except LookupError:
            return True
        return False
    try:
        found = apps.get_model(app_label, model)
    except LookupError:
        return True
    # The model is there without this permission yet (api.ApiSend's "view" came with a later migration).
    return action not in found._meta.default_permissions


def apply_in_migration(apps, *, skip_missing: bool) -> None:
    """What the roles data migrations run: create the permissions now, then the roles.

    Permissions are normally created after `migrate` finishes (post_migrate); the roles
    need them now, so they are created from the migration's state first. An early
    migration skips the permissions of models that do not exist yet; the last one of
    the chain applies the roles in full.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    setup_roles(apps, skip_missing=skip_missing)
