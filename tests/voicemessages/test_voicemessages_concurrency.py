"""Voice messages saved, changed and deleted while something else happens at the same time.

Through the admin with the Django test client against the sandbox over real HTTP,
counting at the sandbox:
- a sync that stores the new message while the admin's save waits for its Create;
- two people editing one message (an optimistic check on ``version``);
- no database lock held while Exolve answers (another writer is never locked out).

Tests that need a second database connection (another thread) are transactional: the
SQLite test database is in memory, shared between the threads of this process.
"""

import re
import threading
import time
from io import StringIO

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.urls import reverse

from exolve_portal.exolve.client import ExolveClient
from tests import factories
from tests.factories import (
    ADD,
    CREATE,
    DELETE,
    VOICE_MESSAGE_MANAGER_PERMISSIONS,
    change_url,
    delete_url,
    make_staff,
    synced_voice_message,
    texts,
)
from voicemessages.models import OrphanedVoiceMessage, VoiceMessage

STALE = "This voice message was changed by someone else meanwhile; reload it and make your change again."


def form_data(**overrides):
    # The redirect digit left empty, as a browser posts an untouched field.
    return factories.form_data(**{"redirect_digit": "", **overrides})


def version_in_form(response) -> str:
    """The version the change form carries, as the browser would post it back."""
    match = re.search(r'<input type="hidden" name="version" value="(\d+)"', response.content.decode())
    assert match, "the change form carries no version"
    return match.group(1)


def logged_in_client(username):
    user = make_staff(username, perms=VOICE_MESSAGE_MANAGER_PERMISSIONS)
    client = Client()
    client.force_login(user)
    return client


def in_thread(target):
    """Run ``target`` in another thread (its own database connection); return its result."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def result_of(thread, outcome):
    thread.join(timeout=30)
    assert not thread.is_alive()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@pytest.fixture
def during_create(monkeypatch):
    """``during_create(name, hook)``: once Exolve has created ``name``, run ``hook(new_id)``
    before the portal gets the answer (as if it happened while Create was answering)."""
    hooks = {}
    original = ExolveClient.create_voice_message

    def create_voice_message(self, name, *args, **kwargs):
        new_id = original(self, name, *args, **kwargs)
        if hook := hooks.pop(name, None):
            hook(new_id)
        return new_id

    monkeypatch.setattr(ExolveClient, "create_voice_message", create_voice_message)
    return hooks.__setitem__


def run_sync(_new_id=None):
    call_command("sync_voicemessages", stdout=StringIO(), stderr=StringIO())


# --- A sync meets a save ----------------------------------------------------------


def test_new_message_stored_by_a_sync_while_its_create_answers_is_saved_once(
    sandbox_http_unthrottled, manager_client, manager, during_create
):
    sandbox = sandbox_http_unthrottled.sandbox
    during_create("Promo", run_sync)

    response = manager_client.post(
        reverse(ADD), form_data(name="Promo", redirect_digit="3", redirect_number="79991234567"), follow=True
    )

    assert response.status_code == 200
    message = VoiceMessage.objects.get()
    assert set(sandbox.voice_messages()) == {message.exolve_id}
    assert (message.name, message.redirect_digit, message.redirect_number) == ("Promo", 3, "79991234567")
    assert message.created_by == manager
    assert message.exolve_created_at is not None  # kept from the sync's fuller answer
    assert sandbox.count(CREATE) == 1 and sandbox.count(DELETE) == 0
    assert any("A sync from Exolve stored this voice message at the same moment" in t for t in texts(response))
    assert LogEntry.objects.filter(action_flag=ADDITION, object_id=str(message.pk)).count() == 1


def test_changed_message_whose_new_copy_a_sync_stored_meanwhile_keeps_its_one_row(
    sandbox_http_unthrottled, manager_client, during_create, django_capture_on_commit_callbacks
):
    sandbox = sandbox_http_unthrottled.sandbox
    message = synced_voice_message(sandbox, "Old")
    old_id = message.exolve_id
    during_create("New", run_sync)

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(change_url(message), form_data(name="New", version=message.version), follow=True)

    assert response.status_code == 200
    row = VoiceMessage.objects.get()
    assert (row.pk, row.name) == (message.pk, "New")
    assert row.exolve_id != old_id
    assert set(sandbox.voice_messages()) == {row.exolve_id}  # the old copy deleted, the new one kept
    assert [entry["body"] for entry in sandbox.requests_log(DELETE)] == [{"id": old_id}]
    assert any("A sync from Exolve stored this voice message at the same moment" in t for t in texts(response))


# --- Two people edit one message ----------------------------------------------------


def test_edit_of_a_stale_copy_is_refused_with_what_was_typed_and_sends_nothing(
    sandbox_http_unthrottled, manager_client, django_capture_on_commit_callbacks
):
    sandbox = sandbox_http_unthrottled.sandbox
    message = synced_voice_message(sandbox, "Old")
    other = logged_in_client("colleague")
    # Both open the change form; the colleague saves first.
    version_a = version_in_form(manager_client.get(change_url(message)))
    version_b = version_in_form(other.get(change_url(message)))
    with django_capture_on_commit_callbacks(execute=True):
        assert other.post(change_url(message), form_data(name="From B", version=version_b)).status_code == 302
    creates = sandbox.count(CREATE)

    response = manager_client.post(change_url(message), form_data(name="From A", media_id="1979", version=version_a))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert STALE in form.non_field_errors()
    assert STALE in response.content.decode()
    assert (form["name"].value(), form["media_id"].value()) == ("From A", "1979")  # nothing typed is lost
    assert sandbox.count(CREATE) == creates  # refused before anything was sent
    row = VoiceMessage.objects.get()
    assert row.name == "From B"
    assert set(sandbox.voice_messages()) == {row.exolve_id}
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 1  # only the colleague's


def test_change_form_without_its_version_is_refused(sandbox_http_unthrottled, manager_client):
    message = synced_voice_message(sandbox_http_unthrottled.sandbox, "Old")

    response = manager_client.post(change_url(message), form_data(name="New"))

    assert response.status_code == 200
    assert STALE in response.context["adminform"].form.non_field_errors()
    assert sandbox_http_unthrottled.sandbox.count(CREATE) == 0


@pytest.mark.django_db(transaction=True)
def test_edit_whose_message_changes_while_its_create_answers_is_refused_and_its_create_undone(
    sandbox_http_unthrottled, during_create
):
    sandbox = sandbox_http_unthrottled.sandbox
    message = synced_voice_message(sandbox, "Old")
    old_id = message.exolve_id
    first, second = logged_in_client("first"), logged_in_client("second")
    version = version_in_form(first.get(change_url(message)))
    assert version_in_form(second.get(change_url(message))) == version
    created_for_first = []

    def second_saves_meanwhile(new_id):
        created_for_first.append(new_id)
        thread, outcome = in_thread(
            lambda: second.post(change_url(message), form_data(name="From second", version=version))
        )
        assert result_of(thread, outcome).status_code == 302

    during_create("From first", second_saves_meanwhile)

    response = first.post(change_url(message), form_data(name="From first", version=version))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert STALE in form.non_field_errors()
    assert form["name"].value() == "From first"
    row = VoiceMessage.objects.get()
    assert row.name == "From second"
    assert sandbox.count(CREATE) == 2
    # The first person's new copy is undone; the old one went when the second's save committed.
    assert {entry["body"]["id"] for entry in sandbox.requests_log(DELETE)} == {old_id, created_for_first[0]}
    assert set(sandbox.voice_messages()) == {row.exolve_id}
    assert not OrphanedVoiceMessage.objects.exists()


# --- No database lock while Exolve answers -------------------------------------------


def write_elsewhere():
    """A write on another connection, as a worker or a second request would make."""
    return OrphanedVoiceMessage.objects.create(exolve_id="elsewhere", name="written meanwhile", reason="not_stored")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["add", "change", "delete"])
def test_another_writer_is_not_locked_out_while_exolve_answers(sandbox_http_unthrottled, manager_client, action):
    sandbox = sandbox_http_unthrottled.sandbox
    message = synced_voice_message(sandbox, "Old")
    endpoint = DELETE if action == "delete" else CREATE
    sandbox.add_fault("latency", endpoint, seconds=1.5)
    url, data = {
        "add": (reverse(ADD), form_data(name="New")),
        "change": (change_url(message), form_data(name="New", version=message.version)),
        "delete": (delete_url(message), {"post": "yes"}),
    }[action]
    thread, outcome = in_thread(lambda: manager_client.post(url, data))
    time.sleep(0.5)  # the request is waiting for Exolve now
    try:
        write_elsewhere()  # "database is locked" here while the request holds the write lock
        written_while_exolve_answered = thread.is_alive()
    finally:
        response = result_of(thread, outcome)

    assert written_while_exolve_answered, "the write was meant to happen while Exolve was answering"
    assert response.status_code == 302
    assert OrphanedVoiceMessage.objects.filter(exolve_id="elsewhere").exists()
    if action == "delete":
        assert not VoiceMessage.objects.exists() and sandbox.voice_messages() == {}
    else:
        assert VoiceMessage.objects.filter(name="New").count() == 1
