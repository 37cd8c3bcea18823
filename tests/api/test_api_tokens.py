"""Tokens, scopes, expiry, the rate limit and the problem+json answers, over real HTTP."""

from types import SimpleNamespace

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from api import rate, tokens
from api.models import ApiToken
from audiences.models import StopListEntry
from tests.api.conftest import PAST, problem

pytestmark = pytest.mark.slow


def test_missing_wrong_expired_revoked_and_out_of_scope_tokens_are_refused(api, make_token):
    reader = make_token(["read"])
    assert api.call("GET", "/broadcasts", reader).status_code == 200

    assert "Authorization" in problem(api.call("GET", "/broadcasts"), 401)["detail"]
    assert "not known" in problem(api.call("GET", "/broadcasts", reader + "x"), 401)["detail"]
    expired = make_token(["read"], expires_in=PAST)
    assert "expired" in problem(api.call("GET", "/broadcasts", expired), 401)["detail"]
    ApiToken.objects.update(revoked_at=timezone.now())  # as another process would (no signal)
    tokens.forget()  # ... seen by this one a second later
    assert "revoked" in problem(api.call("GET", "/broadcasts", reader), 401)["detail"]

    sender = make_token(["send"])
    body = problem(api.call("POST", "/broadcasts/1/stop", sender), 403)
    assert "steer" in body["detail"]
    assert problem(api.call("GET", "/stop-list/79991234567", sender), 403)
    assert problem(api.call("GET", "/broadcasts", sender), 403)


def test_a_token_can_do_no_more_than_its_owner(api, make_token):
    from tests.factories import make_staff

    operator_without_sending = make_staff("clerk", perms=("calls.view_broadcast",))
    token = make_token(["send", "read", "stop_list"], owner=operator_without_sending)
    # Reading needs the owner's view of broadcasts and of calls: the first alone is not enough.
    assert "no longer" in problem(api.call("GET", "/broadcasts", token), 403)["detail"]
    operator_without_sending = make_staff("clerk2", perms=("calls.view_broadcast", "calls.view_call"))
    token = make_token(["send", "read", "stop_list"], owner=operator_without_sending)
    assert api.call("GET", "/broadcasts", token).status_code == 200
    assert "no longer" in problem(api.call("POST", "/stop-list", token, json={"number": "79991234567"}), 403)["detail"]
    assert problem(api.call("POST", "/broadcasts", token, json={}, headers={"Idempotency-Key": "k"}), 403)
    operator_without_sending.is_active = False
    operator_without_sending.save()
    assert "no longer has an account" in problem(api.call("GET", "/broadcasts", token), 401)["detail"]


def test_refusals_in_russian_and_unknown_paths_as_problems(api, make_token):
    russian = {"Accept-Language": "ru"}
    body = problem(api.call("GET", "/broadcasts", headers=russian), 401)
    assert body["title"] == "Нет входа" and "Authorization: Bearer" in body["detail"], body
    assert api.call("GET", "/broadcasts", headers=russian).headers["Content-Language"] == "ru"

    for path in ("/no-such-thing", "/../v2/whatever"):
        assert problem(api.call("GET", path, make_token(["read"])), 404)
    unknown = api.get(api.base.replace("/api/v1", "/api/v9/x"), timeout=10, headers=russian)
    assert problem(unknown, 404)["title"] == "Не найдено"
    wrong_method = api.call("DELETE", "/voice-messages", make_token(["read"]), headers=russian)
    assert "GET" in problem(wrong_method, 405)["detail"]


def test_the_rate_limit_answers_429_with_retry_after_and_is_shared_through_the_row(
    api, make_token, settings, monkeypatch
):
    settings.EXOLVE_API_RATE_PER_MINUTE = 3
    minute = 30_000_000
    clock = SimpleNamespace(time=lambda: minute * 60 + 30.0, monotonic=lambda: 1000.0)  # 30 s into a minute
    monkeypatch.setattr(rate, "time", clock)  # the live server runs in this process
    monkeypatch.setattr(tokens, "time", clock)
    token, other = make_token(["read"]), make_token(["read"])
    answers = [api.call("GET", "/voice-messages", token) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert problem(answers[3], 429)["retry_after"] == 30 and answers[3].headers["Retry-After"] == "30"
    assert api.call("GET", "/voice-messages", other).status_code == 200  # per token
    # The first request of each token was written at once (with "last used"), the rest wait a second.
    assert sorted(ApiToken.objects.values_list("rate_count", flat=True)) == [1, 1]
    assert ApiToken.objects.exclude(last_used_at=None).count() == 2
    clock.monotonic = lambda: 1001.0
    assert api.call("GET", "/voice-messages", other).status_code == 200
    assert sorted(ApiToken.objects.values_list("rate_count", "rate_minute")) == [(1, minute), (2, minute)]

    # Another process's count arrives through the row: this process has counted nothing of it.
    rate.forget()
    ApiToken.objects.update(rate_count=3, rate_minute=minute)
    clock.monotonic = lambda: 1002.0  # read again a second later
    assert problem(api.call("GET", "/voice-messages", other), 429)
    clock.time = lambda: (minute + 1) * 60 + 5.0  # the next minute
    assert api.call("GET", "/voice-messages", token).status_code == 200
    settings.EXOLVE_API_RATE_PER_MINUTE = 0  # no limit
    assert all(api.call("GET", "/voice-messages", token).status_code == 200 for _ in range(5))


def test_stop_list_add_and_check_audited_with_the_tokens_name(api, make_token):
    token = make_token(["stop_list"], name="Clinic CRM")
    assert api.call("GET", "/stop-list/8 999 123-45-67", token).json()["on_stop_list"] is False
    added = api.call("POST", "/stop-list", token, json={"number": "+7 999 123 45 67", "reason": "complaint"})
    assert added.status_code == 201 and added.json()["number"] == "79991234567"
    assert api.call("POST", "/stop-list", token, json={"number": "79991234567"}).json()["added"] is False
    check = api.call("GET", "/stop-list/79991234567", token).json()
    assert check["on_stop_list"] is True and check["reason"] == "complaint"
    assert StopListEntry.objects.get().reason == "complaint"
    assert LogEntry.objects.filter(change_message__contains="“Clinic CRM”").count() == 1
    assert problem(api.call("POST", "/stop-list", token, json={"number": "12"}), 422)
    assert problem(api.call("POST", "/stop-list", token, json={"number": "79991234568", "reason": "x"}), 422)


def test_the_schema_and_the_docs_page_are_served(api):
    schema = api.get(api.base + "/openapi.json", timeout=10).json()
    assert "/api/v1/broadcasts" in schema["paths"] and "Idempotency-Key" in str(schema)
    answers = schema["paths"]["/api/v1/broadcasts"]["post"]["responses"]
    assert {"202", "422"} <= set(answers) and "SendOut" in str(answers["202"])
    docs = api.get(api.base + "/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower() and "cdn" not in docs.text.lower()
