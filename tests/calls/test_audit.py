"""The audit trail: who sent each broadcast shows in the admin's log, next to message edits."""

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType

from calls.models import Broadcast
from calls.recording import create_broadcast
from tests.factories import SENDER_PERMS, make_staff
from tests.factories_calls import SOURCE


@pytest.mark.django_db
def test_sending_a_broadcast_records_who_sent_it_in_the_audit_log(voice_message, dummy_tasks):
    sender = make_staff("sender", perms=SENDER_PERMS)

    broadcast = create_broadcast(voice_message, SOURCE, ["79991234561", "79991234562"], sender, "audit-token")

    entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(Broadcast))
    assert entry.user == sender
    assert entry.action_flag == ADDITION
    assert entry.object_id == str(broadcast.pk)
    assert "2" in entry.get_change_message()


@pytest.mark.django_db
def test_a_double_submitted_send_is_audited_once(voice_message, dummy_tasks):
    sender = make_staff("sender", perms=SENDER_PERMS)

    create_broadcast(voice_message, SOURCE, ["79991234561"], sender, "same-token")
    create_broadcast(voice_message, SOURCE, ["79991234561"], sender, "same-token")

    assert LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Broadcast)).count() == 1


@pytest.mark.django_db
def test_the_audit_log_is_visible_but_read_only_in_the_admin(admin_client):
    changelist = admin_client.get("/admin/admin/logentry/")
    add = admin_client.get("/admin/admin/logentry/add/")

    assert changelist.status_code == 200
    assert add.status_code == 403


@pytest.mark.django_db
def test_managers_read_the_audit_log_and_operators_do_not(client):
    from django.contrib.auth.models import Group, User

    manager = User.objects.create_user("manager", password="pw", is_staff=True)
    manager.groups.add(Group.objects.get(name="Managers"))
    operator = User.objects.create_user("operator", password="pw", is_staff=True)
    operator.groups.add(Group.objects.get(name="Operators"))

    client.force_login(manager)
    assert client.get("/admin/admin/logentry/").status_code == 200
    client.force_login(operator)
    assert client.get("/admin/admin/logentry/").status_code == 403
