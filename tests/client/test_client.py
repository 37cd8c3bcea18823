"""ExolveClient against the sandbox over real HTTP on 127.0.0.1.

Results are typed, every documented refusal becomes its own exception, transport
failures are told apart by whether the request may have reached Exolve, and the
retry policy is checked on the sandbox's own request log.
"""

import socket
from datetime import UTC, datetime

import pytest
import requests

from exolve_portal.exolve import errors
from exolve_portal.exolve.client import CallInfo, ExolveClient, VoiceMessageInfo, VoiceMessageSummary
from exolve_portal.exolve.endpoints import CALL_GET_INFO as CALL_INFO
from exolve_portal.exolve.endpoints import CREATE, DELETE, GET_INFO, GET_LIST
from exolve_portal.exolve.endpoints import MAKE_VOICE_MESSAGE as MAKE
from exolve_portal.exolve.sandbox import SANDBOX_API_KEY, SANDBOX_BASE_URL, SANDBOX_SOURCE_NUMBERS
from tests.conftest import HTTP_READ_TIMEOUT
from tests.exolve_client_helpers import http_client

# Every test here runs in each error-body shape: flat, nested and plain text.
pytestmark = pytest.mark.usefixtures("error_shape")


SOURCE = SANDBOX_SOURCE_NUMBERS[0]
DESTINATION = "79991234560"  # last digit 0: the call completes
# Longer than the client's read timeout, so the client gives up first.
SLOW = HTTP_READ_TIMEOUT + 1


@pytest.fixture
def voice_message_id(exolve_client):
    return exolve_client.create_voice_message("Greeting", 1967, digit=5, redirect_number="79295800000")


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- success: typed results -------------------------------------------------------------


def test_create_voice_message_returns_the_id_and_sends_the_documented_body(exolve_client, sandbox_http):
    voice_message_id = exolve_client.create_voice_message("Тестовая", 1967, digit=5, redirect_number="79295800000")

    assert isinstance(voice_message_id, str)
    assert list(sandbox_http.sandbox.voice_messages()) == [voice_message_id]
    assert sandbox_http.sandbox.requests_log(CREATE)[0]["body"] == {
        "name": "Тестовая",
        "media_id": "1967",
        "redirect_info": {"digit": 5, "redirect_number": "79295800000"},
    }


def test_list_voice_messages_returns_summaries_with_aware_datetimes(exolve_client, voice_message_id):
    second = exolve_client.create_voice_message("Second", 1979)

    summaries = exolve_client.list_voice_messages()

    assert [type(s) for s in summaries] == [VoiceMessageSummary, VoiceMessageSummary]
    assert [(s.id, s.name) for s in summaries] == [(voice_message_id, "Greeting"), (second, "Second")]
    created_at = summaries[0].created_at
    assert created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - created_at).total_seconds()) < 60


def test_get_voice_message_returns_typed_info(exolve_client, sandbox_http, voice_message_id):
    info = exolve_client.get_voice_message(voice_message_id)

    assert isinstance(info, VoiceMessageInfo)
    assert (info.id, info.name, info.digit, info.redirect_number, info.media_id) == (
        voice_message_id, "Greeting", 5, "79295800000", 1967,
    )  # fmt: skip
    assert info.created_at.tzinfo is not None
    expected = sandbox_http.sandbox.voice_messages()[voice_message_id]["created_at"]
    assert info.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z") == expected


def test_delete_voice_message_deletes_it_at_exolve(exolve_client, sandbox_http, voice_message_id):
    assert exolve_client.delete_voice_message(voice_message_id) is None
    assert sandbox_http.sandbox.voice_messages() == {}


def test_make_voice_message_returns_the_call_id(exolve_client, sandbox_http, voice_message_id):
    call_id = exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id)

    assert isinstance(call_id, str)
    assert sandbox_http.sandbox.calls()[call_id]["service_id"] == voice_message_id
    assert sandbox_http.sandbox.requests_log(MAKE)[0]["body"] == {
        "source": SOURCE,
        "destination": DESTINATION,
        "service_id": voice_message_id,
    }


def test_get_call_in_progress_has_no_start_or_end(exolve_client, voice_message_id):
    call = exolve_client.get_call(exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id))

    assert isinstance(call, CallInfo)
    assert call.status == "initiated"
    assert (call.started, call.ended, call.duration) == (None, None, 0)
    assert call.created.tzinfo is not None and call.updated.tzinfo is not None
    assert (call.direction, call.source, call.destination, call.timeout) == ("outbound", SOURCE, DESTINATION, 60)


def test_get_call_once_completed_has_aware_times_and_duration(exolve_client, sandbox_http, voice_message_id):
    call_id = exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id)
    sandbox_http.sandbox.advance(10)

    call = exolve_client.get_call(call_id)

    assert (call.call_id, call.status, call.duration) == (call_id, "completed", 4)
    assert call.created <= call.started < call.ended
    assert call.ended.utcoffset().total_seconds() == 0


def test_get_call_keeps_final_statuses_other_than_completed(exolve_client, sandbox_http, voice_message_id):
    call_id = exolve_client.make_voice_message(SOURCE, "79991234566", voice_message_id)
    sandbox_http.sandbox.advance(10)
    call = exolve_client.get_call(call_id)
    assert (call.status, call.started, call.duration) == ("no_answer", None, 0)
    assert call.ended is not None


# --- documented errors --------------------------------------------------------------------


def _calls(client, voice_message_id="14b8d7b3-5468-418f-8592-b1d2127ad36b"):
    return {
        CREATE: lambda: client.create_voice_message("x", 1967),
        GET_LIST: client.list_voice_messages,
        GET_INFO: lambda: client.get_voice_message(voice_message_id),
        DELETE: lambda: client.delete_voice_message(voice_message_id),
        MAKE: lambda: client.make_voice_message(SOURCE, DESTINATION, voice_message_id),
        CALL_INFO: lambda: client.get_call("cal-x"),
    }


def _assert_api_error(excinfo, cls, status, message, endpoint):
    error = excinfo.value
    assert type(error) is cls
    assert (error.status, error.message, error.endpoint) == (status, message, endpoint)
    assert message in error.body


@pytest.mark.parametrize("endpoint", [CREATE, GET_LIST, GET_INFO, DELETE])
def test_voice_endpoints_with_an_empty_key_raise_invalid_token(sandbox_http, endpoint):
    client = http_client(sandbox_http.url, key="")
    with pytest.raises(errors.InvalidTokenError) as excinfo:
        _calls(client)[endpoint]()
    _assert_api_error(excinfo, errors.InvalidTokenError, 400, "failed to parse token", endpoint)
    assert isinstance(excinfo.value, errors.AuthenticationError)
    assert excinfo.value.may_have_reached is False


@pytest.mark.parametrize("endpoint", [CREATE, GET_LIST, GET_INFO, DELETE])
def test_voice_endpoints_with_an_unknown_key_raise_token_claims_error(sandbox_http, endpoint):
    client = http_client(sandbox_http.url, key="not-our-key")
    with pytest.raises(errors.TokenClaimsError) as excinfo:
        _calls(client)[endpoint]()
    _assert_api_error(excinfo, errors.TokenClaimsError, 401, "error getting JWT Token claims", endpoint)
    assert sandbox_http.sandbox.count(endpoint) == 1  # an authentication error is not retried


@pytest.mark.parametrize("endpoint", [MAKE, CALL_INFO])
@pytest.mark.parametrize("key", ["", "not-our-key"])
def test_call_endpoints_with_a_bad_key_raise_malformed_token(sandbox_http, endpoint, key):
    client = http_client(sandbox_http.url, key=key)
    with pytest.raises(errors.MalformedTokenError) as excinfo:
        _calls(client)[endpoint]()
    _assert_api_error(excinfo, errors.MalformedTokenError, 401, "malformed token", endpoint)


@pytest.mark.parametrize("endpoint", [CREATE, GET_INFO, DELETE, MAKE])
def test_a_blocked_account_raises_account_status_error(exolve_client, sandbox_http, voice_message_id, endpoint):
    sandbox_http.sandbox.set_blocked(True)
    with pytest.raises(errors.AccountStatusError) as excinfo:
        _calls(exolve_client, voice_message_id)[endpoint]()
    _assert_api_error(excinfo, errors.AccountStatusError, 403, "Customer is not in correct status", endpoint)
    assert excinfo.value.explanation


def test_create_with_an_unknown_media_id_raises_media_not_found(exolve_client, sandbox_http):
    with pytest.raises(errors.MediaNotFoundError) as excinfo:
        exolve_client.create_voice_message("x", 4242)
    _assert_api_error(excinfo, errors.MediaNotFoundError, 404, "error getting media resource", CREATE)
    assert sandbox_http.sandbox.voice_messages() == {}


@pytest.mark.parametrize(
    "arguments",
    [
        {"name": "", "media_id": 1967},
        {"name": "x" * 256, "media_id": 1967},
        {"name": "x", "media_id": 1967, "digit": 10, "redirect_number": "79295800000"},
        {"name": "x", "media_id": 1967, "redirect_number": "123"},
        {"name": "x", "media_id": 1967, "redirect_number": "7929580000012345"},
    ],
)
def test_create_with_invalid_parameters_raises_validation_error(exolve_client, arguments):
    with pytest.raises(errors.ValidationError) as excinfo:
        exolve_client.create_voice_message(**arguments)
    _assert_api_error(
        excinfo, errors.ValidationError, 400, "Validation error. Please enter valid parameter values.", CREATE
    )


def test_get_voice_message_unknown_raises_voice_message_not_found(exolve_client):
    with pytest.raises(errors.VoiceMessageNotFoundError) as excinfo:
        exolve_client.get_voice_message("14b8d7b3-5468-418f-8592-b1d2127ad36b")
    _assert_api_error(excinfo, errors.VoiceMessageNotFoundError, 404, "Scenario not found", GET_INFO)
    assert errors.is_gone(excinfo.value)
    assert str(excinfo.value) == "Exolve API response 404 (Scenario not found) for voice-message/v1/GetInfo"


def test_delete_voice_message_unknown_raises_application_not_found(exolve_client, sandbox_http):
    with pytest.raises(errors.ApplicationNotFoundError) as excinfo:
        exolve_client.delete_voice_message("14b8d7b3-5468-418f-8592-b1d2127ad36b")
    _assert_api_error(excinfo, errors.ApplicationNotFoundError, 404, "error getting application", DELETE)
    assert isinstance(excinfo.value, errors.NotFoundError)
    assert sandbox_http.sandbox.count(DELETE) == 1  # a definite answer: not retried


@pytest.mark.parametrize(
    ("source", "destination", "service_id"),
    [("7495123456", DESTINATION, None), (SOURCE, "+79991234560", None), (SOURCE, DESTINATION, "no-such-message")],
)
def test_make_voice_message_with_bad_parameters_raises_validation_error(
    exolve_client, sandbox_http, voice_message_id, source, destination, service_id
):
    with pytest.raises(errors.ValidationError) as excinfo:
        exolve_client.make_voice_message(source, destination, service_id or voice_message_id)
    _assert_api_error(
        excinfo, errors.ValidationError, 400, "Validation error. Please enter valid parameter values.", MAKE
    )
    assert sandbox_http.sandbox.calls() == {}


def test_make_voice_message_to_an_unconfirmed_number_in_trial_raises_trial_restriction(
    exolve_client, sandbox_http, voice_message_id
):
    sandbox_http.sandbox.set_trial(True, confirmed_numbers=["79990000001"])
    with pytest.raises(errors.TrialRestrictionError) as excinfo:
        exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id)
    _assert_api_error(
        excinfo, errors.TrialRestrictionError, 400, "the client can only call to his own confirmed number", MAKE
    )
    assert exolve_client.make_voice_message(SOURCE, "79990000001", voice_message_id)


def test_get_call_with_an_empty_call_id_raises_validation_error(exolve_client):
    with pytest.raises(errors.ValidationError) as excinfo:
        exolve_client.get_call("")
    _assert_api_error(
        excinfo, errors.ValidationError, 400, "Validation error. Please enter valid parameter values", CALL_INFO
    )


def test_get_call_unknown_raises_call_not_found(exolve_client):
    with pytest.raises(errors.CallNotFoundError) as excinfo:
        exolve_client.get_call("caldf32f642-6313-4dae-94db-98502ad3249c")
    _assert_api_error(excinfo, errors.CallNotFoundError, 404, "Not Found", CALL_INFO)


def test_500_error_getting_customer_status_raises_customer_status_error(exolve_client, sandbox_http):
    sandbox_http.sandbox.add_fault("http_error", endpoint=CREATE, status=500)
    with pytest.raises(errors.CustomerStatusError) as excinfo:
        exolve_client.create_voice_message("x", 1967)
    _assert_api_error(excinfo, errors.CustomerStatusError, 500, "error getting customer status", CREATE)
    assert isinstance(excinfo.value, errors.ServerError)
    assert sandbox_http.sandbox.count(CREATE) == 1


# --- transport faults ---------------------------------------------------------------------


def test_a_502_with_an_html_body_raises_server_error_keeping_the_raw_body(exolve_client, sandbox_http):
    sandbox_http.sandbox.add_fault("http_error", endpoint=CREATE)  # 502 from "nginx"
    with pytest.raises(errors.ServerError) as excinfo:
        exolve_client.create_voice_message("x", 1967)
    assert excinfo.value.status == 502
    assert "<html>" in excinfo.value.body
    assert sandbox_http.sandbox.count(CREATE) == 1  # Create is never repeated after a 5xx
    assert sandbox_http.sandbox.voice_messages() == {}


# The two calls that must never be repeated once they may have reached Exolve.
NOT_IDEMPOTENT = [
    (CREATE, lambda client, voice_message_id: client.create_voice_message("x", 1967)),
    (MAKE, lambda client, voice_message_id: client.make_voice_message(SOURCE, DESTINATION, voice_message_id)),
]


@pytest.mark.parametrize(("endpoint", "call"), NOT_IDEMPOTENT)
def test_a_timed_out_create_or_send_is_not_sent_again(exolve_client, sandbox_http, voice_message_id, endpoint, call):
    before = sandbox_http.sandbox.count(endpoint)  # the fixture's Create
    sandbox_http.sandbox.add_fault("timeout", endpoint=endpoint, seconds=SLOW)

    with pytest.raises(errors.ExolveTimeout) as excinfo:
        call(exolve_client, voice_message_id)

    assert excinfo.value.may_have_reached is True
    assert excinfo.value.endpoint == endpoint
    assert sandbox_http.sandbox.count(endpoint) - before == 1
    assert sandbox_http.sandbox.requests_log(endpoint)[-1]["applied"] is True


@pytest.mark.parametrize(("endpoint", "call"), NOT_IDEMPOTENT)
def test_a_create_or_send_whose_answer_was_lost_is_not_sent_again(
    exolve_client, sandbox_http, voice_message_id, endpoint, call
):
    before = sandbox_http.sandbox.count(endpoint)  # the fixture's Create
    sandbox_http.sandbox.add_fault("lost_response", endpoint=endpoint)

    with pytest.raises(errors.ConnectionDroppedError) as excinfo:
        call(exolve_client, voice_message_id)

    assert excinfo.value.may_have_reached is True
    assert sandbox_http.sandbox.count(endpoint) - before == 1
    if endpoint == MAKE:
        assert len(sandbox_http.sandbox.calls()) == 1  # the person's phone rang once, and only once
    else:
        assert len(sandbox_http.sandbox.voice_messages()) == 2


def test_a_dropped_create_is_not_sent_again(exolve_client, sandbox_http):
    # The client cannot tell a drop before or after Exolve acted: it must assume it may have.
    sandbox_http.sandbox.add_fault("drop", endpoint=CREATE)
    with pytest.raises(errors.ConnectionDroppedError):
        exolve_client.create_voice_message("x", 1967)
    assert sandbox_http.sandbox.count(CREATE) == 1


def test_a_dropped_delete_is_retried(exolve_client, sandbox_http, voice_message_id):
    sandbox_http.sandbox.add_fault("drop", endpoint=DELETE)

    exolve_client.delete_voice_message(voice_message_id)

    assert sandbox_http.sandbox.count(DELETE) == 2
    assert sandbox_http.sandbox.voice_messages() == {}


def test_get_info_after_a_502_is_retried_and_succeeds(exolve_client, sandbox_http, voice_message_id):
    sandbox_http.sandbox.add_fault("http_error", endpoint=GET_INFO, status=502)

    assert exolve_client.get_voice_message(voice_message_id).id == voice_message_id

    assert [e["status"] for e in sandbox_http.sandbox.requests_log(GET_INFO)] == [502, 200]


def test_get_call_after_a_timeout_is_retried(exolve_client, sandbox_http, voice_message_id):
    call_id = exolve_client.make_voice_message(SOURCE, DESTINATION, voice_message_id)
    sandbox_http.sandbox.add_fault("timeout", endpoint=CALL_INFO, seconds=SLOW)

    assert exolve_client.get_call(call_id).call_id == call_id

    assert sandbox_http.sandbox.count(CALL_INFO) == 2


def test_reads_give_up_after_max_retries(sandbox_http):
    sandbox_http.sandbox.add_fault("http_error", endpoint=GET_LIST, status=503, times=None)
    client = http_client(sandbox_http.url, max_retries=2)

    with pytest.raises(errors.ServerError) as excinfo:
        client.list_voice_messages()

    assert excinfo.value.status == 503
    assert sandbox_http.sandbox.count(GET_LIST) == 3  # one try and two retries


def test_a_malformed_answer_to_create_raises_malformed_response(exolve_client, sandbox_http):
    sandbox_http.sandbox.add_fault("malformed", endpoint=CREATE)
    with pytest.raises(errors.MalformedResponseError) as excinfo:
        exolve_client.create_voice_message("x", 1967)
    assert excinfo.value.may_have_reached is True
    assert excinfo.value.status == 200
    assert "<html>oops" in excinfo.value.body
    assert sandbox_http.sandbox.count(CREATE) == 1


def test_a_malformed_answer_to_get_info_is_retried(exolve_client, sandbox_http, voice_message_id):
    sandbox_http.sandbox.add_fault("malformed", endpoint=GET_INFO)
    assert exolve_client.get_voice_message(voice_message_id).name == "Greeting"
    assert sandbox_http.sandbox.count(GET_INFO) == 2


@pytest.mark.parametrize(("endpoint", "call"), NOT_IDEMPOTENT)
def test_an_answer_without_the_expected_id_raises_malformed_response(
    exolve_client, sandbox_http, voice_message_id, endpoint, call
):
    before = sandbox_http.sandbox.count(endpoint)  # the fixture's Create
    sandbox_http.sandbox.add_fault("bad_shape", endpoint=endpoint)
    with pytest.raises(errors.MalformedResponseError):
        call(exolve_client, voice_message_id)
    assert sandbox_http.sandbox.count(endpoint) - before == 1


def test_get_call_without_a_call_id_in_the_answer_raises_malformed_response(exolve_client, sandbox_http):
    sandbox_http.sandbox.add_fault("bad_shape", endpoint=CALL_INFO, times=None)
    with pytest.raises(errors.MalformedResponseError):
        exolve_client.get_call("cal-1")


def test_a_closed_port_raises_connection_error_that_never_reached(sandbox_http):
    client = http_client(f"http://127.0.0.1:{_closed_port()}", max_retries=1)

    with pytest.raises(errors.ExolveConnectionError) as excinfo:
        client.make_voice_message(SOURCE, DESTINATION, "app-1")

    assert excinfo.value.may_have_reached is False
    assert isinstance(excinfo.value, errors.ExolveTransportError)


def test_a_refused_create_is_retried_because_it_never_arrived(sandbox_http):
    # In-process (`connect_refused` cannot be staged on a listening port): the one case
    # where repeating a Create is safe.
    client = ExolveClient(SANDBOX_BASE_URL, SANDBOX_API_KEY, backoff=0.01)
    sandbox_http.sandbox.mount(client.session)
    sandbox_http.sandbox.add_fault("connect_refused", endpoint=CREATE)

    voice_message_id = client.create_voice_message("x", 1967)

    assert list(sandbox_http.sandbox.voice_messages()) == [voice_message_id]
    assert sandbox_http.sandbox.count(CREATE) == 1
    assert sandbox_http.sandbox.faults() == []  # the refusal did happen


# --- the key stays secret -----------------------------------------------------------------

SECRET = "s3cr3t-application-key"


def test_the_api_key_never_appears_in_errors_or_thehttp_client(sandbox_http):
    client = http_client(sandbox_http.url, key=SECRET)
    sandbox_http.sandbox.api_keys = frozenset({SECRET})  # accepted, so later faults get through
    raised = []
    for fault in ("http_error", "timeout", "lost_response", "malformed"):
        sandbox_http.sandbox.add_fault(fault, endpoint=CREATE, seconds=SLOW)
        with pytest.raises(errors.ExolveError) as excinfo:
            client.create_voice_message("x", 1967)
        raised.append(excinfo.value)
    sandbox_http.sandbox.api_keys = frozenset({SANDBOX_API_KEY})
    with pytest.raises(errors.TokenClaimsError) as excinfo:
        client.list_voice_messages()
    raised.append(excinfo.value)

    for error in raised:
        for text in (str(error), repr(error), error.body, str(error.__cause__), repr(error.__cause__)):
            assert SECRET not in text
    assert SECRET not in repr(client)
    assert SECRET not in repr(vars(client))
    assert SECRET not in repr(client.session.headers)


def test_the_api_key_is_sent_as_a_bearer_token(sandbox_http):
    seen = []

    def capture(response, *args, **kwargs):
        seen.append(response.request.headers["Authorization"])

    client = http_client(sandbox_http.url)
    client.session.hooks["response"].append(capture)
    client.list_voice_messages()
    assert seen == [f"Bearer {SANDBOX_API_KEY}"]
    assert isinstance(client.session, requests.Session)


def test_a_list_answer_of_the_wrong_shape_is_refused_not_read_as_empty(exolve_client, sandbox_http):
    # Reading {"unexpected": true} as "no voice messages" would mark every local one missing.
    sandbox_http.sandbox.add_fault("bad_shape", endpoint=GET_LIST, times=None)
    with pytest.raises(errors.MalformedResponseError):
        exolve_client.list_voice_messages()
