"""The broadcast page: progress, counts, its calls, self-refresh while pending, "refresh statistics now"."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from calls.sending import send_queued_calls
from tests.factories import make_staff
from tests.factories_calls import GET_INFO, queue
from tests.pages_helpers import OUTCOME_CASES, bulk_calls, count_queries, make_broadcast

pytestmark = pytest.mark.django_db


def url(broadcast):
    return reverse("portal:broadcast", args=[broadcast.pk])


def test_page_shows_progress_counts_calls_and_exports(operator_page_client):
    broadcast = make_broadcast(name="Flu shots")
    bulk_calls(len(OUTCOME_CASES), broadcast=broadcast)
    bulk_calls(3, broadcast=make_broadcast(name="Another"), destination="79995550000")
    response = operator_page_client.get(url(broadcast))
    assert response.status_code == 200
    counts = response.context["counts"]
    pending = sum(1 for case in OUTCOME_CASES if case[3] == "pending")
    assert counts["total"] == len(OUTCOME_CASES) and counts["pending"] == pending
    assert dict((outcome, n) for _label, outcome, n in counts["outcomes"])["failed"] == 3
    page = response.content.decode()
    assert 'id="broadcast-progress"' in page
    assert f'aria-valuenow="{len(OUTCOME_CASES) - pending}" aria-valuemax="{len(OUTCOME_CASES)}"' in page
    assert "79995550000" not in page  # only this broadcast's calls
    assert page.count('id="call-') == len(OUTCOME_CASES)
    assert f"{reverse('portal:calls_export_csv')}?broadcast={broadcast.pk}" in page
    assert f"{reverse('portal:calls_export_xlsx')}?broadcast={broadcast.pk}" in page


def test_page_refreshes_itself_only_while_calls_are_pending(operator_page_client):
    broadcast = make_broadcast()
    bulk_calls(1, broadcast=broadcast, state="queued", status="", call_id=None)
    assert '<meta http-equiv="refresh"' in operator_page_client.get(url(broadcast)).content.decode()
    broadcast.calls.update(state="finished", status="completed")
    page = operator_page_client.get(url(broadcast)).content.decode()
    assert '<meta http-equiv="refresh"' not in page
    assert 'id="broadcast-done-note"' in page


def test_invalid_numbers_are_listed_as_not_called(operator_page_client):
    broadcast = make_broadcast()
    broadcast.invalid_numbers = [["12345", "Too few digits for a phone number."]]
    broadcast.save()
    page = operator_page_client.get(url(broadcast)).content.decode()
    skipped = page[page.index('id="broadcast-skipped"') :]
    assert "12345" in skipped and "Too few digits" in skipped


def test_refresh_statistics_now_asks_exolve_and_shows_final_outcomes(
    operator_page_client, voice_message, dummy_tasks, sandbox
):
    broadcast = queue(voice_message, ["79991234561", "79991234567"])
    send_queued_calls(broadcast.pk)
    sandbox.advance(60)
    page = operator_page_client.get(url(broadcast)).content.decode()
    assert 'id="refresh-statistics"' in page
    response = operator_page_client.post(reverse("portal:broadcast_refresh", args=[broadcast.pk]))
    assert response.status_code == 302 and response.url == url(broadcast)
    assert sandbox.count(GET_INFO) == 2
    assert dict(broadcast.calls.values_list("destination", "status")) == {
        "79991234561": "completed",
        "79991234567": "busy",
    }
    page = operator_page_client.get(response.url)
    assert page.context["counts"]["pending"] == 0
    assert "Refreshed 2 calls, 2 with a final status" in page.content.decode()


def test_refresh_with_nothing_pending_says_so_and_asks_nobody(operator_page_client, sandbox):
    broadcast = make_broadcast()
    bulk_calls(1, broadcast=broadcast, state="finished", status="completed")
    response = operator_page_client.post(reverse("portal:broadcast_refresh", args=[broadcast.pk]), follow=True)
    assert "Nothing to refresh" in response.content.decode()
    assert sandbox.count(GET_INFO) == 0


def test_refresh_button_needs_its_permission(client, english, sandbox):
    broadcast = make_broadcast()
    bulk_calls(1, broadcast=broadcast, state="sent", status="", next_refresh_at=None)
    viewer = make_staff("viewer", perms=("calls.view_call", "calls.view_broadcast"))
    client.force_login(viewer)
    page = client.get(url(broadcast)).content.decode()
    assert 'id="refresh-statistics"' not in page
    assert client.post(reverse("portal:broadcast_refresh", args=[broadcast.pk])).status_code == 403
    assert sandbox.count(GET_INFO) == 0


def test_broadcast_page_queries_do_not_grow_with_rows(operator_page_client, django_assert_max_num_queries):
    small = make_broadcast()
    bulk_calls(10, broadcast=small)
    large = make_broadcast()
    bulk_calls(200, broadcast=large)
    _r, small_count = count_queries(operator_page_client, url(small))
    response, large_count = count_queries(operator_page_client, url(large))
    assert response.context["counts"]["total"] == 200
    assert large_count == small_count
    # One more on PostgreSQL: the calls table's paginator also asks the planner (pagination.py).
    # 14: the people per outcome for "New broadcast to these people" (calls/previous_people.py) are two.
    with django_assert_max_num_queries(14 + (connection.vendor == "postgresql")):
        operator_page_client.get(url(large), {"page": 2, "sort": "outcome"})


def test_refresh_button_restarts_a_broadcast_whose_sending_stopped(operator_page_client, sandbox, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    broadcast = make_broadcast()
    bulk_calls(
        2, broadcast=broadcast, state="queued", status="", call_id=None, when=timezone.now() - timedelta(minutes=10)
    )

    response = operator_page_client.post(reverse("portal:broadcast_refresh", args=[broadcast.pk]), follow=True)

    assert "Sending of this broadcast had stopped" in response.content.decode()
    assert DBTaskResult.objects.filter(task_path="calls.tasks.send_broadcast").count() == 1
