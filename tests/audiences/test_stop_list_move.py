"""The stop list's model moved from calls to audiences (audiences 0001, calls 0009): an
existing database keeps its numbers, and its permissions, groups and audit entries follow."""

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from audiences.models import StopListEntry
from exolve_portal import roles
from tests.factories import make_staff

BEFORE = [("audiences", None), ("calls", "0008_claim_index_only"), ("exolve_portal", "0003_stop_list_roles")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([node for node in targets if node[1]]).apps


@pytest.mark.django_db(transaction=True)
def test_an_existing_stop_list_moves_with_its_permissions_groups_and_audit_entries():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = migrate(BEFORE)
    try:
        assert not ContentType.objects.filter(app_label="audiences", model="stoplistentry").exists()
        old_type = ContentType.objects.get(app_label="calls", model="stoplistentry")
        entry = old.get_model("calls", "StopListEntry").objects.create(number="79991234561", reason="complaint")
        group = Group.objects.create(name="Stop-list keepers")
        group.permissions.set(Permission.objects.filter(content_type=old_type))
        user = old.get_model("auth", "User").objects.create(username="lead")
        LogEntry.objects.create(
            user_id=user.pk,
            content_type_id=old_type.pk,
            object_id=str(entry.pk),
            object_repr=entry.number,
            action_flag=ADDITION,
        )
    finally:
        migrate(leaves)

    moved = ContentType.objects.get_for_model(StopListEntry)
    assert (moved.app_label, moved.pk) == ("audiences", old_type.pk)
    assert not ContentType.objects.filter(app_label="calls", model="stoplistentry").exists()
    assert StopListEntry.objects.get(pk=entry.pk).reason == "complaint"
    kept = Group.objects.get(name="Stop-list keepers")
    assert {f"{p.content_type.app_label}.{p.codename}" for p in kept.permissions.all()} == {
        "audiences.view_stoplistentry",
        "audiences.add_stoplistentry",
        "audiences.change_stoplistentry",
        "audiences.delete_stoplistentry",
    }
    (logged,) = LogEntry.objects.filter(object_id=str(entry.pk))
    assert logged.content_type == moved and logged.get_edited_object() == StopListEntry.objects.get(pk=entry.pk)
    # The roles name the permissions where they now are.
    assert Group.objects.get(name="Operators").permissions.filter(content_type=moved, codename="add_stoplistentry")


@pytest.mark.django_db
def test_the_old_address_of_the_stop_list_leads_to_it(client):
    client.force_login(make_staff("op", roles.OPERATORS))
    response = client.get("/admin/calls/stoplistentry/?q=79991234561")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:audiences_stoplistentry_changelist") + "?q=79991234561"
    assert client.get(response["Location"]).status_code == 200
