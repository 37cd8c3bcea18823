"""Sending through the API over real HTTP: verdicts, the Idempotency-Key, steering and reading.

The concurrency test runs on PostgreSQL (DATABASE_URL=postgres://…): two identical requests at
the same moment make one broadcast, and a real `db_worker` rings every number once, counted at
the sandbox.
"""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import IdempotencyKey
from audiences.contact_models import Consent, Contact
from audiences.models import StopListEntry
from calls.models import Broadcast, Call, CallState, SmsFollowUp
from tests.api.conftest import problem
from tests.calls.test_broadcast_workers import DB_TASKS, NO_REFRESH, wait_for
from tests.factories_calls import SOURCE, postgres_only, rung, skip_unless_postgres, worker_env

pytestmark = pytest.mark.slow


def body(voice_message, numbers, **plan):
    return {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "numbers": numbers,
        "name": "Water off on Monday",
        "plan": {"basis": "contract", **plan},
    }


def test_a_send_answers_the_broadcast_and_a_verdict_per_number(api, make_token, voice_message):
    token = make_token(["send", "read"])
    StopListEntry.objects.create(number="79991234562", reason="asked")
    numbers = ["+7 999 123-45-61", "79991234562", "12", "8 999 123 45 61"]
    sent = api.call("POST", "/broadcasts", token, json=body(voice_message, numbers), headers={"Idempotency-Key": "k1"})

    assert sent.status_code == 201, sent.text
    answer = sent.json()
    verdicts = {(v["number"], v["verdict"]) for v in answer["numbers"]}
    assert verdicts == {
        ("79991234561", "valid"),
        ("79991234562", "stop_list"),
        ("12", "invalid"),
        ("79991234561", "duplicate"),
    }
    broadcast = Broadcast.objects.get()
    assert answer["broadcast"]["id"] == broadcast.pk and broadcast.name == "Water off on Monday"
    assert broadcast.created_by.username == "manager" and broadcast.basis == "contract"
    assert dict(Call.objects.values_list("destination", "state")) == {
        "79991234561": CallState.QUEUED,
        "79991234562": CallState.SKIPPED,
    }
    read = api.call("GET", f"/broadcasts/{broadcast.pk}", token).json()
    assert read["counts"]["total"] == 2 and read["counts"]["not_called"] == 1 and read["counts"]["pending"] == 1


def test_the_same_key_gives_the_same_broadcast_and_another_body_is_refused(api, make_token, voice_message):
    token = make_token(["send"])
    key = {"Idempotency-Key": "order-7781"}
    first = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"]), headers=key)
    again = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"]), headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()

    changed = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234569"]), headers=key)
    assert "different request" in problem(changed, 422)["detail"]
    assert Broadcast.objects.count() == 1 and Call.objects.count() == 1
    # Another token may use the same key for its own send.
    other_token = make_token(["send"])
    other = api.call("POST", "/broadcasts", other_token, json=body(voice_message, ["79991234561"]), headers=key)
    assert other.status_code == 201 and Broadcast.objects.count() == 2
    assert problem(api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"])), 422)


def test_a_key_committed_between_the_check_and_the_insert_answers_the_first_broadcast(
    api, make_token, voice_message, monkeypatch
):
    # The path of two requests at the same moment, without timing: the second's early check
    # misses the first's key (not committed yet); its INSERT then meets the unique constraint.
    from api import sending

    token = make_token(["send"])
    key = {"Idempotency-Key": "same-moment"}
    first = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"]), headers=key)
    real_repeat, checks = sending._repeat, []

    def not_yet_committed(*args):
        checks.append(args)
        return None if len(checks) == 1 else real_repeat(*args)

    monkeypatch.setattr(sending, "_repeat", not_yet_committed)
    second = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"]), headers=key)
    assert (first.status_code, second.status_code) == (201, 200) and first.json() == second.json()
    assert len(checks) == 2 and Broadcast.objects.count() == 1 and Call.objects.count() == 1


def test_refusals_name_each_field(api, make_token, voice_message, settings):
    token = make_token(["send"])
    bad = body(voice_message, ["79991234561"], purpose="advertising", retries=99)
    bad["source"] = "74950000000"
    answer = problem(api.call("POST", "/broadcasts", token, json=bad, headers={"Idempotency-Key": "a"}), 422)
    fields = {error["field"] for error in answer["errors"]}
    assert {"source", "plan.purpose", "plan.retries"} <= fields, answer
    shape = problem(api.call("POST", "/broadcasts", token, json={"numbers": 5}, headers={"Idempotency-Key": "b"}), 422)
    assert shape["errors"]
    settings.EXOLVE_UPLOAD_MAX_ROWS = 3
    many = body(voice_message, [f"7999123456{n}" for n in range(4)])
    assert problem(api.call("POST", "/broadcasts", token, json=many, headers={"Idempotency-Key": "c"}), 422)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    huge = body(voice_message, ["79991234561"] * 200)
    assert problem(api.call("POST", "/broadcasts", token, json=huge, headers={"Idempotency-Key": "d"}), 413)
    assert not Broadcast.objects.exists() and not IdempotencyKey.objects.exists()


def test_no_consent_is_left_out_when_consent_is_the_basis(api, make_token, voice_message):
    token = make_token(["send"])
    contact = Contact.objects.create(number="79991234561", name="Anna")
    Consent.objects.create(contact=contact, purpose="information", kind="written", given_at=timezone.now())
    sent = api.call(
        "POST",
        "/broadcasts",
        token,
        json=body(voice_message, ["79991234561", "79991234563"], basis="consent"),
        headers={"Idempotency-Key": "c"},
    )
    assert sent.status_code == 201, sent.text
    assert {v["number"]: v["verdict"] for v in sent.json()["numbers"]} == {
        "79991234561": "valid",
        "79991234563": "no_consent",
    }
    assert list(Call.objects.values_list("destination", flat=True)) == ["79991234561"]


def test_a_send_to_lists_calls_their_contacts_with_consent_and_says_why_not_the_others(
    api, make_token, voice_message, club
):
    token = make_token(["send"])
    sent = api.call(
        "POST",
        "/broadcasts",
        token,
        json={**body(voice_message, ["79991234561"]), "lists": ["Club", "Building"]},
        headers={"Idempotency-Key": "lists"},
    )
    assert sent.status_code == 201, sent.text
    verdicts = {v["number"]: v["verdict"] for v in sent.json()["numbers"]}
    assert {n for n, v in verdicts.items() if v == "valid"} == {"79991234561", "79990000001", "79990000007"}
    assert verdicts["79990000002"] == "no_consent" and verdicts["79990000004"] == "no_consent"
    assert verdicts["79990000005"] == "stop_list" and verdicts["123"] == "invalid"
    broadcast = Broadcast.objects.get()
    assert dict(broadcast.calls.values_list("destination", "contact__name")) == {
        "79991234561": None,
        "79990000001": "Anna",
        "79990000007": "Egor",
    }
    assert {item["name"] for item in broadcast.audiences["lists"]} == {"Club", "Building"}
    assert sent.json()["broadcast"]["counts"]["pending"] == 3
    # Each call read back names its contact and its follow-up SMS (none was planned).
    read = api.call("GET", f"/broadcasts/{broadcast.pk}/calls", make_token(["read"])).json()["items"]
    assert {(c["destination"], c["contact"] is not None, c["sms"]["state"]) for c in read} == {
        ("79991234561", False, "none"),
        ("79990000001", True, "none"),
        ("79990000007", True, "none"),
    }
    anna = broadcast.calls.get(destination="79990000001")
    SmsFollowUp.objects.create(
        broadcast=broadcast, call=anna, destination=anna.destination, sender="Clinic", state="refused",
        not_before=timezone.now(), error="The number cannot take SMS.",
    )  # fmt: skip
    sms = api.call("GET", f"/calls/{anna.pk}", make_token(["read"])).json()["sms"]
    assert sms == {"state": "refused", "reason": "The number cannot take SMS."}

    unknown = api.call(
        "POST",
        "/broadcasts",
        token,
        json={**body(voice_message, []), "lists": ["Nobody's list"]},
        headers={"Idempotency-Key": "unknown-list"},
    )
    assert "Nobody's list" in problem(unknown, 422)["detail"]


def test_read_calls_with_cursor_and_filters_then_steer(api, make_token, voice_message):
    token = make_token(["send", "read", "steer"])
    numbers = [f"7999123450{n}" for n in range(5)]
    later = (timezone.now() + timedelta(days=1)).isoformat()
    planned = body(voice_message, numbers, start_at=later)
    sent = api.call("POST", "/broadcasts", token, json=planned, headers={"Idempotency-Key": "r"})
    pk = sent.json()["broadcast"]["id"]
    Call.objects.filter(destination="79991234500").update(state=CallState.FINISHED, status="no_answer")
    seen, cursor = [], None
    while True:
        page = api.call("GET", f"/broadcasts/{pk}/calls", token, params={"limit": 2, "cursor": cursor}).json()
        seen += [item["destination"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == numbers
    no_answer = api.call("GET", f"/broadcasts/{pk}/calls", token, params={"outcome": "no_answer"}).json()["items"]
    assert [c["destination"] for c in no_answer] == ["79991234500"] and no_answer[0]["outcome"] == "no_answer"
    assert api.call("GET", f"/calls/{no_answer[0]['id']}", token).json()["status"] == "no_answer"
    assert problem(api.call("GET", f"/broadcasts/{pk}/calls", token, params={"limit": 100000}), 422)
    assert problem(api.call("GET", f"/broadcasts/{pk}/calls", token, params={"cursor": "!!"}), 422)
    assert problem(api.call("GET", "/calls/999999", token), 404)

    stopped = api.call("POST", f"/broadcasts/{pk}/stop", token)
    assert stopped.status_code == 200 and "4 calls will not be made" in stopped.json()["summary"]
    assert problem(api.call("POST", f"/broadcasts/{pk}/resume", token), 409)
    listed = api.call("GET", "/broadcasts", token).json()["items"]
    assert listed[0]["id"] == pk and listed[0]["counts"]["not_called"] == 4


@postgres_only
def test_two_identical_sends_at_once_make_one_broadcast_rung_once_each(
    api, make_token, voice_message, sandbox, settings, workers
):
    skip_unless_postgres()
    settings.TASKS = DB_TASKS
    token = make_token(["send"])
    numbers = [f"7999123457{n}" for n in range(6)]
    start = threading.Barrier(2)
    answers = []

    def post():
        start.wait()
        answers.append(
            api.call("POST", "/broadcasts", token, json=body(voice_message, numbers), headers={"Idempotency-Key": "x"})
        )

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert Broadcast.objects.count() == 1 and Call.objects.count() == 6

    workers.start(worker_env(settings.EXOLVE_SANDBOX_STATE, **NO_REFRESH))
    wait_for(lambda: not Call.objects.filter(state=CallState.QUEUED).exists(), 60, "the worker to send every call")
    workers.stop()
    assert rung(sandbox) == {number: 1 for number in numbers}


def test_a_send_carries_the_follow_up_sms_and_refuses_a_city_sender(api, make_token, voice_message, settings):
    settings.EXOLVE_SMS_SENDER_NAMES = ["Clinic"]
    token = make_token(["send"])
    sms = {"sms_text": "Воды не будет в понедельник", "sms_sender": "Clinic", "sms_on": ["no_answer", "busy"]}
    sent = api.call(
        "POST", "/broadcasts", token, json=body(voice_message, ["79991234561"], **sms), headers={"Idempotency-Key": "s"}
    )
    assert sent.status_code == 201, sent.text
    broadcast = Broadcast.objects.get()
    assert (broadcast.sms_sender, set(broadcast.sms_on.split(","))) == ("Clinic", {"no_answer", "busy"})

    city = {**sms, "sms_sender": "74951234567"}
    refused = api.call(
        "POST",
        "/broadcasts",
        token,
        json=body(voice_message, ["79991234561"], **city),
        headers={"Idempotency-Key": "c"},
    )
    assert any(error["field"].startswith("plan.sms") for error in problem(refused, 422)["errors"])
