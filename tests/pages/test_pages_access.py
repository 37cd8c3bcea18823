"""Every staff page and POST endpoint: login first, then the permission; never a 500."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.factories import make_staff
from tests.pages_helpers import bulk_calls, make_broadcast

pytestmark = pytest.mark.django_db


@pytest.fixture
def broadcast(db):
    broadcast = make_broadcast()
    bulk_calls(3, broadcast=broadcast)
    return broadcast


def page_urls(broadcast):
    return [
        reverse("portal:dashboard"),
        reverse("portal:send"),
        reverse("portal:calls"),
        reverse("portal:calls_export_csv"),
        reverse("portal:calls_export_xlsx"),
        reverse("portal:broadcast", args=[broadcast.pk]),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, broadcast, english):
    for url in page_urls(broadcast) + [reverse("portal:broadcast_refresh", args=[broadcast.pk])]:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, (method, url)
            assert response.url.startswith(reverse("admin:login")), url
            assert "next=" in response.url


def test_logged_in_non_staff_users_are_sent_to_the_login_page(client, broadcast, english):
    client.force_login(make_staff("customer", is_staff=False))
    for url in page_urls(broadcast):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("admin:login")), url


def test_staff_without_permission_get_403_with_an_explanation(nobody_client, broadcast):
    for url in page_urls(broadcast):
        response = nobody_client.get(url)
        assert response.status_code == 403, url
        assert b"Not allowed" in response.content  # the portal's 403 page, not a bare error
    send = nobody_client.post(reverse("portal:send"), {"_confirm": "1", "destinations": "79991234561"})
    assert send.status_code == 403
    refresh = nobody_client.post(reverse("portal:broadcast_refresh", args=[broadcast.pk]))
    assert refresh.status_code == 403


def test_each_page_needs_its_own_permission(client, broadcast, english):
    only_calls = make_staff("calls-viewer")
    from tests.factories import grant

    grant(only_calls, ["calls.view_call"])
    client.force_login(User.objects.get(pk=only_calls.pk))
    assert client.get(reverse("portal:calls")).status_code == 200
    assert client.get(reverse("portal:calls_export_csv")).status_code == 200
    assert client.get(reverse("portal:send")).status_code == 403
    assert client.get(reverse("portal:dashboard")).status_code == 403  # also needs view_broadcast
    assert client.get(reverse("portal:broadcast", args=[broadcast.pk])).status_code == 403
    assert client.post(reverse("portal:broadcast_refresh", args=[broadcast.pk])).status_code == 403


def test_operators_open_every_page(operator_page_client, broadcast, sandbox):
    for url in page_urls(broadcast):
        assert operator_page_client.get(url).status_code == 200, url


def test_missing_broadcast_is_404_not_500(operator_page_client):
    assert operator_page_client.get(reverse("portal:broadcast", args=[999999])).status_code == 404
    assert operator_page_client.post(reverse("portal:broadcast_refresh", args=[999999])).status_code == 404


def test_refresh_endpoint_is_post_only(operator_page_client, broadcast):
    assert operator_page_client.get(reverse("portal:broadcast_refresh", args=[broadcast.pk])).status_code == 405


def test_admin_index_and_sidebar_link_to_the_pages(operator_page_client, sandbox):
    index = operator_page_client.get(reverse("admin:index")).content.decode()
    for name in ("dashboard", "send", "calls"):
        assert f'id="index-portal-{name}"' in index
        assert reverse(f"portal:{name}") in index
    calls_admin = operator_page_client.get(reverse("admin:calls_call_changelist")).content.decode()
    assert 'id="nav-portal-dashboard"' in calls_admin  # the admin's sidebar


def test_links_are_hidden_from_those_who_may_not_use_them(nobody_client):
    index = nobody_client.get(reverse("admin:index")).content.decode()
    assert 'id="portal-pages-module"' not in index
    assert f'href="{reverse("portal:send")}"' not in index
    assert f'href="{reverse("portal:dashboard")}"' not in index


def test_a_refused_page_logs_one_warning_line_without_a_traceback(nobody_client, broadcast, caplog):
    with caplog.at_level("WARNING", logger="django.request"):
        assert nobody_client.get(reverse("portal:send")).status_code == 403
        assert nobody_client.post(reverse("portal:broadcast_refresh", args=[broadcast.pk])).status_code == 403
    refusals = [record for record in caplog.records if record.name == "django.request"]
    assert [record.levelname for record in refusals] == ["WARNING", "WARNING"]
    assert all(record.exc_info is None and not record.exc_text for record in refusals)
    assert "Forbidden" in caplog.text and "Traceback" not in caplog.text and "PermissionDenied" not in caplog.text
