"""The sandbox answers as the vendor documentation says, in-process and over HTTP."""

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from exolve_portal.exolve.sandbox import (
    DEFAULT_MEDIA_IDS,
    SANDBOX_API_KEY,
    SANDBOX_BASE_URL,
    SANDBOX_SOURCE_NUMBERS,
    Sandbox,
)
from exolve_portal.exolve.sandbox_server import SandboxServer, control

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RFC1123 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d:\d\d \+0000$"
)
SOURCE = SANDBOX_SOURCE_NUMBERS[0]
VALIDATION = "Validation error. Please enter valid parameter values."
REPO = Path(__file__).resolve().parents[2]


class Api:
    """POSTs to the sandbox the way a client would, over one of the two transports."""

    def __init__(self, sandbox, base_url, session):
        self.sandbox, self.base_url, self.session = sandbox, base_url, session

    def post(self, endpoint, body=None, key=SANDBOX_API_KEY, headers=None, **kwargs):
        headers = dict(headers or {})
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {key}")
        return self.session.post(
            f"{self.base_url}/{endpoint}", json={} if body is None else body, headers=headers, timeout=5, **kwargs
        )

    def create(self, name="Greeting", media_id=DEFAULT_MEDIA_IDS[0], **redirect):
        body = {"name": name, "media_id": media_id}
        if redirect:
            body["redirect_info"] = redirect
        response = self.post("voice-message/v1/Create", body)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def call(self, destination="79991234560", service_id=None):
        service_id = service_id or self.create()
        response = self.post(
            "call/v1/MakeVoiceMessage", {"source": SOURCE, "destination": destination, "service_id": service_id}
        )
        assert response.status_code == 200, response.text
        return response.json()["call_id"]

    def call_info(self, call_id):
        response = self.post("call/v1/GetInfo", {"call_id": call_id})
        assert response.status_code == 200, response.text
        return response.json()


def _session():
    session = requests.Session()
    session.trust_env = False  # no proxy between us and 127.0.0.1
    return session


@pytest.fixture(params=["in_process", "http"])
def api(request, tmp_path):
    """The same checks run against the mounted adapter and the real HTTP server."""
    sandbox = Sandbox(tmp_path / "sandbox.sqlite3")
    session = _session()
    if request.param == "in_process":
        sandbox.mount(session)
        yield Api(sandbox, SANDBOX_BASE_URL, session)
    else:
        with SandboxServer(sandbox) as server:
            yield Api(sandbox, server.url, session)
    session.close()
    sandbox.close()


@pytest.fixture
def local(tmp_path):
    """In-process only: for checks of state and exceptions."""
    sandbox = Sandbox(tmp_path / "sandbox.sqlite3")
    session = _session()
    sandbox.mount(session)
    yield Api(sandbox, SANDBOX_BASE_URL, session)
    sandbox.close()


# --- success shapes -----------------------------------------------------------------


def test_create_then_get_info_returns_the_documented_fields(api):
    voice_message_id = api.create("Тестовая", "1967", digit=5, redirect_number="79295800000")

    response = api.post("voice-message/v1/GetInfo", {"id": voice_message_id})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    info = response.json()
    assert set(info) == {"id", "name", "digit", "redirect_number", "media_id", "created_at"}
    assert info["id"] == voice_message_id
    assert info["name"] == "Тестовая"
    assert info["digit"] == 5
    assert info["redirect_number"] == "79295800000"
    assert info["media_id"] == 1967  # sent as a string, returned as a number
    assert RFC3339_MS.match(info["created_at"])


def test_create_answers_only_an_id(api):
    response = api.post("voice-message/v1/Create", {"name": "x", "media_id": 1979})
    assert response.status_code == 200
    assert list(response.json()) == ["id"]
    assert isinstance(response.json()["id"], str)
    assert api.sandbox.voice_messages()[response.json()["id"]]["digit"] == 0  # the documented default


def test_get_list_lists_voice_messages_in_creation_order(api):
    first, second = api.create("first"), api.create("second")

    response = api.post("voice-message/v1/GetList", {})

    assert response.status_code == 200
    items = response.json()["voice_message_list"]
    assert [(i["id"], i["name"]) for i in items] == [(first, "first"), (second, "second")]
    assert all(set(i) == {"id", "name", "created_at"} and RFC3339_MS.match(i["created_at"]) for i in items)


def test_get_list_of_an_empty_application_is_an_empty_list(api):
    assert api.post("voice-message/v1/GetList", {}).json() == {"voice_message_list": []}


def test_delete_answers_empty_json_and_removes_the_voice_message(api):
    voice_message_id = api.create()

    response = api.post("voice-message/v1/Delete", {"id": voice_message_id})

    assert (response.status_code, response.json()) == (200, {})
    assert api.sandbox.voice_messages() == {}
    assert api.post("voice-message/v1/GetInfo", {"id": voice_message_id}).status_code == 404


def test_make_voice_message_then_call_get_info_has_the_documented_fields(api):
    call_id = api.call("79991234560")

    info = api.call_info(call_id)

    assert set(info) == {
        "call_id", "created", "updated", "started", "ended", "duration",
        "timeout", "status", "direction", "source", "destination",
    }  # fmt: skip
    assert info["call_id"] == call_id
    assert (info["source"], info["destination"], info["direction"]) == (SOURCE, "79991234560", "outbound")
    assert RFC1123.match(info["created"]) and RFC1123.match(info["updated"])
    assert (info["started"], info["ended"], info["duration"]) == ("", "", 0)
    assert info["status"] == "initiated"
    assert info["timeout"] == 60


# --- call lifecycle -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("destination", "final"),
    [("79991234560", "completed"), ("79991234566", "no_answer"), ("79991234567", "busy"), ("79991234568", "failed")],
)
def test_a_call_reaches_the_final_status_of_its_last_digit(local, destination, final):
    call_id = local.call(destination)

    local.sandbox.advance(10)
    info = local.call_info(call_id)

    assert info["status"] == final
    assert RFC1123.match(info["ended"])
    if final == "completed":
        assert RFC1123.match(info["started"])
        assert info["duration"] == 4
    else:
        assert (info["started"], info["duration"]) == ("", 0)


def test_a_completed_call_goes_through_ringing_and_answered_first(local):
    call_id = local.call("79991234560")
    seen = []
    for _ in range(7):
        seen.append(local.call_info(call_id)["status"])
        local.sandbox.advance(1)
    assert seen == ["initiated", "ringing", "answered", "answered", "talk", "talk", "completed"]


def test_a_call_answered_has_started_but_not_ended(local):
    call_id = local.call("79991234560")
    local.sandbox.advance(2.5)
    info = local.call_info(call_id)
    assert info["status"] == "answered"
    assert RFC1123.match(info["started"]) and info["ended"] == ""


def test_lifecycle_length_is_configurable(tmp_path):
    sandbox = Sandbox(tmp_path / "s.sqlite3", lifecycle_seconds=0)
    session = _session()
    sandbox.mount(session)
    api = Api(sandbox, SANDBOX_BASE_URL, session)
    assert api.call_info(api.call("79991234567"))["status"] == "busy"


# --- documented errors ------------------------------------------------------------------

VOICE_ENDPOINTS = [
    "voice-message/v1/Create",
    "voice-message/v1/GetList",
    "voice-message/v1/GetInfo",
    "voice-message/v1/Delete",
]
CALL_ENDPOINTS = ["call/v1/MakeVoiceMessage", "call/v1/GetInfo"]


@pytest.mark.parametrize("endpoint", VOICE_ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Token sandbox-key", "sandbox-key"])
def test_voice_endpoints_without_a_parseable_token_answer_400(api, endpoint, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.post(endpoint, {}, key=None, headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": "failed to parse token"})


@pytest.mark.parametrize("endpoint", VOICE_ENDPOINTS)
def test_voice_endpoints_with_an_unknown_key_answer_401(api, endpoint):
    response = api.post(endpoint, {}, key="somebody-elses-key")
    assert (response.status_code, response.json()) == (401, {"error": "error getting JWT Token claims"})


@pytest.mark.parametrize("endpoint", CALL_ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer wrong-key"])
def test_call_endpoints_without_a_good_key_answer_401_malformed_token(api, endpoint, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.post(endpoint, {"call_id": "x"}, key=None, headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": "malformed token"})


@pytest.mark.parametrize(
    "endpoint",
    ["voice-message/v1/Create", "voice-message/v1/GetInfo", "voice-message/v1/Delete", "call/v1/MakeVoiceMessage"],
)
def test_a_blocked_account_answers_403(api, endpoint):
    voice_message_id = api.create()
    api.sandbox.set_blocked(True)
    body = {
        "name": "x",
        "media_id": 1967,
        "id": voice_message_id,
        "source": SOURCE,
        "destination": "79991234560",
        "service_id": voice_message_id,
    }
    response = api.post(endpoint, body)
    assert (response.status_code, response.json()) == (403, {"error": "Customer is not in correct status"})
    assert list(api.sandbox.voice_messages()) == [voice_message_id]  # nothing changed
    assert api.sandbox.calls() == {}


def test_a_blocked_account_still_gets_its_list(api):
    # GetList documents no 403.
    voice_message_id = api.create()
    api.sandbox.set_blocked(True)
    response = api.post("voice-message/v1/GetList")
    assert response.status_code == 200
    assert [i["id"] for i in response.json()["voice_message_list"]] == [voice_message_id]


def test_create_with_an_unknown_media_id_answers_404(api):
    response = api.post("voice-message/v1/Create", {"name": "x", "media_id": "4242"})
    assert (response.status_code, response.json()) == (404, {"error": "error getting media resource"})
    assert api.sandbox.voice_messages() == {}


def test_known_media_ids_are_configurable(api):
    api.sandbox.set_media_ids([4242])
    assert api.post("voice-message/v1/Create", {"name": "x", "media_id": 4242}).status_code == 200
    assert api.post("voice-message/v1/Create", {"name": "x", "media_id": 1967}).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "media_id": 1967},
        {"name": "   ", "media_id": 1967},
        {"name": "x" * 256, "media_id": 1967},
        {"media_id": 1967},
        {"name": "x"},
        {"name": "x", "media_id": 0},
        {"name": "x", "media_id": -1},
        {"name": "x", "media_id": "19a7"},
        {"name": "x", "media_id": 1967.5},
        {"name": "x", "media_id": True},
        {"name": "x", "media_id": 2**64},
        {"name": "x", "media_id": 1967, "redirect_info": {"digit": 10}},
        {"name": "x", "media_id": 1967, "redirect_info": {"digit": -1}},
        {"name": "x", "media_id": 1967, "redirect_info": {"digit": "5"}},
        {"name": "x", "media_id": 1967, "redirect_info": {"redirect_number": "12345678"}},
        {"name": "x", "media_id": 1967, "redirect_info": {"redirect_number": "1" * 15}},
        {"name": "x", "media_id": 1967, "redirect_info": "79295800000"},
        ["not", "an", "object"],
    ],
)
def test_create_with_invalid_parameters_answers_400_validation_error(api, body):
    response = api.post("voice-message/v1/Create", body)
    assert (response.status_code, response.json()) == (400, {"error": VALIDATION})
    assert api.sandbox.voice_messages() == {}


def test_create_accepts_the_boundaries(api):
    assert api.create("x" * 255, "1967", digit=9, redirect_number="123456789")
    assert api.create("y", 1979, digit=0, redirect_number="1" * 14)


def test_get_info_of_an_unknown_id_answers_scenario_not_found(api):
    response = api.post("voice-message/v1/GetInfo", {"id": "14b8d7b3-5468-418f-8592-b1d2127ad36b"})
    assert (response.status_code, response.json()) == (404, {"error": "Scenario not found"})


def test_delete_of_an_unknown_id_answers_error_getting_application(api):
    response = api.post("voice-message/v1/Delete", {"id": "14b8d7b3-5468-418f-8592-b1d2127ad36b"})
    assert (response.status_code, response.json()) == (404, {"error": "error getting application"})


@pytest.mark.parametrize(
    "change",
    [
        {"source": "7495123456"},
        {"source": "+74951234567"},
        {"destination": "8999123456"},
        {"destination": "799912345601"},
        {"destination": 79991234560},
        {"service_id": "no-such-voice-message"},
        {"service_id": None},
    ],
)
def test_make_voice_message_with_bad_parameters_answers_400_validation_error(api, change):
    body = {"source": SOURCE, "destination": "79991234560", "service_id": api.create(), **change}
    response = api.post("call/v1/MakeVoiceMessage", body)
    assert (response.status_code, response.json()) == (400, {"error": VALIDATION})
    assert api.sandbox.calls() == {}


def test_trial_account_may_only_call_its_confirmed_numbers(api):
    api.sandbox.set_trial(True, confirmed_numbers=["79990000001"])
    service_id = api.create()

    refused = api.post(
        "call/v1/MakeVoiceMessage", {"source": SOURCE, "destination": "79991234560", "service_id": service_id}
    )
    allowed = api.post(
        "call/v1/MakeVoiceMessage", {"source": SOURCE, "destination": "79990000001", "service_id": service_id}
    )

    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "the client can only call to his own confirmed number"},
    )
    assert allowed.status_code == 200
    assert [c["destination"] for c in api.sandbox.calls().values()] == ["79990000001"]


@pytest.mark.parametrize("body", [{}, {"call_id": ""}, {"call_id": None}, {"call_id": 5}])
def test_call_get_info_without_a_call_id_answers_400(api, body):
    response = api.post("call/v1/GetInfo", body)
    # Documented without the final full stop, unlike MakeVoiceMessage's.
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Validation error. Please enter valid parameter values"},
    )


def test_call_get_info_of_an_unknown_call_answers_404_not_found(api):
    response = api.post("call/v1/GetInfo", {"call_id": "caldf32f642-6313-4dae-94db-98502ad3249c"})
    assert (response.status_code, response.json()) == (404, {"error": "Not Found"})


# --- request log and state ----------------------------------------------------------------


def test_every_arriving_request_is_logged_with_its_status(api):
    api.create()
    api.post("voice-message/v1/GetInfo", {"id": "nope"})

    log = api.sandbox.requests_log()

    assert [(e["endpoint"], e["status"], e["applied"]) for e in log] == [
        ("voice-message/v1/Create", 200, True),
        ("voice-message/v1/GetInfo", 404, True),
    ]
    assert log[1]["body"] == {"id": "nope"}
    assert api.sandbox.count("voice-message/v1/Create") == 1
    assert api.sandbox.count("/voice-message/v1/GetInfo") == 1
    assert api.sandbox.count() == 2
    assert "sandbox-key" not in repr(log)


def test_state_survives_reopening_the_file(tmp_path):
    path = tmp_path / "sandbox.sqlite3"
    first = Sandbox(path)
    voice_message_id = first.add_voice_message("kept", media_id=1979)
    first.set_trial(True, ["79990000001"])
    first.add_fault("drop", endpoint="call/v1/MakeVoiceMessage", times=None)
    first.close()

    again = Sandbox(path)

    assert again.voice_messages()[voice_message_id]["name"] == "kept"
    assert again.config()["trial"] is True
    assert [f["kind"] for f in again.faults()] == ["drop"]


def test_another_process_sees_faults_and_state(tmp_path, local):
    # A worker process and the web server share one state file.
    path = local.sandbox.path
    script = (
        "from exolve_portal.exolve.sandbox import Sandbox\n"
        f"s = Sandbox({path!r})\n"
        "s.add_fault('http_error', endpoint='voice-message/v1/GetList', status=503)\n"
        "s.add_voice_message('from the other process')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, timeout=30)

    response = local.post("voice-message/v1/GetList")

    assert response.status_code == 503
    assert local.post("voice-message/v1/GetList").json()["voice_message_list"][0]["name"] == "from the other process"


def test_reset_forgets_everything(local):
    local.call()
    local.sandbox.set_blocked(True)
    local.sandbox.add_fault("drop", times=None)
    local.sandbox.advance(100)

    local.sandbox.reset()

    assert local.sandbox.voice_messages() == {} and local.sandbox.calls() == {}
    assert local.sandbox.count() == 0 and local.sandbox.faults() == []
    assert local.sandbox.config()["blocked"] is False
    assert abs(local.sandbox.now() - time.time()) < 5


# --- faults, in-process -------------------------------------------------------------------


def test_http_error_answers_html_and_is_not_applied(local):
    local.sandbox.add_fault("http_error", endpoint="voice-message/v1/Create")

    response = local.post("voice-message/v1/Create", {"name": "x", "media_id": 1967})

    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert "<html>" in response.text
    assert local.sandbox.voice_messages() == {}
    assert local.sandbox.faults() == []  # used up: the next request goes through
    local.create()


def test_http_error_500_answers_the_documented_customer_status_error(local):
    local.sandbox.add_fault("http_error", status=500)
    response = local.post("voice-message/v1/GetList")
    assert (response.status_code, response.json()) == (500, {"error": "error getting customer status"})


def test_a_fault_applies_only_to_its_endpoint_and_for_its_count(local):
    local.sandbox.add_fault("http_error", endpoint="voice-message/v1/GetList", times=2)

    assert local.post("voice-message/v1/GetInfo", {"id": "x"}).status_code == 404
    assert [local.post("voice-message/v1/GetList").status_code for _ in range(3)] == [502, 502, 200]


def test_a_fault_without_a_count_applies_until_cleared(local):
    local.sandbox.add_fault("http_error", times=None)
    assert [local.post("voice-message/v1/GetList").status_code for _ in range(3)] == [502, 502, 502]
    local.sandbox.clear_faults()
    assert local.post("voice-message/v1/GetList").status_code == 200


def test_drop_raises_connection_error_and_is_not_applied(local):
    local.sandbox.add_fault("drop", endpoint="voice-message/v1/Create")

    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        local.post("voice-message/v1/Create", {"name": "x", "media_id": 1967})

    assert "Connection aborted" in str(raised.value)
    assert local.sandbox.voice_messages() == {}
    assert [(e["fault"], e["status"], e["applied"]) for e in local.sandbox.requests_log()] == [("drop", None, False)]


def test_lost_response_applies_then_raises_like_a_remote_disconnect(local):
    service_id = local.create()
    local.sandbox.add_fault("lost_response", endpoint="call/v1/MakeVoiceMessage")

    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        local.post(
            "call/v1/MakeVoiceMessage", {"source": SOURCE, "destination": "79991234560", "service_id": service_id}
        )

    assert "RemoteDisconnected" in repr(raised.value)
    assert len(local.sandbox.calls()) == 1  # it happened at "Exolve"
    assert local.sandbox.requests_log("call/v1/MakeVoiceMessage")[0]["applied"] is True


def test_timeout_applies_then_raises_read_timeout(local):
    local.sandbox.add_fault("timeout", endpoint="voice-message/v1/Create")

    with pytest.raises(requests.exceptions.ReadTimeout):
        local.post("voice-message/v1/Create", {"name": "x", "media_id": 1967})

    assert len(local.sandbox.voice_messages()) == 1


def test_connect_refused_raises_before_anything_arrives(local):
    local.sandbox.add_fault("connect_refused")

    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        local.post("voice-message/v1/GetList")

    assert "NewConnectionError" in repr(raised.value.args[0])
    assert local.sandbox.count() == 0


def test_malformed_applies_and_answers_200_not_json(local):
    local.sandbox.add_fault("malformed", endpoint="voice-message/v1/Create")
    response = local.post("voice-message/v1/Create", {"name": "x", "media_id": 1967})
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert len(local.sandbox.voice_messages()) == 1


def test_bad_shape_applies_and_answers_200_with_unexpected_json(local):
    local.sandbox.add_fault("bad_shape", endpoint="voice-message/v1/Create")
    response = local.post("voice-message/v1/Create", {"name": "x", "media_id": 1967})
    assert (response.status_code, response.json()) == (200, {"unexpected": True})
    assert len(local.sandbox.voice_messages()) == 1


def test_latency_fault_delays_the_answer(local):
    local.sandbox.add_fault("latency", seconds=0.3)
    started = time.monotonic()
    local.post("voice-message/v1/GetList")
    assert time.monotonic() - started >= 0.3
    assert local.sandbox.faults() == []


def test_unknown_fault_kinds_and_endpoints_are_refused(local):
    with pytest.raises(ValueError):
        local.sandbox.add_fault("explode")
    with pytest.raises(ValueError):
        local.sandbox.add_fault("drop", endpoint="voice-message/v1/Update")


def test_in_process_responses_are_real_requests_responses(local):
    response = local.post("voice-message/v1/GetList")
    assert isinstance(response, requests.Response)
    assert response.url == f"{SANDBOX_BASE_URL}/voice-message/v1/GetList"
    assert response.request.headers["Authorization"] == f"Bearer {SANDBOX_API_KEY}"
    assert response.reason == "OK"
    assert response.ok


# --- faults and concurrency over real HTTP ---------------------------------------------------


@pytest.fixture
def server(tmp_path):
    with SandboxServer(Sandbox(tmp_path / "sandbox.sqlite3")) as running:
        yield running


def _post(url, endpoint, body=None, timeout=5):
    return _session().post(
        f"{url}/{endpoint}", json=body or {}, headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"}, timeout=timeout
    )


def test_http_drop_closes_the_socket_without_applying(server):
    server.sandbox.add_fault("drop", endpoint="voice-message/v1/Create")
    with pytest.raises(requests.exceptions.ConnectionError):
        _post(server.url, "voice-message/v1/Create", {"name": "x", "media_id": 1967})
    assert server.sandbox.voice_messages() == {}
    assert server.sandbox.count("voice-message/v1/Create") == 1


def test_http_lost_response_applies_then_closes_the_socket(server):
    server.sandbox.add_fault("lost_response", endpoint="voice-message/v1/Create")
    with pytest.raises(requests.exceptions.ConnectionError):
        _post(server.url, "voice-message/v1/Create", {"name": "x", "media_id": 1967})
    assert len(server.sandbox.voice_messages()) == 1


def test_http_timeout_answers_after_the_client_gave_up(server):
    server.sandbox.add_fault("timeout", endpoint="voice-message/v1/Create", seconds=2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _post(server.url, "voice-message/v1/Create", {"name": "x", "media_id": 1967}, timeout=(1, 0.5))
    assert time.monotonic() - started < 1.5
    assert len(server.sandbox.voice_messages()) == 1


def test_http_timeout_eventually_answers_a_patient_client(server):
    server.sandbox.add_fault("timeout", endpoint="voice-message/v1/GetList", seconds=0.3)
    assert _post(server.url, "voice-message/v1/GetList").json() == {"voice_message_list": []}


def test_http_server_serves_50_concurrent_requests_without_serialising_latency(server):
    server.sandbox.set_latency(0.2)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: _post(server.url, "voice-message/v1/GetList").status_code, range(50)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 50
    assert elapsed < 2.0, f"50 requests with 0.2 s latency took {elapsed:.2f} s"
    assert server.sandbox.count("voice-message/v1/GetList") == 50


def test_http_unknown_path_and_method(server):
    assert _post(server.url, "voice-message/v1/Update").status_code == 404
    assert _session().get(f"{server.url}/voice-message/v1/GetList", timeout=5).status_code == 405


def test_control_endpoint_drives_the_sandbox(server):
    control(server.url, "add_fault", kind="http_error", endpoint="voice-message/v1/GetList", status=503)
    control(server.url, "set_trial", enabled=True, confirmed_numbers=["79990000001"])
    control(server.url, "advance", seconds=60)

    assert _post(server.url, "voice-message/v1/GetList").status_code == 503
    assert control(server.url, "count", endpoint="voice-message/v1/GetList") == 1
    assert server.sandbox.config()["trial"] is True
    assert server.sandbox.config()["clock_offset"] == 60

    control(server.url, "reset")
    assert server.sandbox.count() == 0
    with pytest.raises(RuntimeError):
        control(server.url, "close")  # not a control action
    with pytest.raises(RuntimeError):
        control(server.url, "add_fault", kind="explode")


# --- the fixtures and the management command -----------------------------------------------


def test_sandbox_fixture_points_the_portal_at_the_in_process_sandbox(sandbox, settings):
    assert settings.EXOLVE_SANDBOX is True
    assert settings.EXOLVE_SANDBOX_STATE == sandbox.path
    exolve_connection = pytest.importorskip("exolve_portal.exolve_connection")

    voice_message_id = exolve_connection.get_client().create_voice_message("via the portal", 1967)

    assert voice_message_id in sandbox.voice_messages()


def test_sandbox_http_fixture_points_the_portal_at_the_http_server(sandbox_http, settings):
    assert settings.EXOLVE_SANDBOX is False
    assert settings.EXOLVE_API_URL == sandbox_http.url.rstrip("/")
    exolve_connection = pytest.importorskip("exolve_portal.exolve_connection")

    exolve_connection.get_client().list_voice_messages()

    assert sandbox_http.sandbox.count("voice-message/v1/GetList") == 1


def test_exolve_sandbox_command_serves_until_interrupted(tmp_path):
    state = tmp_path / "cmd.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "exolve_sandbox", "--port", "0", "--state", str(state),
         "--latency-ms", "10", "--media-ids", "5555"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        found = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        created = found and _post(found.group(0), "voice-message/v1/Create", {"name": "x", "media_id": 5555})
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)

    assert found, f"the command did not start: {err}"
    assert created.status_code == 200, created.text
    assert Sandbox(state).config()["latency"] == pytest.approx(0.01)
    assert process.returncode == 0, err
    assert "stopped" in out
