"""E-mail notices of a broadcast's end in the staff's language; /metrics refuses strangers and counts right."""

import re

import pytest
from django.test import Client

from integrations.models import NoticeSubscription
from tests.factories import make_staff
from tests.factories_calls import ANSWERS, BUSY, NO_ANSWER, finish_calls, queue


@pytest.fixture
def sent_and_finished(voice_message, sandbox, operator, immediate_tasks, django_capture_on_commit_callbacks):
    """A broadcast of three numbers sent and finished, its notices sent through the task queue."""

    def run():
        broadcast = queue(voice_message, [ANSWERS, NO_ANSWER, BUSY], user=operator)
        with django_capture_on_commit_callbacks(execute=True):
            from calls.sending import send_queued_calls

            send_queued_calls(broadcast.pk)
        with django_capture_on_commit_callbacks(execute=True):
            finish_calls(sandbox, broadcast)
        return broadcast

    return run


def test_the_sender_and_subscribers_get_the_notice_of_a_finished_broadcast_in_russian(
    settings, operator, mailoutbox, sent_and_finished
):
    settings.LANGUAGE_CODE = "ru"
    operator.email = "sender@example.com"
    operator.save()
    boss = make_staff("boss", email="boss@example.com")
    NoticeSubscription.objects.create(user=boss)
    make_staff("other", email="other@example.com")  # neither sender nor subscriber

    broadcast = sent_and_finished()

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert sorted(mail.to) == ["boss@example.com", "sender@example.com"]
    name = broadcast.name or broadcast.voice_message_name
    assert mail.subject == f"Рассылка «{name}» завершена"
    assert "Звонков: 3." in mail.body
    assert "состоялся: 1\nнет ответа: 1\nзанято: 1" in mail.body


@pytest.fixture
def scraped(settings):
    settings.EXOLVE_METRICS_TOKEN = "s3cret-token"
    settings.EXOLVE_METRICS_ALLOWED_ADDRESSES = ["10.9.0.0/16"]

    def scrape(**headers):
        return Client(**headers).get("/metrics")

    return scrape


def _value(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, f"{name} not in the metrics"
    return float(found[1])


def test_metrics_refuse_anonymous_requests_and_a_wrong_token(scraped, db):
    assert scraped().status_code == 403
    assert scraped(HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert scraped(REMOTE_ADDR="10.8.0.1").status_code == 403


def test_metrics_count_a_known_broadcast(scraped, sent_and_finished):
    sent_and_finished()

    for answer in (scraped(HTTP_AUTHORIZATION="Bearer s3cret-token"), scraped(REMOTE_ADDR="10.9.1.2")):
        assert answer.status_code == 200
        text = answer.content.decode()
        assert _value(text, 'exolve_calls{outcome="completed"}') == 1
        assert _value(text, 'exolve_calls{outcome="no_answer"}') == 1
        assert _value(text, 'exolve_calls{outcome="busy"}') == 1
        assert _value(text, 'exolve_calls{outcome="pending"}') == 0
        assert _value(text, "exolve_calls_sent_total") == 3
        assert _value(text, "exolve_calls_queued") == 0
        assert _value(text, 'exolve_answers_total{class="refused"}') == 0
        assert _value(text, 'exolve_webhook_deliveries{state="pending"}') == 0


def test_a_blocked_account_is_told_once_as_cannot_continue_and_counted(
    settings, voice_message, sandbox, operator, mailoutbox, immediate_tasks, scraped, django_capture_on_commit_callbacks
):
    operator.email = "sender@example.com"
    operator.save()
    sandbox.set_blocked(True)
    broadcast = queue(voice_message, [ANSWERS, NO_ANSWER], user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        from calls.sending import send_queued_calls

        send_queued_calls(broadcast.pk)

    assert [mail.subject for mail in mailoutbox] == ["Broadcast “Greeting” cannot continue"]
    assert "account is blocked" in mailoutbox[0].body
    text = scraped(HTTP_AUTHORIZATION="Bearer s3cret-token").content.decode()
    assert _value(text, 'exolve_answers_total{class="refused"}') == 2
    assert _value(text, 'exolve_calls{outcome="failed"}') == 2


def test_metrics_show_api_sends_waiting_to_be_recorded(scraped, db):
    from datetime import timedelta

    from django.utils import timezone

    from api.models import ApiSend, ApiToken

    token = ApiToken.objects.create(name="CRM", prefix="exv_", digest="0" * 64, scopes=["send"])
    ApiSend.objects.create(token=token, key="a")
    ApiSend.objects.create(token=token, key="b", state="recorded")
    ApiSend.objects.filter(key="a").update(created_at=timezone.now() - timedelta(seconds=90))
    text = scraped(HTTP_AUTHORIZATION="Bearer s3cret-token").content.decode()
    assert _value(text, "exolve_api_sends_waiting") == 1
    assert 90 <= _value(text, "exolve_api_sends_lag_seconds") < 120


def test_metrics_count_calls_of_earlier_days_once_an_hour_and_todays_at_every_scrape(scraped, sent_and_finished):
    from datetime import timedelta

    from django.utils import timezone

    from calls.models import Call

    sent_and_finished()
    Call.objects.filter(status="busy").update(queued_at=timezone.now() - timedelta(days=2))
    first = scraped(HTTP_AUTHORIZATION="Bearer s3cret-token").content.decode()
    assert _value(first, 'exolve_calls{outcome="busy"}') == 1 and _value(first, "exolve_calls_sent_total") == 3
    Call.objects.filter(status="busy").delete()  # an earlier day's call: seen at the next hour's count
    Call.objects.filter(status="no_answer").delete()  # today's: seen at once
    again = scraped(HTTP_AUTHORIZATION="Bearer s3cret-token").content.decode()
    assert _value(again, 'exolve_calls{outcome="busy"}') == 1
    assert _value(again, 'exolve_calls{outcome="no_answer"}') == 0
    assert _value(again, "exolve_calls_sent_total") == 2
