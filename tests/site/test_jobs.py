"""Background jobs: the sync button, bulk deletes and refreshes of many calls never wait on Exolve.

Through the real entry points (the admin and the staff pages with the test client,
the sandbox with faults) and the real `db_worker` loop (``worker()``), on the
database backend the settings use.
"""

import time
from datetime import timedelta

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from calls.sending import send_queued_calls
from exolve_portal import roles
from jobs.models import Job, JobState
from jobs.tasks import run_job, start_job
from tests.factories import (
    DELETE,
    GET_INFO,
    GET_LIST,
    SENDER_PERMS,
    VoiceMessageFactory,
    make_staff,
    synced_voice_message,
)
from tests.factories_calls import queue
from voicemessages.models import VoiceMessage

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:voicemessages_voicemessage_changelist"
SYNC = "admin:voicemessages_voicemessage_sync"
CALLS = "admin:calls_call_changelist"
CALL_GET_INFO = "call/v1/GetInfo"
# Exolve answers this slowly in the "slow Exolve" tests; the request must not notice.
SLOW = 2.0


def timed_post(client, url, data=None):
    started = time.monotonic()
    response = client.post(url, data or {})
    return response, time.monotonic() - started


def job_of(response) -> Job:
    assert response.status_code == 302, response.status_code
    job = Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert response["Location"] == reverse("jobs:job", args=[job.pk])
    return job


# --- Sync from Exolve -------------------------------------------------------------------


def test_sync_button_returns_at_once_with_a_slow_exolve_and_the_job_then_syncs(
    sandbox_unthrottled, manager_client, worker
):
    remote_id = sandbox_unthrottled.add_voice_message("From Exolve", media_id=1979)
    sandbox_unthrottled.add_fault("latency", GET_LIST, seconds=SLOW)

    response, took = timed_post(manager_client, reverse(SYNC))

    assert took < SLOW / 2, f"the request waited {took:.1f} s"
    job = job_of(response)
    assert (job.kind, job.state, job.started_by.username) == ("voicemessages.sync", JobState.WAITING, "manager")
    assert sandbox_unthrottled.count(GET_LIST) == 0 and not VoiceMessage.objects.exists()
    waiting = manager_client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh"' in waiting and "Waiting for a background worker" in waiting

    worker()

    assert VoiceMessage.objects.get().exolve_id == remote_id
    done = manager_client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh"' not in done
    assert "Synced from Exolve: created 1, updated 0, unchanged 0, missing 0, failed 0." in done
    job.refresh_from_db()
    assert (job.state, job.done, job.total) == (JobState.DONE, 1, 1)


def test_a_second_click_while_a_sync_runs_shows_the_running_one(sandbox_unthrottled, manager_client, client, worker):
    first = job_of(manager_client.post(reverse(SYNC)))
    other_manager = make_staff("other-manager", roles.MANAGERS)
    client.force_login(other_manager)

    again = client.post(reverse(SYNC), follow=True)

    assert again.redirect_chain[-1][0] == reverse("jobs:job", args=[first.pk])
    assert "A sync from Exolve is already under way" in again.content.decode()
    assert Job.objects.count() == 1
    worker()
    assert sandbox_unthrottled.count(GET_LIST) == 1
    # Once it has finished, the button starts a new one.
    assert job_of(manager_client.post(reverse(SYNC))).pk != first.pk


def test_a_sync_whose_worker_stopped_does_not_block_the_button(sandbox_unthrottled, manager_client, settings):
    stuck = job_of(manager_client.post(reverse(SYNC)))
    long_ago = timezone.now() - timedelta(seconds=settings.JOBS_STALE_AFTER + 1)
    Job.objects.filter(pk=stuck.pk).update(state=JobState.RUNNING, updated_at=long_ago)

    fresh = job_of(manager_client.post(reverse(SYNC)))

    assert fresh.pk != stuck.pk
    page = manager_client.get(reverse("jobs:job", args=[stuck.pk])).content.decode()
    assert "The background worker stopped while doing this job" in page
    assert Job.objects.get(pk=stuck.pk).state == JobState.FAILED


def test_a_job_that_crashes_is_failed_with_a_plain_message(sandbox_unthrottled, manager_client, worker, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("voicemessages.jobs.sync_voice_messages", broken)
    job = job_of(manager_client.post(reverse(SYNC)))

    worker()

    page = manager_client.get(reverse("jobs:job", args=[job.pk])).content.decode()
    assert "An unexpected error stopped this job" in page and "(RuntimeError)" in page
    assert Job.objects.get(pk=job.pk).state == JobState.FAILED


def test_a_job_runs_once_even_if_its_task_runs_twice(sandbox_unthrottled, manager, worker):
    sandbox_unthrottled.add_voice_message("From Exolve", media_id=1979)
    job, started = start_job("voicemessages.sync", user=manager, exclusive=True)
    worker()

    run_job.call(job.pk)

    assert started and sandbox_unthrottled.count(GET_LIST) == 1


def test_with_a_backend_that_runs_at_once_the_job_is_done_when_the_page_opens(
    sandbox_unthrottled, manager_client, immediate_tasks
):
    remote_id = sandbox_unthrottled.add_voice_message("From Exolve", media_id=1979)

    response = manager_client.post(reverse(SYNC), follow=True)

    assert response.context["job"].state == JobState.DONE
    assert VoiceMessage.objects.get().exolve_id == remote_id


# --- Bulk delete ------------------------------------------------------------------------


def bulk_delete(client, messages):
    return client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "post": "yes", "_selected_action": [m.pk for m in messages]},
    )


def test_bulk_delete_of_many_asks_django_first_then_runs_as_a_job_that_reports_each_failure(
    sandbox_unthrottled, manager_client, manager, worker, settings
):
    settings.EXOLVE_DELETE_IN_REQUEST = 2
    settings.EXOLVE_MAX_IN_FLIGHT = 1  # in order, so the fault hits the first message
    first = VoiceMessageFactory(name="First")
    others = VoiceMessageFactory.create_batch(3)
    selected = [first, *others]
    confirmation = manager_client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [m.pk for m in selected]}
    )
    assert "Are you sure" in confirmation.content.decode()  # Django's own page
    sandbox_unthrottled.add_fault("http_error", DELETE, times=1, status=403)
    sandbox_unthrottled.add_fault("latency", DELETE, seconds=SLOW)

    response, took = timed_post(
        manager_client,
        reverse(CHANGELIST),
        {"action": "delete_selected", "post": "yes", "_selected_action": [m.pk for m in selected]},
    )

    assert took < SLOW / 2
    job = job_of(response)
    assert (job.kind, job.total) == ("voicemessages.delete", 4)
    assert sandbox_unthrottled.count(DELETE) == 0 and VoiceMessage.objects.count() == 4
    worker()
    page = manager_client.get(response["Location"]).content.decode()
    assert "Deleted 3 voice messages at Exolve and here" in page
    assert "“First” was not deleted" in page and "It is still at Exolve." in page
    assert set(VoiceMessage.objects.values_list("pk", flat=True)) == {first.pk}
    assert set(sandbox_unthrottled.voice_messages()) == {first.exolve_id}
    logged = LogEntry.objects.filter(action_flag=DELETION)
    assert {entry.object_id for entry in logged} == {str(m.pk) for m in others}
    assert {entry.user_id for entry in logged} == {manager.pk}
    assert f'href="{reverse(CHANGELIST)}"' in page


def test_bulk_delete_of_a_few_stays_in_the_request(sandbox_unthrottled, manager_client, settings):
    settings.EXOLVE_DELETE_IN_REQUEST = 2
    messages = VoiceMessageFactory.create_batch(2)

    response = bulk_delete(manager_client, messages)

    assert response.status_code == 302 and response["Location"].startswith(reverse(CHANGELIST))
    assert not Job.objects.exists() and not VoiceMessage.objects.exists()


# --- Refreshing many calls --------------------------------------------------------------


NUMBERS = ["79991234561", "79991234566", "79991234567"]
FINAL = {"79991234561": "completed", "79991234566": "no_answer", "79991234567": "busy"}


@pytest.fixture
def sent_calls(voice_message, sandbox, settings):
    settings.EXOLVE_REFRESH_IN_REQUEST = 2
    broadcast = queue(voice_message, NUMBERS)
    send_queued_calls(broadcast.pk)
    sandbox.advance(60)
    sandbox.add_fault("latency", CALL_GET_INFO, seconds=SLOW)
    return broadcast


def test_refresh_statistics_of_many_calls_runs_as_a_job(sent_calls, client, sandbox, worker, english):
    operator = make_staff(perms=SENDER_PERMS)
    client.force_login(operator)
    filtered = reverse(CALLS) + "?state=sent"

    response, took = timed_post(
        client,
        filtered,
        {"action": "refresh_statistics", "_selected_action": list(sent_calls.calls.values_list("pk", flat=True))},
    )

    assert took < SLOW / 2
    job = job_of(response)
    assert (job.kind, job.total, job.started_by) == ("calls.refresh", 3, operator)
    assert sandbox.count(CALL_GET_INFO) == 0
    worker()
    assert dict(sent_calls.calls.values_list("destination", "status")) == FINAL
    page = client.get(response["Location"]).content.decode()
    assert "Refreshed 3 calls, 3 with a final status, 0 failed." in page
    assert f'href="{filtered}"' in page  # back to the filtered list


def test_refresh_button_of_a_broadcast_with_many_calls_runs_as_a_job(sent_calls, client, sandbox, worker, english):
    client.force_login(make_staff(perms=SENDER_PERMS))

    response, took = timed_post(client, reverse("portal:broadcast_refresh", args=[sent_calls.pk]))

    assert took < SLOW / 2
    job = job_of(response)
    worker()
    assert dict(sent_calls.calls.values_list("destination", "status")) == FINAL
    page = client.get(reverse("jobs:job", args=[job.pk])).content.decode()
    assert "Refreshed 3 calls" in page
    assert f'href="{reverse("portal:broadcast", args=[sent_calls.pk])}"' in page


def test_refresh_of_a_few_calls_stays_in_the_request(sent_calls, client, sandbox, english):
    sandbox.clear_faults()
    client.force_login(make_staff(perms=SENDER_PERMS))
    two = list(sent_calls.calls.order_by("pk").values_list("pk", flat=True)[:2])

    response = client.post(reverse(CALLS), {"action": "refresh_statistics", "_selected_action": two})

    assert response.status_code == 302 and not Job.objects.exists()
    assert sandbox.count(CALL_GET_INFO) == 2


# --- Who may see a job ------------------------------------------------------------------


@pytest.fixture
def finished_job(sandbox_unthrottled, manager):
    synced_voice_message(sandbox_unthrottled, "Kept")
    job, _started = start_job("voicemessages.sync", user=manager, exclusive=True)
    run_job.call(job.pk)
    return job


def test_the_progress_page_is_for_the_starter_managers_and_superusers(finished_job, client, sandbox_unthrottled):
    url = reverse("jobs:job", args=[finished_job.pk])
    assert client.get(url)["Location"].startswith(reverse("admin:login"))  # anonymous

    client.force_login(User.objects.create_user("customer", password="x", is_staff=False))
    assert client.get(url)["Location"].startswith(reverse("admin:login"))

    client.force_login(make_staff("operator-x", roles.OPERATORS))  # staff, but not theirs
    assert client.get(url).status_code == 403

    for user in (
        finished_job.started_by,
        make_staff("manager-x", roles.MANAGERS),
        User.objects.create_superuser("root", password="x"),
    ):
        client.force_login(user)
        page = client.get(url)
        assert page.status_code == 200, user
        assert "unchanged 1" in page.content.decode()

    assert client.post(url).status_code == 405
    assert client.get(reverse("jobs:job", args=[finished_job.pk + 1000])).status_code == 404
    assert sandbox_unthrottled.count(GET_INFO) == 2  # seeding and the sync: looking at the page asks Exolve nothing
