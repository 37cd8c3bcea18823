"""Call, then SMS (issue 25): the part counter, SendSMS's refusals, the plan's sender rules, exactly once.

In process, against the sandbox (a destination ending in 6 gets no answer there, 7 is
busy); counted at the sandbox. The two-worker test with a kill -9 is in
test_sms_followups_workers.py.
"""

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from audiences.contact_models import Contact
from calls import steering
from calls.models import Broadcast, Call, CallState, SmsFollowUp, SmsState
from calls.plan_form import PlanForm
from calls.recording import SendPlan, SendRefused, create_broadcast
from calls.sending import send_queued_calls
from calls.sms_claims import NO_CONSENT, ON_STOP_LIST
from calls.sms_followups import sms_outcome, with_sms_outcome
from calls.sms_plan import FROM_CITY
from calls.sms_sending import send_followup_sms
from exolve_portal.exolve import ExolveClient, errors
from exolve_portal.exolve.sandbox import SANDBOX_API_KEY, SANDBOX_BASE_URL, Sandbox
from exolve_portal.exolve.sandbox.faults import SMS_ERROR_SHAPES
from exolve_portal.exolve.sms_text import sms_size
from tests.factories import make_staff
from tests.factories_calls import ANSWERS, BUSY, NO_ANSWER, SOURCE, finish_calls, rung

SEND_SMS = "messaging/v1/SendSMS"
SENDER = "ExolveSMS"  # the sandbox account's registered sender name
MOBILE = "79991234501"  # a sandbox mobile number that can send SMS
CITY, TOLL_FREE = SOURCE, "78001234567"


# --- the part counter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),  # 153 per part once split
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # the extension table's characters take two
        ("€" * 81, "GSM-7", 2),
        ("я" * 70, "UCS-2", 1),
        ("я" * 71, "UCS-2", 2),  # 67 per part once split
        ("я" * 134, "UCS-2", 2),
        ("я" * 135, "UCS-2", 3),
        ("Water is off tomorrow, Вода" + "a" * 43, "UCS-2", 1),  # one Cyrillic letter: all UCS-2
        ("Water is off tomorrow, Вода" + "a" * 44, "UCS-2", 2),
    ],
)
def test_the_part_counter_counts_cyrillic_latin_and_mixed_texts(text, encoding, parts):
    size = sms_size(text)
    assert (size.encoding, size.parts) == (encoding, parts)


# --- SendSMS's refusals, in every body shape --------------------------------------------------


@pytest.fixture(params=SMS_ERROR_SHAPES)
def sms_client(request, tmp_path):
    sandbox = Sandbox(tmp_path / "sms.sqlite3")
    sandbox.set_error_shape(request.param)
    session = requests.Session()
    sandbox.mount(session)
    yield sandbox, ExolveClient(SANDBOX_BASE_URL, SANDBOX_API_KEY, session=session, backoff=0)
    sandbox.close()


REFUSALS = [
    (CITY, "79161234567", "x", errors.SmsSenderRefusedError),
    (TOLL_FREE, "79161234567", "x", errors.SmsSenderRefusedError),
    ("Stranger", "79161234567", "x", errors.SmsSenderRefusedError),
    (SENDER, "+79161234567", "x", errors.ValidationError),
    (SENDER, "89161234567", "x", errors.ValidationError),
    (SENDER, "79161234567", "  ", errors.ValidationError),
    (SENDER, "79161234567", "я" * 671, errors.ValidationError),  # over 10 parts
]


@pytest.mark.parametrize(("sender", "destination", "text", "error"), REFUSALS)
def test_every_sendsms_refusal_is_read_in_each_body_shape(sms_client, sender, destination, text, error):
    sandbox, client = sms_client
    with pytest.raises(error) as caught:
        client.send_sms(sender, destination, text)
    assert not caught.value.may_have_reached and caught.value.message
    assert sandbox.sms_sent() == [] and sandbox.count(SEND_SMS) == 1  # refused once, never repeated


def test_trial_key_and_blocked_account_refusals_in_each_body_shape(sms_client):
    sandbox, client = sms_client
    sandbox.set_trial(True, confirmed_numbers=["79160000001"])
    with pytest.raises(errors.SmsDestinationRefusedError):
        client.send_sms(SENDER, "79161234567", "x")
    assert client.send_sms(SENDER, "79160000001", "x").message_id.isdigit()  # a confirmed number gets it
    sandbox.set_blocked(True)
    with pytest.raises(errors.AccountStatusError):
        client.send_sms(SENDER, "79160000001", "x")
    wrong_key = ExolveClient(SANDBOX_BASE_URL, "wrong", session=client.session)
    with pytest.raises(errors.AuthenticationError):
        wrong_key.send_sms(SENDER, "79160000001", "x")


@pytest.mark.parametrize("fault", ["timeout", "lost_response", "malformed", "rate_limited"])
def test_a_sendsms_that_may_have_arrived_is_never_repeated_and_429_means_later(sms_client, fault):
    sandbox, client = sms_client
    sandbox.add_fault(fault, endpoint=SEND_SMS, seconds=0)
    with pytest.raises(errors.ExolveError) as caught:
        client.send_sms(SENDER, "79161234567", "x")
    assert sandbox.count(SEND_SMS) == 1
    if fault == "rate_limited":
        assert isinstance(caught.value, errors.RateLimitedError) and not caught.value.may_have_reached
    else:
        assert caught.value.may_have_reached


# --- the plan: a city (or 8-800) sender is refused on every path ---------------------------------


def _plan_form(**sms):
    data = {"basis": "contract", "calling_hours": "09:00-21:00", **sms}
    return PlanForm(data, user=None)


@pytest.mark.django_db
def test_a_city_caller_number_as_sms_sender_is_refused_on_every_path(voice_message, sandbox, settings, capsys):
    settings.EXOLVE_SMS_SENDER_NAMES = [SENDER]
    # The send page (and the admin's "Send…", which leads to it): the form says why.
    for number in (CITY, TOLL_FREE):
        form = _plan_form(sms_text="Вода", sms_sender=number)
        assert not form.is_valid() and "city (ABC) or 8-800" in str(form.errors["sms_sender"])
    assert _plan_form(sms_text="Вода", sms_sender=SENDER).is_valid()
    # The recording, whoever calls it (a crafted request, the API).
    with pytest.raises(SendRefused, match="city"):
        create_broadcast(voice_message, SOURCE, [NO_ANSWER], None, "t1", plan=SendPlan(sms_text="x", sms_sender=CITY))
    # The command.
    with pytest.raises(CommandError, match="--sms-from: .*city"):
        call_command(
            "send_voicemessage", "--message", str(voice_message.pk), "--source", SOURCE, "--to", NO_ANSWER,
            "--basis", "contract", "--sms-text", "Вода", "--sms-from", CITY,
        )  # fmt: skip
    # The worker, for an SMS recorded before the rule (or a number that became city): refused, nothing sent.
    broadcast = create_broadcast(voice_message, SOURCE, [NO_ANSWER], None, "t2", plan=SendPlan(calling_hours="any"))
    SmsFollowUp.objects.create(broadcast=broadcast, destination=NO_ANSWER, sender=CITY, not_before=broadcast.created_at)
    broadcast.sms_text = "Вода"
    broadcast.save(update_fields=["sms_text"])
    send_followup_sms(broadcast.pk)
    sms = SmsFollowUp.objects.get()
    assert sms.state == SmsState.REFUSED and "city (ABC) or 8-800" in sms.error
    assert sandbox.count(SEND_SMS) == 0
    assert FROM_CITY  # the one wording of the reason


@pytest.mark.django_db
def test_the_command_stores_the_sms_plan_and_a_debt_reminder_takes_none(voice_message, sandbox, settings):
    settings.EXOLVE_SMS_SENDER_NAMES = [SENDER]
    base = ["send_voicemessage", "--message", str(voice_message.pk), "--source", SOURCE, "--to", NO_ANSWER]
    sms = ["--sms-text", "Вода", "--sms-from", SENDER]
    call_command(*base, "--basis", "contract", *sms, "--sms-on", "busy,no_answer")
    broadcast = Broadcast.objects.get()
    assert (broadcast.sms_text, broadcast.sms_sender, broadcast.sms_on) == ("Вода", SENDER, "no_answer,busy")
    with pytest.raises(CommandError, match="--sms-text: .*230-FZ"):
        call_command(*base, "--basis", "debt", "--purpose", "debt_reminder", *sms)


# --- exactly once -------------------------------------------------------------------------------


def _sms_broadcast(voice_message, numbers, token, **plan):
    plan = {"calling_hours": "any", "sms_text": "Воду отключат завтра", "sms_sender": SENDER, **plan}
    return create_broadcast(voice_message, SOURCE, numbers, None, token, plan=SendPlan(**plan))


@pytest.mark.django_db
@pytest.mark.usefixtures("instant_retries")
def test_only_those_not_reached_after_the_last_attempt_get_one_sms(voice_message, dummy_tasks, sandbox, settings):
    settings.EXOLVE_SMS_SENDER_NAMES = [SENDER]
    listed = "79991234576"  # no answer too, but on the stop list by the time the SMS goes
    contact = "79991234586"  # no answer too, a contact of the portal without consent for the purpose
    Contact.objects.create(number=contact, name="Анна")
    numbers = [NO_ANSWER, BUSY, ANSWERS, listed, contact]
    broadcast = _sms_broadcast(voice_message, numbers, "once", retries=1, retry_after_minutes=0)
    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)
    assert not SmsFollowUp.objects.exists()  # a retry follows: not the last attempt yet
    from audiences import stop_list

    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)
    finish_calls(sandbox, broadcast)  # a second refresh creates nothing more
    stop_list.add([listed])  # after the last call, before its SMS
    for _round in range(2):
        send_followup_sms(broadcast.pk)

    assert rung(sandbox) == {NO_ANSWER: 2, BUSY: 2, ANSWERS: 1, listed: 2, contact: 2}
    assert [s["destination"] for s in sandbox.sms_sent()] == [NO_ANSWER]
    assert dict(SmsFollowUp.objects.values_list("destination", "state")) == {
        NO_ANSWER: SmsState.SENT,
        listed: SmsState.REFUSED,
        contact: SmsState.REFUSED,
    }
    assert SmsFollowUp.objects.get(destination=listed).error == ON_STOP_LIST
    assert SmsFollowUp.objects.get(destination=contact).error == NO_CONSENT
    last = Call.objects.get(broadcast=broadcast, destination=NO_ANSWER, attempt=2)
    assert sms_outcome(last)["state"] == SmsState.SENT
    assert sms_outcome(Call.objects.get(broadcast=broadcast, destination=ANSWERS))["state"] == "none"
    shown = dict(with_sms_outcome(Call.objects.filter(attempt=2)).values_list("destination", "sms_state"))
    assert shown[NO_ANSWER] == SmsState.SENT and shown[BUSY] is None


@pytest.mark.django_db
def test_a_stop_between_the_last_attempt_and_the_sms_sends_none(voice_message, dummy_tasks, sandbox, settings):
    settings.EXOLVE_SMS_SENDER_NAMES = [SENDER]
    numbers = [NO_ANSWER, "79991234516", "79991234526"]
    broadcast = _sms_broadcast(voice_message, numbers, "stop")
    send_queued_calls(broadcast.pk)
    finish_calls(sandbox, broadcast)  # the last attempts are final: the SMS wait
    assert SmsFollowUp.objects.filter(state=SmsState.QUEUED).count() == 3
    # Every call has its outcome, but SMS wait: the broadcast is not done, staff may stop it.
    from calls.outcomes import status_of

    assert status_of(broadcast).allows("stop")

    steering.stop(broadcast, make_staff("manager", perms=("calls.steer_broadcast",)))
    send_followup_sms(broadcast.pk)

    assert sandbox.count(SEND_SMS) == 0
    assert set(SmsFollowUp.objects.values_list("state", flat=True)) == {SmsState.CANCELED}


@pytest.mark.django_db
def test_a_stop_before_the_last_attempt_is_final_creates_no_sms(voice_message, dummy_tasks, sandbox, settings):
    settings.EXOLVE_SMS_SENDER_NAMES = [SENDER]
    broadcast = _sms_broadcast(voice_message, [NO_ANSWER], "stop-early")
    send_queued_calls(broadcast.pk)
    steering.stop(broadcast, make_staff("manager", perms=("calls.steer_broadcast",)))
    finish_calls(sandbox, broadcast)
    send_followup_sms(broadcast.pk)
    assert not SmsFollowUp.objects.exists() and sandbox.count(SEND_SMS) == 0
    assert Call.objects.get().state == CallState.FINISHED


# --- the send page ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("portal_hours")
def test_the_preview_estimates_the_sms_parts_and_a_city_sender_is_refused_with_the_reason(
    operator_page_client, voice_message, settings
):
    from django.urls import reverse

    settings.EXOLVE_SMS_SENDER_NAMES = [SENDER]
    data = {
        "voice_message": voice_message.pk, "source": SOURCE, "numbers": f"{NO_ANSWER}\n{BUSY}\n{ANSWERS}",
        "token": "sms-page", "basis": "contract", "sms_text": "я" * 71, "sms_on": ["no_answer"], "_preview": "1",
    }  # fmt: skip
    page = operator_page_client.get(reverse("portal:send"))
    assert b"sms_counter.js" in page.content and b'data-sms-counter="1"' in page.content

    preview = operator_page_client.post(reverse("portal:send"), {**data, "sms_sender": SENDER})
    assert b'id="sms-preview" data-max-parts="6"' in preview.content  # 2 parts x 3 people at most

    refused = operator_page_client.post(reverse("portal:send"), {**data, "sms_sender": CITY})
    assert "city (ABC) or 8-800" in str(refused.context["form"].errors["sms_sender"])
    assert refused.context["form"]["sms_text"].value() == "я" * 71  # nothing typed is lost


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fault", "state", "delivered"),
    [("rate_limited", SmsState.SENT, 1), ("lost_response", SmsState.UNKNOWN, 1), ("timeout", SmsState.UNKNOWN, 1)],
)
def test_the_worker_sends_later_after_a_429_and_never_again_when_it_may_have_arrived(
    voice_message, dummy_tasks, sandbox, settings, fault, state, delivered
):
    from django.utils import timezone

    settings.EXOLVE_SMS_SENDER_NAMES = [SENDER]
    broadcast = _sms_broadcast(voice_message, [NO_ANSWER], f"fault-{fault}")
    SmsFollowUp.objects.create(broadcast=broadcast, destination=NO_ANSWER, sender=SENDER, not_before=timezone.now())
    sandbox.add_fault(fault, endpoint=SEND_SMS, seconds=0)
    for _round in range(3):  # a task run again, the safety net...
        send_followup_sms(broadcast.pk)
    assert SmsFollowUp.objects.get().state == state
    assert len(sandbox.sms_sent()) == delivered
    assert sandbox.count(SEND_SMS) == (2 if fault == "rate_limited" else 1)
