"""The Operators and Managers roles: created on migrate and by `setup_roles`, and what each may do."""

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import translation

from exolve_portal import roles
from tests.factories import DELETE, make_staff

pytestmark = pytest.mark.django_db


def group_permissions(name) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_every_role_permission_exists():
    """A typo in a codename would make setup_roles fail on a fresh install."""
    for code in set(roles.MANAGER_PERMISSIONS):
        app_label, codename = code.split(".")
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), code


def test_setup_roles_command_is_idempotent():
    Group.objects.filter(name__in=roles.ROLES).delete()
    out = io.StringIO()
    with translation.override("en"):
        call_command("setup_roles", stdout=out)
        call_command("setup_roles", stdout=out)
    assert Group.objects.filter(name__in=roles.ROLES).count() == 2
    assert group_permissions(roles.OPERATORS) == set(roles.OPERATOR_PERMISSIONS)
    assert group_permissions(roles.MANAGERS) == set(roles.MANAGER_PERMISSIONS)
    assert f"Operators: {len(roles.OPERATOR_PERMISSIONS)} permissions" in out.getvalue()


def test_setup_roles_restores_a_changed_group():
    roles.setup_roles()
    operators = Group.objects.get(name=roles.OPERATORS)
    operators.permissions.add(Permission.objects.get(codename="delete_voicemessage"))
    roles.setup_roles()
    assert "voicemessages.delete_voicemessage" not in group_permissions(roles.OPERATORS)


def test_roles_say_what_each_may_do():
    operators = set(roles.OPERATOR_PERMISSIONS)
    managers = set(roles.MANAGER_PERMISSIONS)
    assert {
        "voicemessages.view_voicemessage",
        "calls.send_voicemessage",
        "calls.view_call",
        "calls.refresh_call",
    } <= operators
    # Operators may put a number on the stop list and add contacts, lists and consents (import);
    # they create, change or delete nothing else.
    assert {"audiences.view_stoplistentry", "audiences.add_stoplistentry"} <= operators
    models = ("stoplistentry", "contact", "contactlist", "membership", "consent")
    adding = {f"audiences.add_{model}" for model in models} | {"schedules.add_schedule"}
    assert adding <= operators  # and repeating broadcasts (schedules): they create and pause them
    others = operators - adding
    assert not any(code.split(".")[1].startswith(("add_", "change_", "delete_")) for code in others)
    assert {"audiences.change_stoplistentry", "audiences.delete_stoplistentry"} <= managers
    assert "voicemessages.sync_voicemessages" not in operators
    assert operators < managers
    assert {
        "voicemessages.add_voicemessage",
        "voicemessages.change_voicemessage",
        "voicemessages.delete_voicemessage",
        "voicemessages.sync_voicemessages",
    } <= managers


def run_roles_migration(loader, name):
    """Run migration `name`'s function against its own historical models, with no groups yet."""
    Group.objects.filter(name__in=roles.ROLES).delete()
    migration = loader.get_migration("exolve_portal", name)
    state = loader.project_state(("exolve_portal", name), at_end=False)
    migration.operations[0].code(state.apps, None)


def assert_roles_in_full():
    assert group_permissions(roles.OPERATORS) == set(roles.OPERATOR_PERMISSIONS)
    assert group_permissions(roles.MANAGERS) == set(roles.MANAGER_PERMISSIONS)


def test_the_data_migration_creates_the_roles_on_a_fresh_install():
    run_roles_migration(MigrationLoader(connection), "0001_staff_roles")
    assert_roles_in_full()


def test_the_roles_migration_after_the_stop_list_applies_them_in_full():
    """0001 and 0003 run before the stop list's model is the audiences app's on a fresh install
    (0003 applies what it can); 0004 applies the roles again, in full."""
    loader = MigrationLoader(connection)
    assert ("calls", "0007_reaching_people") in loader.graph.node_map[("exolve_portal", "0003_stop_list_roles")].parents
    run_roles_migration(loader, "0003_stop_list_roles")
    last = loader.graph.node_map[("exolve_portal", "0004_stop_list_roles_in_audiences")].parents
    assert ("audiences", "0001_stop_list_from_calls") in last
    run_roles_migration(loader, "0004_stop_list_roles_in_audiences")
    assert_roles_in_full()


def test_the_first_roles_migration_skips_permissions_that_do_not_exist_yet():
    Permission.objects.filter(codename__endswith="_stoplistentry").delete()
    roles.setup_roles(skip_missing=True)
    assert "audiences.add_stoplistentry" not in group_permissions(roles.OPERATORS)
    assert "calls.view_call" in group_permissions(roles.OPERATORS)


def test_a_missing_permission_is_explained():
    Permission.objects.filter(codename="refresh_call").delete()
    with pytest.raises(roles.MissingPermission, match="calls.refresh_call"):
        roles.setup_roles()


# --- What each role can do through the admin and the pages --------------------------


def test_operator_cannot_delete_a_voice_message(client, english, voice_message, sandbox):
    client.force_login(make_staff("op", roles.OPERATORS))
    delete_url = reverse("admin:voicemessages_voicemessage_delete", args=[voice_message.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    # Nor through the list's "delete selected" action (it is not offered; posting it does nothing).
    changelist = reverse("admin:voicemessages_voicemessage_changelist")
    page = client.get(changelist)
    assert page.status_code == 200 and 'value="delete_selected"' not in page.content.decode()
    client.post(changelist, {"action": "delete_selected", "_selected_action": [voice_message.pk], "post": "yes"})
    assert type(voice_message).objects.filter(pk=voice_message.pk).exists()
    assert sandbox.count(DELETE) == 0
    assert client.get(reverse("admin:voicemessages_voicemessage_add")).status_code == 403


def test_operator_sends_and_reads_calls(client, english, voice_message):
    client.force_login(make_staff("op", roles.OPERATORS))
    for name in ("portal:dashboard", "portal:send", "portal:calls"):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("admin:calls_call_changelist")).status_code == 200
    assert client.get(reverse("admin:calls_broadcast_send"), follow=True).status_code == 200


def test_manager_may_delete_and_sync(client, english, voice_message, sandbox):
    client.force_login(make_staff("boss", roles.MANAGERS))
    assert client.get(reverse("admin:voicemessages_voicemessage_delete", args=[voice_message.pk])).status_code == 200
    assert client.get(reverse("admin:voicemessages_voicemessage_add")).status_code == 200
    response = client.post(reverse("admin:voicemessages_voicemessage_delete", args=[voice_message.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not type(voice_message).objects.filter(pk=voice_message.pk).exists()
    assert sandbox.count(DELETE) == 1
