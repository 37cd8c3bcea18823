"""number/customer/v1/GetList: the client pages and reads leniently, the sandbox is as strict as the docs."""

import json
from decimal import Decimal

import pytest

from exolve_portal.exolve import errors, owned_numbers
from exolve_portal.exolve.endpoints import MAKE_VOICE_MESSAGE, NUMBERS_GET_LIST
from exolve_portal.exolve.sandbox import SANDBOX_API_KEY, SANDBOX_SOURCE_NUMBERS, Sandbox
from tests.exolve_client_helpers import http_client

AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


def _ask(sandbox, body, headers=AUTH, path=NUMBERS_GET_LIST):
    reply = sandbox.handle(f"/{path}", headers, body if isinstance(body, bytes) else body.encode())
    return reply.status, (json.loads(reply.body) if reply.body else None)


@pytest.fixture
def bare_sandbox(tmp_path):
    instance = Sandbox(tmp_path / "numbers.sqlite3")
    yield instance
    instance.close()


# --- the client, over real HTTP --------------------------------------------------------


def test_client_pages_until_total_and_types_every_number(sandbox_http, exolve_client):
    sandbox = sandbox_http.sandbox
    extra = [{"number_name": f"7999123460{i}", "type_name": "DEF"} for i in range(3)]
    sandbox.set_numbers([*sandbox.owned_numbers(), *extra])

    numbers = exolve_client.list_numbers(page_size=3)

    assert len(numbers) == 8
    assert [entry["body"]["offset"] for entry in sandbox.requests_log(NUMBERS_GET_LIST)] == [0, 3, 6]
    by_number = {n.number_name: n for n in numbers}
    city = by_number[SANDBOX_SOURCE_NUMBERS[1]]
    assert (city.kind, city.region_name, city.category_name) == ("city", "Moscow", "Бронзовый")
    assert city.subscription_fee == Decimal("150")  # sent as the string "150"
    assert by_number[SANDBOX_SOURCE_NUMBERS[0]].install_fee == Decimal("590")  # sent as the number 590
    toll_free = by_number["78001234567"]
    assert toll_free.kind == "8-800" and toll_free.region_name == "Russia"
    assert not toll_free.options.outgoing_calls
    assert by_number["79991234501"].options.outgoing_sms and by_number["79991234501"].kind == "mobile"
    assert by_number["79991234501"].create_date.year == 2025


def test_client_passes_the_filters_it_is_given(sandbox_http, exolve_client):
    assert {n.number_name for n in exolve_client.list_numbers(type_name="KDU")} == {"78001234567"}
    assert [n.number_name for n in exolve_client.list_numbers(search_filter="7654")] == [SANDBOX_SOURCE_NUMBERS[1]]


@pytest.mark.usefixtures("error_shape")
@pytest.mark.parametrize(
    ("key", "cls", "message"),
    [("", errors.MalformedTokenError, "malformed token"), ("not-ours", errors.AuthenticationError, "Unauthorized")],
)
def test_each_401_in_each_shape_is_a_refused_key(sandbox_http, key, cls, message):
    with pytest.raises(errors.ExolveError) as excinfo:
        http_client(sandbox_http.url, key=key, max_retries=0).list_numbers()
    assert type(excinfo.value) is cls and excinfo.value.status == 401
    assert excinfo.value.message == message and "API key" in excinfo.value.explanation


@pytest.mark.usefixtures("error_shape")
def test_a_bad_field_in_each_shape_is_a_400_validation_error(sandbox_http, exolve_client):
    with pytest.raises(errors.ValidationError) as excinfo:
        exolve_client._post(NUMBERS_GET_LIST, {"limit": -1})
    assert excinfo.value.status == 400 and excinfo.value.message.startswith("proto: syntax error (line 1:")


def test_the_documented_empty_404_is_a_wrong_address_never_gone(sandbox_http):
    with pytest.raises(errors.WrongAddressError) as excinfo:
        http_client(sandbox_http.url + "/wrong-prefix", max_retries=0).list_numbers()
    assert excinfo.value.status == 404 and "EXOLVE_API_URL" in excinfo.value.explanation
    assert not errors.is_gone(excinfo.value)
    # An HTML 404 (a proxy's) is not that documented answer.
    html = errors.error_for_response(404, "", "<html>Not Found</html>", NUMBERS_GET_LIST)
    assert type(html) is errors.UnexpectedStatusError


def test_a_429_is_waited_out_and_a_broken_answer_refused(sandbox_http, exolve_client):
    sandbox = sandbox_http.sandbox
    sandbox.add_fault("rate_limited", endpoint=NUMBERS_GET_LIST, seconds=0)
    assert len(exolve_client.list_numbers()) == 5
    sandbox.add_fault("bad_shape", endpoint=NUMBERS_GET_LIST, times=None)
    with pytest.raises(errors.MalformedResponseError):
        exolve_client.list_numbers()


# --- the client's reading, alone ----------------------------------------------------------


def test_rows_are_read_leniently_as_the_documentation_s_example_disagrees_with_its_table():
    row = owned_numbers.parse_number(
        {
            "number_name": 79991234455,
            "type_name": "def",
            "subscription_fee": "150.50",
            "install_fee": 590,
            "number_options": [{"outgoing_calls": "true", "outgoing_sms": True}],
            "call_forwarding_number": {"redirect_type": "1", "redirect_number": "79990000000"},
            "create_date": "2025-05-22T08:49:28.446495Z",
            "region_name": None,
        }
    )
    assert (row.number_name, row.kind, row.subscription_fee, row.install_fee) == (
        "79991234455",
        "mobile",
        Decimal("150.50"),
        Decimal("590"),
    )
    assert row.options.outgoing_calls and row.options.outgoing_sms and not row.options.incoming_calls
    assert row.region_name == "" and row.create_date.tzinfo is not None
    assert owned_numbers.list_numbers(lambda endpoint, body: {}) == []  # protobuf leaves out an empty list
    with pytest.raises(errors.MalformedResponseError):
        owned_numbers.parse_number({"type_name": "DEF"})  # a row without its number


def test_paging_is_bounded_by_total_and_by_pages():
    with pytest.raises(owned_numbers.TooManyNumbersError):
        owned_numbers.list_numbers(lambda endpoint, body: {"numbers": [], "total": 10**9})
    calls = []

    def same_row_for_ever(endpoint, body):
        calls.append(body)
        return {"numbers": [{"number_name": "79990000000"}], "total": 10_000}

    with pytest.raises(owned_numbers.TooManyNumbersError):
        owned_numbers.list_numbers(same_row_for_ever)
    assert len(calls) == owned_numbers.MAX_NUMBERS // owned_numbers.PAGE_SIZE + 2


# --- the sandbox's strictness ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"foo": 1}', 'proto: (line 1:2): unknown field "foo"'),
        ('{\n  "limit": -1}', "proto: syntax error (line 2:12): invalid value -1"),
        ('{"limit": "10"}', 'proto: syntax error (line 1:11): invalid value "10"'),
        ('{"offset": 1.5}', "proto: syntax error (line 1:12): invalid value 1.5"),
        ('{"region_id": true}', "proto: syntax error (line 1:15): invalid value true"),
        ('{"type_name": 5}', "proto: syntax error (line 1:15): invalid value 5"),
        ('{"sip_filter": 3}', "proto: syntax error (line 1:16): invalid value 3"),
        ('{"date_from": "yesterday"}', 'proto: syntax error (line 1:15): invalid value "yesterday"'),
        ('{\n  "limit": п}', "proto: syntax error (line 2:12): invalid value п"),
        ('{\n  "limit": ,}', "proto: syntax error (line 2:12): unexpected token ,"),
        ("[]", "proto: syntax error (line 1:1): unexpected token ["),
    ],
)
def test_sandbox_refuses_what_the_documentation_does_not_allow(bare_sandbox, body, message):
    assert _ask(bare_sandbox, body) == (400, {"error": message})


def test_sandbox_answers_the_documented_401s_and_the_empty_404(bare_sandbox):
    assert _ask(bare_sandbox, "{}", headers={}) == (401, {"error": "malformed token"})
    assert _ask(bare_sandbox, "{}", headers={"Authorization": "Bearer nope"}) == (401, {"error": "Unauthorized"})
    assert _ask(bare_sandbox, "{}", path="number/customer/v1/GetLis") == (404, None)


def test_sandbox_pages_filters_and_counts_total(bare_sandbox):
    status, page = _ask(bare_sandbox, '{"limit": 2, "offset": 1, "application_uuid": null}')
    assert status == 200 and page["total"] == 5
    assert [n["number_name"] for n in page["numbers"]] == [SANDBOX_SOURCE_NUMBERS[1], "79991234501"]
    assert "call_forwarding_flag" not in page["numbers"][0]
    _status, mobile = _ask(bare_sandbox, '{"type_name": "DEF", "search_filter": "502"}')
    assert mobile["total"] == 1 and mobile["numbers"][0]["number_name"] == "79991234502"


def test_sandbox_calls_only_from_its_own_numbers_that_may_call_out(bare_sandbox):
    service_id = bare_sandbox.add_voice_message("Greeting")

    def make(source):
        body = {"source": source, "destination": "79991234560", "service_id": service_id}
        return _ask(bare_sandbox, json.dumps(body), path=MAKE_VOICE_MESSAGE)[0]

    assert make(SANDBOX_SOURCE_NUMBERS[0]) == 200
    assert make("74990000000") == 400  # not the account's number
    assert make("78001234567") == 400  # its 8-800 number cannot call out
