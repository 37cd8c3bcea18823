"""Managers create tokens in the admin: shown once, kept as SHA-256 only, revocable; roles give them the rights."""

import hashlib
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from api.models import ApiToken
from exolve_portal.role_names import MANAGERS, OPERATORS
from tests.factories import make_staff


@pytest.mark.django_db
def test_a_manager_creates_a_token_shown_once_then_revokes_it(client):
    manager = make_staff("boss", role=MANAGERS)
    client.force_login(manager)
    answer = client.post(
        reverse("admin:api_apitoken_add"),
        {"name": "Clinic CRM", "scopes": ["send", "read"], "expires_at_0": "", "expires_at_1": ""},
    )
    assert answer.status_code == 200
    raw = re.search(r'id="api-token"[^>]*>(exv_[\w-]+)<', answer.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest() and raw[:12] == token.prefix
    assert raw not in str(list(ApiToken.objects.values()))  # never stored
    assert token.created_by == manager and token.scopes == ["send", "read"]
    assert raw not in client.get(reverse("admin:api_apitoken_change", args=[token.pk])).content.decode()

    client.post(reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert LogEntry.objects.filter(object_id=str(token.pk)).count() == 2  # added, revoked
    answer = client.get("/api/v1/broadcasts", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code == 401


@pytest.mark.django_db
def test_only_managers_manage_tokens(client):
    client.force_login(make_staff("op", role=OPERATORS))
    assert client.get(reverse("admin:api_apitoken_changelist")).status_code == 403


@pytest.mark.django_db
def test_managers_read_what_became_of_each_send_in_russian(client, settings):
    from api.models import ApiSend

    settings.LANGUAGE_CODE = "ru"
    token = ApiToken.objects.create(name="Clinic CRM", prefix="exv_1", digest="1" * 64, scopes=["send"])
    problem = {"title": "Запрос не может быть выполнен", "detail": "Голосовое сообщение удалено."}
    ApiSend.objects.create(token=token, key="order-7", state="refused", answer={"problem": problem})
    ApiSend.objects.create(token=token, key="order-8")
    client.force_login(make_staff("boss", role=MANAGERS))
    page = client.get(reverse("admin:api_apisend_changelist"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "order-7" in page and "Голосовое сообщение удалено." in page and "order-8" in page
    assert "отклонено" in page and "Отправки через API" in page
    sent = ApiSend.objects.get(key="order-7")
    assert client.post(reverse("admin:api_apisend_delete", args=[sent.pk]), {"post": "yes"}).status_code == 403
    assert ApiSend.objects.count() == 2

    client.force_login(make_staff("op", role=OPERATORS))
    assert client.get(reverse("admin:api_apisend_changelist")).status_code == 403
