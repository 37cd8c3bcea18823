"""The Exolve contract: bodies as documented, every error shape, and "too many requests".

The client runs over real HTTP against a sandbox that is at least as strict as the
vendor documentation; what the sandbox received is checked in its request log.
"""

import time

import pytest
import requests

from exolve_portal.exolve import errors
from exolve_portal.exolve.client import RateLimiter
from exolve_portal.exolve.endpoints import CALL_GET_INFO, CREATE, DELETE, GET_INFO, GET_LIST, MAKE_VOICE_MESSAGE
from exolve_portal.exolve.sandbox import SANDBOX_API_KEY, SANDBOX_SOURCE_NUMBERS
from tests.exolve_client_helpers import http_client

SOURCE = SANDBOX_SOURCE_NUMBERS[0]
DESTINATION = "79991234560"


def _raw_post(url, endpoint, body, key=SANDBOX_API_KEY):
    """A request the client would never send, straight to the sandbox_http.sandbox."""
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    data = body if isinstance(body, (bytes, str)) else None
    return session.post(f"{url}/{endpoint}", json=None if data is not None else body, data=data, headers=headers)


# --- bodies as documented ----------------------------------------------------------------


def test_create_without_a_redirect_sends_no_redirect_info(exolve_client, sandbox_http):
    exolve_client.create_voice_message("Promo", 1979)

    assert sandbox_http.sandbox.requests_log(CREATE)[0]["body"] == {"name": "Promo", "media_id": "1979"}


def test_create_with_a_redirect_sends_the_digit_and_the_number(exolve_client, sandbox_http):
    exolve_client.create_voice_message("Promo", 1979, digit=3, redirect_number="79295800000")

    assert sandbox_http.sandbox.requests_log(CREATE)[0]["body"]["redirect_info"] == {
        "digit": 3,
        "redirect_number": "79295800000",
    }


def test_every_body_the_client_sends_names_only_documented_fields(exolve_client, sandbox_http):
    voice_message_id = exolve_client.create_voice_message("Promo", 1979)
    exolve_client.list_voice_messages()
    exolve_client.get_voice_message(voice_message_id)
    call_id = exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id)
    exolve_client.get_call(call_id)
    exolve_client.delete_voice_message(voice_message_id)

    fields = {entry["endpoint"]: set(entry["body"]) for entry in sandbox_http.sandbox.requests_log()}
    assert fields == {
        CREATE: {"name", "media_id"},
        GET_LIST: set(),
        GET_INFO: {"id"},
        MAKE_VOICE_MESSAGE: {"source", "destination", "service_id"},
        CALL_GET_INFO: {"call_id"},
        DELETE: {"id"},
    }
    assert all(entry["status"] == 200 for entry in sandbox_http.sandbox.requests_log())


# --- the sandbox is at least as strict as the documentation ------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        (CREATE, {"name": "x", "media_id": "1967", "redirect_info": {"digit": 0}}),
        (CREATE, {"name": "x", "media_id": "1967", "redirect_info": {"digit": 1, "redirect_number": "12345678"}}),
        (CREATE, {"name": "x", "media_id": "1967", "redirect_info": {"digit": 1, "redirect_number": "+79295800000"}}),
        (CREATE, {"name": "x", "media_id": "1967", "redirect_info": {"redirect_number": "79295800000", "x": 1}}),
        (CREATE, {"name": "x", "media_id": "1967", "redirect_info": None}),
        (CREATE, {"name": "x", "media_id": "1967", "description": "not documented"}),
        (CREATE, ["name", "x"]),
        (CREATE, b"not json"),
        (GET_LIST, {"page": 1}),
        (GET_LIST, b""),
        (GET_INFO, {"id": "x", "verbose": True}),
        (DELETE, {"id": "x", "force": True}),
        (MAKE_VOICE_MESSAGE, {"source": SOURCE, "destination": "7999123456", "service_id": "x"}),
        (MAKE_VOICE_MESSAGE, {"source": SOURCE, "destination": "+79991234560", "service_id": "x"}),
        (MAKE_VOICE_MESSAGE, {"source": SOURCE, "destination": DESTINATION, "service_id": "x", "extra": 1}),
        (CALL_GET_INFO, {"call_id": "x", "extra": 1}),
    ],
)
def test_the_sandbox_refuses_what_the_documentation_does_not_allow(sandbox_http, endpoint, body):
    voice_message_id = sandbox_http.sandbox.add_voice_message("Greeting")
    if isinstance(body, dict) and body.get("service_id") == "x":
        body = {**body, "service_id": voice_message_id}

    response = _raw_post(sandbox_http.url, endpoint, body)

    assert response.status_code == 400
    assert errors.normalise_message(errors.message_from_body(response.text)).startswith("validation error")
    assert len(sandbox_http.sandbox.voice_messages()) == 1 and sandbox_http.sandbox.calls() == {}


@pytest.mark.parametrize(
    ("shape", "content_type", "text"),
    [
        ("flat", "application/json", '{"error": "Scenario not found"}'),
        ("nested", "application/json", '{"error": {"message": "Scenario not found"}}'),
        ("text", "text/plain", "Scenario not found"),
    ],
)
def test_the_sandbox_answers_errors_in_the_chosen_shape(sandbox_http, shape, content_type, text):
    sandbox_http.sandbox.set_error_shape(shape)

    response = _raw_post(sandbox_http.url, GET_INFO, {"id": "nobody"})

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith(content_type)
    assert response.text == text


def test_the_sandbox_answers_429_with_retry_after_above_its_rate(sandbox_http):
    sandbox_http.sandbox.set_rate_limit(5)

    statuses = [_raw_post(sandbox_http.url, GET_LIST, {}) for _ in range(8)]

    assert [r.status_code for r in statuses].count(200) == 5
    refused = [r for r in statuses if r.status_code == 429]
    assert len(refused) == 3 and all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert [e["applied"] for e in sandbox_http.sandbox.requests_log() if e["status"] == 429] == [False] * 3


# --- one reader of error answers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"error": "Scenario not found"}', "Scenario not found"),
        ('{"error": {"message": "Scenario not found", "code": 5}}', "Scenario not found"),
        ('{"message": "Scenario not found"}', "Scenario not found"),
        ('"Scenario not found"', "Scenario not found"),
        ("Scenario not found\n", "Scenario not found"),
        ("<html><head><title>404 Not Found</title></head></html>", ""),
        ('{"error": {"code": 5}}', ""),
        ("[1, 2]", ""),
        ("", ""),
        ("line one\nline two", ""),
    ],
)
def test_the_message_is_read_from_every_shape_seen(text, message):
    assert errors.message_from_body(text) == message


# Every documented refusal: how to provoke it, its class, and what staff read.
def _blocked(sandbox):
    sandbox.set_blocked(True)


def _trial(sandbox):
    sandbox.set_trial(True)


def _server_500(sandbox):
    sandbox.add_fault("http_error", status=500, times=None)


REFUSALS = [
    # (endpoint, how, status, class, words of the staff explanation)
    (CREATE, "empty key", 400, errors.InvalidTokenError, "API key"),
    (CREATE, "unknown key", 401, errors.TokenClaimsError, "API key"),
    (CREATE, _server_500, 500, errors.CustomerStatusError, "account's status"),
    (CREATE, _blocked, 403, errors.AccountStatusError, "not active"),
    (CREATE, "unknown media", 404, errors.MediaNotFoundError, "no audio file"),
    (GET_LIST, "empty key", 400, errors.InvalidTokenError, "API key"),
    (GET_LIST, "unknown key", 401, errors.TokenClaimsError, "API key"),
    (GET_LIST, _server_500, 500, errors.CustomerStatusError, "account's status"),
    (GET_INFO, "empty key", 400, errors.InvalidTokenError, "API key"),
    (GET_INFO, "unknown key", 401, errors.TokenClaimsError, "API key"),
    (GET_INFO, _server_500, 500, errors.CustomerStatusError, "account's status"),
    (GET_INFO, _blocked, 403, errors.AccountStatusError, "not active"),
    (GET_INFO, "unknown id", 404, errors.VoiceMessageNotFoundError, "no such voice message"),
    (DELETE, "empty key", 400, errors.InvalidTokenError, "API key"),
    (DELETE, "unknown key", 401, errors.TokenClaimsError, "API key"),
    (DELETE, _server_500, 500, errors.CustomerStatusError, "account's status"),
    (DELETE, _blocked, 403, errors.AccountStatusError, "not active"),
    (DELETE, "unknown id", 404, errors.ApplicationNotFoundError, "already have been deleted"),
    (MAKE_VOICE_MESSAGE, _trial, 400, errors.TrialRestrictionError, "trial period"),
    (MAKE_VOICE_MESSAGE, "bad number", 400, errors.ValidationError, "invalid"),
    (MAKE_VOICE_MESSAGE, "empty key", 401, errors.MalformedTokenError, "API key"),
    (CALL_GET_INFO, "empty call id", 400, errors.ValidationError, "invalid"),
    (CALL_GET_INFO, "empty key", 401, errors.MalformedTokenError, "API key"),
    (CALL_GET_INFO, "unknown id", 404, errors.CallNotFoundError, "no statistics"),
]


def _request(client, endpoint, how, voice_message_id):
    media = 4242 if how == "unknown media" else 1967
    target = "unknown-id" if how == "unknown id" else voice_message_id
    return {
        CREATE: lambda: client.create_voice_message("Greeting", media),
        GET_LIST: client.list_voice_messages,
        GET_INFO: lambda: client.get_voice_message(target),
        DELETE: lambda: client.delete_voice_message(target),
        MAKE_VOICE_MESSAGE: lambda: client.make_voice_message(
            SOURCE, "7999" if how == "bad number" else DESTINATION, voice_message_id
        ),
        CALL_GET_INFO: lambda: client.get_call("" if how == "empty call id" else "unknown-id"),
    }[endpoint]


@pytest.mark.parametrize(("endpoint", "how", "status", "cls", "words"), REFUSALS)
def test_every_documented_refusal_in_every_shape_maps_to_its_class_and_staff_words(
    sandbox_http, error_shape, endpoint, how, status, cls, words
):
    voice_message_id = sandbox_http.sandbox.add_voice_message("Greeting")
    key = {"empty key": "", "unknown key": "not-our-key"}.get(how, SANDBOX_API_KEY)
    if callable(how):
        how(sandbox_http.sandbox)
    client = http_client(sandbox_http.url, key=key, max_retries=0)

    with pytest.raises(errors.ExolveError) as excinfo:
        _request(client, endpoint, how, voice_message_id)()

    error = excinfo.value
    assert type(error) is cls, (error_shape, error, error.body)
    assert error.status == status and error.endpoint == endpoint
    assert words in error.explanation
    assert error.may_have_reached is False  # a documented refusal: nothing was done
    assert errors.is_gone(error) == (status == 404 and cls is not errors.MediaNotFoundError)


# --- a 404 that is not the documented one is never "gone" ----------------------------------


@pytest.mark.parametrize("endpoint", [GET_INFO, DELETE, CALL_GET_INFO, CREATE])
def test_a_404_from_a_wrong_base_url_is_unexpected_not_gone(sandbox_http, endpoint):
    voice_message_id = sandbox_http.sandbox.add_voice_message("Greeting")
    client = http_client(sandbox_http.url + "/wrong-prefix")

    with pytest.raises(errors.ExolveError) as excinfo:
        _request(client, endpoint, "", voice_message_id)()

    assert type(excinfo.value) is errors.UnexpectedStatusError
    assert excinfo.value.status == 404 and not errors.is_gone(excinfo.value)
    assert "404 page not found" in excinfo.value.body
    assert voice_message_id in sandbox_http.sandbox.voice_messages()


@pytest.mark.parametrize("endpoint", [GET_INFO, DELETE, CALL_GET_INFO, CREATE])
def test_a_proxys_html_404_is_unexpected_not_gone(exolve_client, sandbox_http, endpoint):
    voice_message_id = sandbox_http.sandbox.add_voice_message("Greeting")
    sandbox_http.sandbox.add_fault("http_error", endpoint=endpoint, status=404)

    with pytest.raises(errors.ExolveError) as excinfo:
        _request(exolve_client, endpoint, "", voice_message_id)()

    assert type(excinfo.value) is errors.UnexpectedStatusError
    assert excinfo.value.message == "Not Found"  # the reason phrase, shown but not classified
    assert not errors.is_gone(excinfo.value)


def test_a_documented_message_of_another_endpoint_is_not_gone(exolve_client, sandbox_http):
    """GetInfo's "Not Found" belongs to call/v1/GetInfo; on Delete it proves nothing."""
    voice_message_id = sandbox_http.sandbox.add_voice_message("Greeting")
    sandbox_http.sandbox.set_error_shape("text")
    sandbox_http.sandbox.add_fault("http_error", endpoint=DELETE, status=404)  # HTML
    with pytest.raises(errors.UnexpectedStatusError):
        exolve_client.delete_voice_message(voice_message_id)
    assert errors.error_for_response(404, "Not Found", "Not Found", DELETE).__class__ is errors.UnexpectedStatusError
    assert errors.error_for_response(404, "Not Found", "Not Found", CALL_GET_INFO).__class__ is errors.CallNotFoundError


# --- 429: not carried out, try later ---------------------------------------------------------


@pytest.mark.parametrize("endpoint", [CREATE, MAKE_VOICE_MESSAGE])
def test_a_429_on_create_or_send_is_raised_once_and_says_nothing_was_done(
    exolve_client, sandbox_http, error_shape, endpoint
):
    voice_message_id = sandbox_http.sandbox.add_voice_message("Greeting")
    sandbox_http.sandbox.add_fault("rate_limited", endpoint=endpoint, seconds=7)

    with pytest.raises(errors.RateLimitedError) as excinfo:
        if endpoint == CREATE:
            exolve_client.create_voice_message("Greeting", 1967)
        else:
            exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id)

    assert excinfo.value.retry_after == 7 and excinfo.value.may_have_reached is False
    assert sandbox_http.sandbox.count(endpoint) == 1  # not repeated by the client: the caller decides
    assert len(sandbox_http.sandbox.voice_messages()) == 1 and sandbox_http.sandbox.calls() == {}


@pytest.mark.parametrize("endpoint", [GET_LIST, GET_INFO, DELETE, CALL_GET_INFO])
def test_reads_and_delete_retry_a_429_after_its_wait(sandbox_http, error_shape, endpoint):
    voice_message_id = sandbox_http.sandbox.add_voice_message("Greeting")
    client = http_client(sandbox_http.url)
    call_id = client.make_voice_message(SOURCE, DESTINATION, voice_message_id)
    sandbox_http.sandbox.add_fault("rate_limited", endpoint=endpoint, times=2, seconds=0.3)
    started = time.monotonic()

    {
        GET_LIST: client.list_voice_messages,
        GET_INFO: lambda: client.get_voice_message(voice_message_id),
        DELETE: lambda: client.delete_voice_message(voice_message_id),
        CALL_GET_INFO: lambda: client.get_call(call_id),
    }[endpoint]()

    assert time.monotonic() - started >= 0.6  # it waited as told, twice
    assert [entry["status"] for entry in sandbox_http.sandbox.requests_log(endpoint)] == [429, 429, 200]


def test_a_503_with_retry_after_is_a_rate_limit_and_without_it_a_server_error(exolve_client, sandbox_http):
    voice_message_id = sandbox_http.sandbox.add_voice_message("Greeting")
    sandbox_http.sandbox.add_fault("http_error", endpoint=MAKE_VOICE_MESSAGE, status=503, seconds=0.2)
    with pytest.raises(errors.RateLimitedError) as excinfo:
        exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id)
    assert excinfo.value.retry_after == 0.2
    sandbox_http.sandbox.add_fault("http_error", endpoint=MAKE_VOICE_MESSAGE, status=503)
    with pytest.raises(errors.ServerError) as excinfo:
        exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id)
    assert excinfo.value.may_have_reached is True


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("", None), ("soon", None), ("100000", errors.MAX_RETRY_AFTER), ("-4", 0.0)],
)
def test_retry_after_is_read_as_seconds(header, seconds):
    assert errors.parse_retry_after(header) == seconds


def test_retry_after_may_be_an_http_date():
    assert errors.parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


# --- the rate limiter: everyone waits, the pace drops once, then recovers ------------------


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_a_429_pauses_every_thread_and_lowers_the_pace_once_per_burst():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(50):  # 50 requests got through in the last second
        limiter.succeeded()
        clock.now += 0.02

    limiter.slow_down(2.0)
    limiter.slow_down(2.0)  # a second thread meeting the same burst of 429s
    assert limiter.pace == pytest.approx(45.0)
    before = clock.now
    limiter.acquire()
    assert clock.now - before == pytest.approx(2.0)  # waited out Retry-After
    limiter.acquire()
    assert clock.now - before == pytest.approx(2.0 + 1 / 45.0)  # then paced


def test_the_pace_recovers_to_the_configured_cap_without_429s():
    clock = FakeClock()
    limiter = RateLimiter(20, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        limiter.succeeded()
    limiter.slow_down(1.0)  # 10 a second got through: the pace drops below that
    assert limiter.pace == pytest.approx(9.0)
    for _ in range(50):
        clock.now += 1.0
        limiter.acquire()
    assert limiter.pace == 20


def test_a_429_after_too_little_traffic_to_tell_a_rate_only_waits():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.succeeded()  # one earlier request is no measure of a rate
    limiter.slow_down(1.5)
    assert limiter.pace is None
    before = clock.now
    limiter.acquire()
    assert clock.now - before == pytest.approx(1.5)


def test_an_unpaced_limiter_forgets_the_slow_down_after_a_quiet_minute():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(10):
        limiter.succeeded()
    limiter.slow_down(1.0)
    assert limiter.pace is not None
    clock.now += RateLimiter.FORGET_AFTER + 1
    limiter.acquire()
    assert limiter.pace is None
