"""Long lists count at most a bounded number of rows, then use PostgreSQL's estimate ("about N")."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse

from calls.admin_calls import StatusFilter
from calls.models import Call, seen_statuses
from exolve_portal import pagination
from exolve_portal.pagination import EstimatingPaginator, about
from tests.pages_helpers import bulk_calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)


def test_under_the_limit_the_count_is_exact():
    bulk_calls(12)
    paginator = EstimatingPaginator(Call.objects.order_by("pk"), 5)
    assert paginator.count == 12
    assert not paginator.estimated
    assert paginator.num_pages == 3


def test_over_the_limit_postgresql_estimates_and_other_databases_count(small_limit):
    bulk_calls(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "SELECT 1")
    paginator = EstimatingPaginator(Call.objects.order_by("pk"), 10)
    assert paginator.count == 40  # on PostgreSQL, fresh statistics: the estimate is the table's size
    assert paginator.estimated == (connection.vendor == "postgresql")


def test_a_filter_over_the_limit_is_never_estimated_below_it(small_limit):
    bulk_calls(30)
    paginator = EstimatingPaginator(Call.objects.filter(destination__startswith="7").order_by("pk"), 10)
    assert paginator.count >= 6  # at least what the bounded count saw


def test_about_rounds_to_two_significant_digits():
    assert about(7) == 7
    assert about(42) == 42
    assert about(999_873) == 1_000_000
    assert about(123_456) == 120_000


def test_a_list_that_is_not_a_queryset_is_counted():
    assert EstimatingPaginator(list(range(23)), 10).count == 23


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="estimates are PostgreSQL's")
def test_the_calls_pages_say_about_when_estimated(small_limit, admin_client, operator_page_client):
    bulk_calls(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    page = operator_page_client.get(reverse("portal:calls")).content.decode()
    assert "about 40 calls" in page
    admin = admin_client.get(reverse("admin:calls_call_changelist")).content.decode()
    assert "about 40 calls" in admin


def test_the_admin_counts_exactly_under_the_limit(admin_client, english):
    bulk_calls(3)
    page = admin_client.get(reverse("admin:calls_call_changelist")).content.decode()
    assert "3 calls" in page and "about" not in page.split('class="result-count"')[1][:40]


def test_seen_statuses_are_every_distinct_status_and_feed_the_filter():
    bulk_calls(30)
    Call.objects.filter(pk=Call.objects.order_by("pk").first().pk).update(status="play_audio_stop")
    stored = set(Call.objects.exclude(status="").values_list("status", flat=True))
    assert set(seen_statuses()) == stored
    assert "play_audio_stop" in stored
    offered = {value for value, _label in StatusFilter(None, {}, Call, None).lookups(None, None)}
    assert stored <= offered
    assert {"completed", "no_answer", "busy"} <= offered


def test_the_admin_page_builds_no_status_choices_by_reading_every_call(admin_client):
    bulk_calls(10)
    user = User.objects.get(username="admin")
    assert user.is_superuser
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse("admin:calls_call_changelist"))
    distinct = [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    assert distinct == []


def _contacts(count):
    from audiences.models import Contact

    Contact.objects.bulk_create([Contact(number=f"7916{index:07d}", name=f"N{index}") for index in range(count)])


def test_the_contacts_admin_counts_exactly_under_the_limit(admin_client, english):
    _contacts(3)
    page = admin_client.get(reverse("admin:audiences_contact_changelist")).content.decode()
    count = page.split('class="result-count"')[1][:60]
    assert "3 contacts" in count and "about" not in count
    assert "79160000002" in page


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="estimates are PostgreSQL's")
def test_the_contacts_admin_says_about_when_estimated_and_counts_no_further(small_limit, admin_client, english):
    from django.test.utils import CaptureQueriesContext

    _contacts(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(reverse("admin:audiences_contact_changelist")).content.decode()
    assert "about 40 contacts" in page
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "audiences_contact" in q["sql"]]
    assert counts and all("LIMIT 6" in sql for sql in counts), counts  # bounded: EXACT_COUNT_LIMIT + 1
