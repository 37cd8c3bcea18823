"""Webhooks: each event delivered once, signed as Standard Webhooks says, retried; private addresses refused."""

import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls import steering
from calls.sending import send_queued_calls
from exolve_portal.role_names import MANAGERS
from integrations import addresses, delivery
from integrations.admin import EndpointForm
from integrations.models import Delivery, DeliveryState, Endpoint, EventKind
from tests.factories import make_staff
from tests.factories_calls import ANSWERS, NO_ANSWER, SOURCE, finish_calls, queue

from .receiver import Receiver, verify

pytestmark = pytest.mark.usefixtures("dummy_tasks")


@pytest.fixture
def receiver(settings):
    settings.EXOLVE_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1
    with Receiver(fail_first=3) as found:
        yield found


def endpoint(url, kinds=tuple(EventKind.values)):
    return Endpoint.objects.create(name="CRM", url=url, events=list(kinds))


def test_each_event_arrives_once_signed_after_three_failures(
    receiver, voice_message, operator, sandbox, django_capture_on_commit_callbacks
):
    hook = endpoint(receiver.url)
    broadcast = queue(voice_message, [ANSWERS, NO_ANSWER], user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        send_queued_calls(broadcast.pk)
    assert not Delivery.objects.exists()  # a sent call is not an event
    with django_capture_on_commit_callbacks(execute=True):
        finish_calls(sandbox, broadcast)

    start = timezone.now()
    # Retries follow the backoff: 5 s, 5 min, 30 min; nothing is posted before it is due.
    for offset in (0, 1, 10, 60, 10 * 60, 3600, 2 * 86400):
        delivery.deliver_due(start + timedelta(seconds=offset))
        if offset == 1:
            assert len(receiver.requests) == 3  # the three events' first attempts, no more

    accepted = receiver.accepted()
    ids = [headers["webhook-id"] for headers, _body in accepted]
    assert len(ids) == len(set(ids)) == 3, "each event exactly once"
    assert len(receiver.requests) == 12  # 3 failed attempts and 1 success each
    for headers, body in accepted:
        assert verify(hook.secret, headers, body)
        assert headers["webhook-timestamp"] == str(int((start + timedelta(seconds=3600)).timestamp()))
    bodies = {json.loads(body)["type"]: json.loads(body)["data"] for _h, body in accepted if b"broadcast" in body}
    assert bodies["broadcast.finished"]["counts"]["completed"] == 1
    outcomes = sorted(json.loads(body)["data"]["outcome"] for _h, body in accepted if b"call.finished" in body)
    assert outcomes == ["completed", "no_answer"]
    # A retry of one event carries the same id and body each time.
    first_id = ids[0]
    attempts = [body for headers, body, _status in receiver.requests if headers["webhook-id"] == first_id]
    assert len(attempts) == 4 and len(set(attempts)) == 1
    assert set(Delivery.objects.values_list("state", "attempts", "failures", "last_status")) == {
        (DeliveryState.DELIVERED, 4, 3, 200)
    }
    # The same event told again (a second worker, a repeat) is not delivered again.
    with django_capture_on_commit_callbacks(execute=True):
        from calls import events

        events.calls_became_final(list(broadcast.calls.values_list("pk", flat=True)), {broadcast.pk})
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 0


def test_a_stop_is_told_and_a_dead_endpoint_is_switched_off_and_its_owner_told(
    receiver, voice_message, operator, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EXOLVE_WEBHOOK_DISABLE_AFTER = 2
    receiver.fail_first = 100
    hook = endpoint(receiver.url, [EventKind.BROADCAST_STOPPED])
    hook.owner = operator
    hook.save()
    operator.email = "owner@example.com"
    operator.save()
    broadcast = queue(voice_message, [ANSWERS], user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        steering.stop(broadcast, operator)

    start = timezone.now()
    delivery.deliver_due(start)
    delivery.deliver_due(start + timedelta(seconds=10))
    delivery.deliver_due(start + timedelta(hours=1))

    assert len(receiver.requests) == 2  # switched off after two failures in a row: no third attempt
    assert json.loads(receiver.requests[0][1])["type"] == "broadcast.stopped"
    hook.refresh_from_db()
    assert not hook.enabled and hook.disabled_reason
    assert [m.to for m in mailoutbox if "switched off" in m.subject] == [["owner@example.com"]]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]", "192.168.0.10"])
def test_private_addresses_are_refused_at_registration(settings, db, address):
    settings.EXOLVE_WEBHOOKS_ALLOW_PRIVATE = False
    form = EndpointForm(data={"name": "x", "url": f"http://{address}:8080/hook", "events": ["call.finished"]})

    assert not form.is_valid()
    assert "public addresses" in str(form.errors["url"])


def test_ftp_is_refused_and_a_public_address_taken(settings, db):
    settings.EXOLVE_WEBHOOKS_ALLOW_PRIVATE = False
    ftp = EndpointForm(data={"name": "x", "url": "ftp://8.8.8.8/hook", "events": ["call.finished"]})
    public = EndpointForm(data={"name": "x", "url": "https://8.8.8.8/hook", "events": ["call.finished"]})

    assert not ftp.is_valid()
    assert public.is_valid(), public.errors


def test_a_private_address_is_refused_again_at_delivery(
    receiver, settings, voice_message, operator, django_capture_on_commit_callbacks
):
    endpoint(receiver.url)  # registered while allowed (or a name that now resolves elsewhere)
    broadcast = queue(voice_message, [ANSWERS], user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        steering.stop(broadcast, operator)
    settings.EXOLVE_WEBHOOKS_ALLOW_PRIVATE = False

    delivery.deliver_due(timezone.now())

    assert receiver.requests == []
    refused = Delivery.objects.get()
    assert refused.state == DeliveryState.PENDING and refused.failures == 1
    assert "public addresses" in refused.last_answer


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_timeout(settings, db):
    """Bounded time whatever the receiver does: an answer sent a byte at a time counts as failed."""
    settings.EXOLVE_WEBHOOKS_ALLOW_PRIVATE = True
    settings.EXOLVE_WEBHOOK_TIMEOUT = 0.5
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip():
        connection, _address = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\\r\\n")
        for _byte in range(200):  # a header line for 10 s, each byte well inside a read's timeout
            if stop.wait(0.05):
                break
            try:
                connection.sendall(b"x")
            except OSError:
                break
        connection.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    started = time.monotonic()
    try:
        with pytest.raises(OSError):
            addresses.post(url, b"{}", {"content-type": "application/json"}, settings.EXOLVE_WEBHOOK_TIMEOUT)
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        listener.close()


def test_a_manager_registers_an_endpoint_and_sends_a_delivery_again(
    receiver, client, voice_message, operator, django_capture_on_commit_callbacks
):
    boss = make_staff("boss", MANAGERS)
    client.force_login(boss)
    answer = client.post(
        reverse("admin:integrations_endpoint_add"),
        {"name": "CRM", "url": receiver.url, "events": ["broadcast.stopped"], "enabled": "on"},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    hook = Endpoint.objects.get()
    assert hook.owner == boss and hook.secret.startswith("whsec_") and len(hook.secret) > 40
    broadcast = queue(voice_message, [ANSWERS], user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        steering.stop(broadcast, operator)
    receiver.fail_first = 0
    delivery.deliver_due(timezone.now())
    sent = Delivery.objects.get()
    assert sent.state == DeliveryState.DELIVERED and len(receiver.requests) == 1

    answer = client.post(
        reverse("admin:integrations_delivery_changelist"),
        {"action": "send_again", "_selected_action": [sent.pk]},
    )
    assert answer.status_code == 302
    delivery.deliver_due(timezone.now())

    assert len(receiver.requests) == 2
    first, again = (headers for headers, _body, _status in receiver.requests)
    assert first["webhook-id"] == again["webhook-id"]  # the same event: the receiver can drop it


def test_each_follow_up_sms_is_told_once_sent_or_refused(
    receiver, voice_message, sandbox, settings, django_capture_on_commit_callbacks
):
    from audiences import stop_list
    from calls.recording import SendPlan, create_broadcast
    from calls.sms_sending import send_followup_sms

    settings.EXOLVE_SMS_SENDER_NAMES = ["ExolveSMS"]
    hook = endpoint(receiver.url, kinds=[EventKind.SMS_FINISHED])
    listed = "79991234576"  # no answer too, on the stop list by the time its SMS goes
    plan = SendPlan(calling_hours="any", sms_text="Воду отключат завтра", sms_sender="ExolveSMS")
    broadcast = create_broadcast(voice_message, SOURCE, [NO_ANSWER, listed, ANSWERS], None, "sms", plan=plan)
    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)
    stop_list.add([listed])
    with django_capture_on_commit_callbacks(execute=True):
        send_followup_sms(broadcast.pk)
        send_followup_sms(broadcast.pk)  # again: nothing new to tell

    start = timezone.now()
    assert Delivery.objects.count() == 2
    for offset in (0, 10, 600, 3600):  # the receiver fails each first three times: retried
        delivery.deliver_due(start + timedelta(seconds=offset))
    accepted = receiver.accepted()
    assert all(verify(hook.secret, headers, body) for headers, body in accepted)
    told = {json.loads(body)["data"]["number"]: json.loads(body)["data"] for _h, body in accepted}
    assert set(told) == {NO_ANSWER, listed} and len(accepted) == 2
    assert told[NO_ANSWER]["state"] == "sent" and told[NO_ANSWER]["exolve_message_id"]
    assert told[listed]["state"] == "refused" and told[listed]["reason"]


def test_a_call_left_sending_by_a_dead_worker_is_told_as_unknown(
    receiver, voice_message, operator, django_capture_on_commit_callbacks
):
    from calls.models import Call, CallState
    from calls.sending import sweep_stale_sending
    from integrations.models import Event

    endpoint(receiver.url, kinds=[EventKind.CALL_FINISHED])
    broadcast = queue(voice_message, [NO_ANSWER], user=operator)
    long_ago = timezone.now() - timedelta(hours=1)
    Call.objects.filter(broadcast=broadcast).update(state=CallState.SENDING, claimed_at=long_ago, claimed_by="dead")
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stale_sending() == 1
        assert sweep_stale_sending() == 0  # nothing left to sweep, nothing told again
    event = Event.objects.get(kind=EventKind.CALL_FINISHED)
    assert json.loads(event.body)["data"]["outcome"] == "unknown"
    assert Event.objects.filter(kind=EventKind.BROADCAST_FINISHED).count() == 1  # its last call: finished too


def test_each_api_send_is_told_once_recorded_or_refused(
    receiver, voice_message, sandbox, django_capture_on_commit_callbacks
):
    from api import accepting, recording
    from api.models import ApiToken
    from api.tokens import new_token

    raw, prefix, digest = new_token()
    token = ApiToken.objects.create(name="CRM", prefix=prefix, digest=digest, scopes=["send"],
                                    created_by=make_staff("manager", role=MANAGERS))  # fmt: skip
    hook = endpoint(receiver.url, kinds=[EventKind.SEND_FINISHED])
    good = {"voice_message": voice_message.pk, "source": SOURCE, "numbers": ["79991234561", "12"],
            "plan": {"basis": "contract"}}  # fmt: skip
    accepting.accept(token, "order-1", good)
    accepting.accept(token, "order-2", {**good, "plan": {"basis": "contract", "purpose": "advertising"}})
    with django_capture_on_commit_callbacks(execute=True):
        recording.record_waiting()
        recording.record_waiting()  # again: nothing new to tell

    start = timezone.now()
    assert Delivery.objects.count() == 2
    for offset in (0, 10, 600, 3600):  # the receiver fails each first three times: retried
        delivery.deliver_due(start + timedelta(seconds=offset))
    accepted = receiver.accepted()
    assert len(accepted) == 2 and all(verify(hook.secret, headers, body) for headers, body in accepted)
    told = {json.loads(body)["data"]["key"]: json.loads(body) for _h, body in accepted}
    recorded, refused = told["order-1"], told["order-2"]
    assert recorded["type"] == "send.finished" and recorded["data"]["state"] == "recorded"
    assert recorded["data"]["broadcast_id"] and recorded["data"]["verdicts"] == {"valid": 1, "invalid": 1}
    assert refused["data"]["state"] == "refused" and refused["data"]["broadcast_id"] is None
    assert refused["data"]["problem"]["title"] and refused["data"]["verdicts"] == {}
