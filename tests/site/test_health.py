"""The portal answers on its embedded defaults: health check, login page, banner."""

import pytest
from django.db import DatabaseError
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("the database is down")

    monkeypatch.setattr("exolve_portal.views.connection.cursor", broken_cursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


@pytest.mark.django_db
def test_healthz_needs_no_login_and_never_calls_exolve(client, settings, monkeypatch):
    def no_exolve(*args, **kwargs):
        raise AssertionError("healthz must not build an Exolve client")

    monkeypatch.setattr("exolve_portal.exolve_connection.build_client", no_exolve)

    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_admin_login_page_renders_with_the_sandbox_banner(client, settings):
    settings.EXOLVE_SANDBOX = True

    response = client.get(reverse("admin:login"))

    assert response.status_code == 200
    assert b"sandbox-banner" in response.content


@pytest.mark.django_db
def test_no_sandbox_banner_with_a_real_key(client, settings):
    settings.EXOLVE_SANDBOX = False

    response = client.get(reverse("admin:login"))

    assert response.status_code == 200
    assert b"sandbox-banner" not in response.content


@pytest.mark.django_db
def test_root_redirects_to_the_admin(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
