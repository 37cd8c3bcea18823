"""No URL of the portal, whatever its ids and query string say, is a 500, and no table is longer than its page.

Walks every URL pattern of the project (the admin's included) with ids that do not fit
their column (beyond 64 bits, negative, zero, not a number, a NUL character) and with
query strings that ask for huge pages, dates at the ends of the calendar and filters
on ids no column can hold, as a superuser and as an Operator.
"""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from audiences.models import StopListEntry
from calls.models import Broadcast, Call
from exolve_portal.roles import OPERATORS
from jobs.models import Job, JobState
from pages.jobs import EXPORT
from pages.tables import PER_PAGE
from tests.factories import make_staff
from tests.pages_helpers import bulk_calls, make_broadcast
from voicemessages.models import OrphanedVoiceMessage, VoiceMessage

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"
# What a path's id is replaced with: beyond 64 bits, zero, not a number with a NUL.
HOSTILE_IDS = [HUGE, "0", "x%00"]

# The admin's change lists refuse the first parameter they do not know (and redirect),
# so each of theirs is asked on its own, on every change list.
ADMIN_QUERIES = [
    f"p={HUGE}",
    "p=-1",
    "all=",
    "o=999",
    "q=%00",
    f"q={HUGE}",
    f"broadcast={HUGE}",
    "broadcast=-1",
    f"voice_message={HUGE}",
    "voice_message=x",
    f"created_by={HUGE}",
    "status=%00",
    "queued_at__gte=0001-01-01",
    "queued_at__lt=9999-12-31",
    "created_at__gte=0001-01-01&created_at__lt=9999-12-31",
    "start_at__gte=9999-12-31",
    "added_at__lt=0001-01-01",
    f"action_time__year={HUGE}",
    "action_time__month=13",
    f"id__exact={HUGE}",
    "_to_field=%00",
]
# The portal's pages report every bad field and ignore it: a few strings test them all.
PORTAL_QUERIES = [
    f"per_page=100000&page={HUGE}&sort=%00&broadcast={HUGE}&date_from=0001-01-01&date_to=9999-12-31"
    f"&voice_message={HUGE}&number=%00&message=%00&outcome=%00&source=%00&return=%00",
    f"page=-1&broadcast=-1&date_from={HUGE}&date_to=0001-01-01&number={HUGE}&voice_message=x",
    "page=x&broadcast=1%00&date_from=9999-12-31&date_to=9999-12-31",
]
# All at once, after a path with a real id.
ALL_QUERIES = "&".join(ADMIN_QUERIES + PORTAL_QUERIES)
HOSTILE_FORM = {
    "per_page": "100000",
    "page": HUGE,
    "broadcast": HUGE,
    "voice_message": HUGE,
    "source": "\x00",
    "numbers": HUGE,
    "date_from": "0001-01-01",
    "date_to": "9999-12-31",
    "start_at": "9999-12-31T23:59",
    "q": "\x00",
    "confirmed": "yes",
    "post": "yes",
    "action": "delete_selected",
    "_selected_action": HUGE,
    "select_across": "0",
    "index": "0",
}

CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def url_patterns(patterns=None, prefix=""):
    """(route with its placeholders, pattern name) of every URL the project serves."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.name or ""


def placeholders(route: str) -> list[str]:
    return [m["name"] for m in CONVERTER.finditer(route)] + [m["name"] for m in REGEX_GROUP.finditer(route)]


def fill(route: str, values: dict) -> str:
    route = CONVERTER.sub(lambda m: values[m["name"]], route)
    return "/" + REGEX_GROUP.sub(lambda m: values[m["name"]], route)


def model_of(name: str):
    """The model an admin URL name (``calls_call_change``) or a portal URL name is about."""
    for model in apps.get_models():
        if name.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
            return model
    if name.startswith("broadcast"):
        return Broadcast
    if name in ("job", "calls_export_download"):
        return Job
    return None


def paths(route: str, name: str, existing: dict) -> list[str]:
    """The route with each of its ids hostile in turn, and once with real ones (and every query at once)."""
    names = placeholders(route)
    if not names:
        return ["/" + route]
    real = {}
    model = model_of(name)
    for placeholder in names:
        if placeholder == "app_label":
            real[placeholder] = "calls"
        elif placeholder == "content_type_id":
            real[placeholder] = str(ContentType.objects.get_for_model(Broadcast).pk)
        elif placeholder == "url":
            real[placeholder] = "calls/nothing/"
        else:
            real[placeholder] = str(existing.get(model or Broadcast, existing[Broadcast]))
    found = [fill(route, real) + "?" + ALL_QUERIES]
    for hostile in HOSTILE_IDS:
        found.append(fill(route, dict.fromkeys(names, hostile)))
    return found


@pytest.fixture
def existing(sandbox, db):
    """One row of each kind a URL can name, so pages with a real id are walked too."""
    from tests.factories_calls import make_call

    message = VoiceMessage.objects.create(name="Greeting", media_id=1967)
    broadcast = make_broadcast(message)
    call = make_call(message, broadcast=broadcast)
    victim = User.objects.create_user("someone-else", is_staff=True)
    job = Job.objects.create(
        kind=EXPORT, state=JobState.DONE, params={"format": "csv"}, result={"rows": 0, "file": "", "filename": "x.csv"}
    )
    entry = StopListEntry.objects.create(number="79990000000")
    orphan = OrphanedVoiceMessage.objects.create(name="gone", exolve_id="999")
    log = LogEntry.objects.log_actions(victim.pk, [broadcast], ADDITION, single_object=True)
    return {
        VoiceMessage: message.pk,
        Broadcast: broadcast.pk,
        Call: call.pk,
        User: victim.pk,
        Job: job.pk,
        StopListEntry: entry.pk,
        OrphanedVoiceMessage: orphan.pk,
        LogEntry: log.pk,
    }


def failure(response) -> str:
    """The exception behind a 500, in a line."""
    exc_info = getattr(response, "exc_info", None)
    return repr(exc_info[1])[:200] if exc_info else "500"


def queries_for(path: str, name: str) -> list[str]:
    if "?" in path:
        return [""]
    if name.endswith("_changelist") or ("_export_" in name and path.startswith("/admin/")):
        return ADMIN_QUERIES
    return PORTAL_QUERIES


def walk(client, login, existing, *, post: bool) -> list[str]:
    """Every URL with hostile ids and queries; the ones that answered 500."""
    failures = []
    for route, name in url_patterns():
        if name == "logout":
            continue  # it would end the session the walk runs in
        login()
        for index, path in enumerate(paths(route, name, existing)):
            for query in queries_for(path, name):
                url = f"{path}?{query}" if query else path
                response = client.get(url)
                if response.status_code == 500:
                    failures.append(f"GET {url}: {failure(response)}")
            if post and index < 2:  # with the real id and with one beyond 64 bits
                response = client.post(path.split("?")[0], HOSTILE_FORM)
                if response.status_code == 500:
                    failures.append(f"POST {path}: {failure(response)}")
    return failures


@pytest.mark.slow
def test_no_url_is_a_500_for_a_superuser(existing, english, dummy_tasks):
    user = User.objects.create_superuser("root", password="pw")
    client = Client(raise_request_exception=False)
    failures = walk(client, lambda: client.force_login(user), existing, post=True)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_no_url_is_a_500_for_an_operator(existing, english, dummy_tasks):
    user = make_staff("operator", OPERATORS)
    client = Client(raise_request_exception=False)
    failures = walk(client, lambda: client.force_login(user), existing, post=False)
    assert not failures, "\n".join(failures)


def test_a_huge_per_page_shows_one_page(operator_page_client):
    broadcast = make_broadcast()
    bulk_calls(PER_PAGE + 10, broadcast=broadcast)
    for url in ("/portal/calls/", f"/portal/broadcasts/{broadcast.pk}/"):
        response = operator_page_client.get(url, {"per_page": "100000"})
        assert response.status_code == 200
        assert response.content.decode().count('id="call-') == PER_PAGE, url


def test_show_all_in_the_admin_shows_at_most_a_page():
    for model_admin in admin.site._registry.values():
        assert model_admin.list_per_page <= 100, model_admin
        assert model_admin.list_max_show_all <= 200, model_admin


def test_show_all_is_off_on_the_large_lists():
    for model in (Call, Broadcast, StopListEntry, VoiceMessage, OrphanedVoiceMessage, LogEntry):
        model_admin = admin.site._registry[model]
        assert model_admin.list_max_show_all <= model_admin.list_per_page, model


def test_out_of_range_filters_are_form_errors_and_list_nothing_wrong(operator_page_client):
    bulk_calls(3)
    response = operator_page_client.get(
        "/portal/calls/", {"broadcast": HUGE, "date_from": "0001-01-01", "date_to": "9999-12-31"}
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"broadcast", "date_from", "date_to"}
    assert response.content.decode().count('id="call-') == 3  # the bad filters are reported and ignored


def test_a_page_past_the_end_shows_the_last_one(operator_page_client):
    bulk_calls(PER_PAGE + 10)
    response = operator_page_client.get("/portal/calls/", {"page": HUGE})
    assert response.status_code == 200
    assert response.context["table"].page.number == 2


@pytest.mark.parametrize(
    "query", [f"broadcast={HUGE}", "broadcast=-1", f"voice_message={HUGE}", "queued_at__gte=0001-01-01", "status=%00"]
)
def test_admin_filters_beyond_their_column_list_nothing(admin_client, query):
    bulk_calls(3)
    response = admin_client.get(f"/admin/calls/call/?{query}")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_an_id_no_filter_checks_is_the_400_page(admin_user):
    """Django's admin filters on any field the URL names: SQLite cannot bind an id beyond 64 bits."""
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    response = client.get(f"/admin/calls/broadcast/?created_by={HUGE}")
    if connection.vendor == "postgresql":
        assert response.status_code == 200  # compared as a number: nothing matches
    else:
        assert response.status_code == 400
        assert "The request could not be accepted" in response.content.decode()
