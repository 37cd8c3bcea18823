"""Sending through the API over real HTTP: verdicts, the Idempotency-Key, steering and reading.

The concurrency test runs on PostgreSQL (DATABASE_URL=postgres://…): two identical requests at
the same moment make one broadcast, and a real `db_worker` rings every number once, counted at
the sandbox.
"""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import ApiSend
from api.recording import record_waiting
from audiences.contact_models import Consent, Contact
from audiences.models import StopListEntry
from calls.models import Broadcast, Call, CallState, SmsFollowUp
from tests.api.conftest import problem, recorded
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


def test_a_send_is_accepted_then_recorded_with_a_verdict_per_number(api, make_token, voice_message):
    token = make_token(["send", "read"])
    StopListEntry.objects.create(number="79991234562", reason="asked")
    numbers = ["+7 999 123-45-61", "79991234562", "12", "8 999 123 45 61"]
    sent = api.call("POST", "/broadcasts", token, json=body(voice_message, numbers), headers={"Idempotency-Key": "k1"})

    assert sent.status_code == 202, sent.text
    accepted = sent.json()
    assert accepted["state"] == "accepted" and sent.headers["Location"] == accepted["url"]
    assert {(v["number"], v["verdict"]) for v in accepted["numbers"]} == {
        ("79991234561", "accepted"),
        ("79991234562", "accepted"),
        ("12", "invalid"),
        ("79991234561", "duplicate"),
    }
    assert not Broadcast.objects.exists()  # the request wrote its send and nothing else

    answer = recorded(api, sent)
    assert answer["state"] == "recorded" and answer["problem"] is None
    assert {(v["number"], v["verdict"]) for v in answer["numbers"]} == {
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
    # Another token does not see this token's send.
    assert problem(api.call("GET", accepted["url"].removeprefix("/api/v1"), make_token(["send"])), 404)


def test_the_same_key_gives_the_same_send_and_another_body_is_refused(api, make_token, voice_message):
    token = make_token(["send"])
    key = {"Idempotency-Key": "order-7781"}
    first = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"]), headers=key)
    again = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"]), headers=key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"] and again.json()["state"] == "accepted"

    answer = recorded(api, first)
    after = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"]), headers=key)
    assert after.status_code == 200 and after.json() == answer and answer["state"] == "recorded"
    assert recorded(api, after) == answer  # recording again records nothing

    changed = api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234569"]), headers=key)
    assert "different request" in problem(changed, 422)["detail"]
    assert Broadcast.objects.count() == 1 and Call.objects.count() == 1
    # Another token may use the same key for its own send.
    other_token = make_token(["send"])
    other = api.call("POST", "/broadcasts", other_token, json=body(voice_message, ["79991234561"]), headers=key)
    assert recorded(api, other)["state"] == "recorded" and Broadcast.objects.count() == 2
    assert problem(api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"])), 422)


def test_refusals_name_each_field_in_the_callers_language(api, make_token, voice_message, settings):
    token = make_token(["send"])
    bad = body(voice_message, ["79991234561"], purpose="advertising", retries=99)
    bad["source"] = "74950000000"
    sent = api.call("POST", "/broadcasts", token, json=bad, headers={"Idempotency-Key": "a"})
    answer = recorded(api, sent)
    assert answer["state"] == "refused" and answer["broadcast"] is None
    fields = {error["field"] for error in answer["problem"]["errors"]}
    assert {"source", "plan.purpose", "plan.retries"} <= fields, answer
    russian = api.call(
        "POST", "/broadcasts", token, json=bad, headers={"Idempotency-Key": "ru", "Accept-Language": "ru"}
    )
    assert recorded(api, russian)["problem"]["title"] == "Запрос не может быть выполнен"

    # What the body alone tells is refused at once.
    shape = problem(api.call("POST", "/broadcasts", token, json={"numbers": 5}, headers={"Idempotency-Key": "b"}), 422)
    assert shape["errors"]
    nobody = body(voice_message, ["12", "34"])
    refused = problem(api.call("POST", "/broadcasts", token, json=nobody, headers={"Idempotency-Key": "n"}), 422)
    assert {e["verdict"] for e in refused["errors"]} == {"invalid"}
    assert problem(api.call("POST", "/broadcasts", token, json=body(voice_message, ["79991234561"])), 422)
    settings.EXOLVE_UPLOAD_MAX_ROWS = 3
    many = body(voice_message, [f"7999123456{n}" for n in range(4)])
    assert problem(api.call("POST", "/broadcasts", token, json=many, headers={"Idempotency-Key": "c"}), 422)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    huge = body(voice_message, ["79991234561"] * 200)
    assert problem(api.call("POST", "/broadcasts", token, json=huge, headers={"Idempotency-Key": "d"}), 413)
    assert not Broadcast.objects.exists()
    assert sorted(ApiSend.objects.values_list("key", "state")) == [("a", "refused"), ("ru", "refused")]


def test_a_send_whose_owner_lost_the_right_is_refused_when_recorded(api, make_token, manager, voice_message):
    sent = api.call("POST", "/broadcasts", make_token(["send"]), json=body(voice_message, ["79991234561"]),
                    headers={"Idempotency-Key": "k"})  # fmt: skip
    assert sent.status_code == 202, sent.text
    manager.groups.clear()
    record_waiting()
    refused = ApiSend.objects.get()
    assert refused.state == "refused" and "may no longer send" in refused.answer["problem"]["detail"]
    assert not Broadcast.objects.exists()


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
    assert {v["number"]: v["verdict"] for v in recorded(api, sent)["numbers"]} == {
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
    answer = recorded(api, sent)
    verdicts = {v["number"]: v["verdict"] for v in answer["numbers"]}
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
    assert answer["broadcast"]["counts"]["pending"] == 3
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
    assert "Nobody's list" in recorded(api, unknown)["problem"]["detail"]


def test_read_calls_with_cursor_and_filters_then_steer(api, make_token, voice_message):
    token = make_token(["send", "read", "steer"])
    numbers = [f"7999123450{n}" for n in range(5)]
    later = (timezone.now() + timedelta(days=1)).isoformat()
    planned = body(voice_message, numbers, start_at=later)
    sent = api.call("POST", "/broadcasts", token, json=planned, headers={"Idempotency-Key": "r"})
    pk = recorded(api, sent)["broadcast"]["id"]
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
def test_identical_sends_at_once_and_two_workers_recording_ring_each_number_once(
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
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"] and ApiSend.objects.count() == 1
    # Thirty more sends (each also sent twice), recorded by two workers at the same time.
    others = [f"7999000{n:04d}" for n in range(30)]
    for number in others:
        for _twice in range(2):
            sent = api.call("POST", "/broadcasts", token, json=body(voice_message, [number]),
                            headers={"Idempotency-Key": number})  # fmt: skip
            assert sent.status_code == 202, sent.text

    env = worker_env(settings.EXOLVE_SANDBOX_STATE, **NO_REFRESH)
    workers.start(env)
    workers.start(env)
    wait_for(lambda: not ApiSend.objects.filter(state="accepted").exists(), 60, "the workers to record every send")
    wait_for(lambda: not Call.objects.filter(state=CallState.QUEUED).exists(), 60, "the workers to send every call")
    workers.stop()
    assert Broadcast.objects.count() == 31 and ApiSend.objects.filter(state="recorded").count() == 31
    assert rung(sandbox) == {number: 1 for number in numbers + others}


def test_a_send_carries_the_follow_up_sms_and_refuses_a_city_sender(api, make_token, voice_message, settings):
    settings.EXOLVE_SMS_SENDER_NAMES = ["Clinic"]
    token = make_token(["send"])
    sms = {"sms_text": "Воды не будет в понедельник", "sms_sender": "Clinic", "sms_on": ["no_answer", "busy"]}
    sent = api.call(
        "POST", "/broadcasts", token, json=body(voice_message, ["79991234561"], **sms), headers={"Idempotency-Key": "s"}
    )
    assert recorded(api, sent)["state"] == "recorded"
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
    assert any(error["field"].startswith("plan.sms") for error in recorded(api, refused)["problem"]["errors"])
