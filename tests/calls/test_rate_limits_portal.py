"""The portal under Exolve's "too many requests" and its error shapes, over real HTTP.

A 429 means "not carried out, try later": no call becomes unknown or rejected because
of it, sending goes on later (once per number), a sync retries it, and nothing is
deleted or marked gone on a 404 that is not the documented one.
"""

from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from calls.models import CallState
from calls.recording import create_broadcast
from calls.sending import send_queued_calls
from calls.statistics import refresh_calls
from exolve_portal.exolve.endpoints import CALL_GET_INFO, DELETE, GET_LIST, MAKE_VOICE_MESSAGE
from exolve_portal.exolve.sandbox import SANDBOX_SOURCE_NUMBERS
from tests.factories_calls import make_call
from voicemessages.exceptions import VoiceMessageDeleteError
from voicemessages.models import VoiceMessage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("error_shape")]

SOURCE = SANDBOX_SOURCE_NUMBERS[0]


def _numbers(count):
    return [f"7999{index:07d}" for index in range(count)]


def test_a_broadcast_meeting_50_consecutive_429s_calls_all_200_once(http_voice_message, sandbox_http, dummy_tasks):
    sandbox = sandbox_http.sandbox
    numbers = _numbers(200)
    broadcast = create_broadcast(http_voice_message, SOURCE, numbers, None, "rate-limited")
    sandbox.add_fault("rate_limited", endpoint=MAKE_VOICE_MESSAGE, times=50, seconds=1)

    summary = send_queued_calls(broadcast.pk, max_in_flight=20)

    states = Counter(broadcast.calls.values_list("state", flat=True))
    assert states == {CallState.SENT: 200}
    log = sandbox.requests_log(MAKE_VOICE_MESSAGE)
    assert Counter(entry["status"] for entry in log) == {429: 50, 200: 200}
    called = Counter(call["destination"] for call in sandbox.calls().values())
    assert sorted(called) == numbers and set(called.values()) == {1}  # each number rung exactly once
    assert summary.counts["requeued"] == 50 and summary.counts[CallState.SENT] == 200


def test_a_sync_whose_getlist_meets_a_429_retries_and_succeeds(sandbox_http, settings):
    sandbox = sandbox_http.sandbox
    sandbox.add_voice_message("Made in the personal account")
    sandbox.add_fault("rate_limited", endpoint=GET_LIST, seconds=0.2)

    call_command("sync_voicemessages", verbosity=0)  # raises CommandError on a non-zero exit

    assert list(VoiceMessage.objects.values_list("name", flat=True)) == ["Made in the personal account"]
    assert [entry["status"] for entry in sandbox.requests_log(GET_LIST)] == [429, 200]


def test_a_delete_against_a_wrong_base_url_keeps_the_row_and_the_message(http_voice_message, sandbox_http, settings):
    settings.EXOLVE_API_URL = sandbox_http.url + "/wrong-prefix"

    with pytest.raises(VoiceMessageDeleteError) as excinfo:
        http_voice_message.delete()

    assert "unexpected answer" in excinfo.value.user_message
    assert VoiceMessage.objects.filter(pk=http_voice_message.pk).exists()
    assert http_voice_message.exolve_id in sandbox_http.sandbox.voice_messages()


def test_a_delete_met_by_429s_is_retried_after_the_wait(http_voice_message, sandbox_http):
    sandbox_http.sandbox.add_fault("rate_limited", endpoint=DELETE, times=2, seconds=0.2)

    http_voice_message.delete()

    assert not VoiceMessage.objects.exists() and sandbox_http.sandbox.voice_messages() == {}


@pytest.mark.parametrize(
    ("fault", "final"),
    [
        (None, True),  # the documented 404 "Not Found": no statistics, ever
        ({"kind": "http_error", "status": 404}, False),  # a proxy's HTML 404: look again later
        ({"kind": "rate_limited", "seconds": 0.1, "times": 10}, False),  # still busy after the retries
    ],
    ids=["documented-404", "html-404", "429"],
)
def test_refresh_ends_only_on_the_documented_not_found(http_voice_message, sandbox_http, dummy_tasks, fault, final):
    sandbox = sandbox_http.sandbox
    call = make_call(http_voice_message, state=CallState.SENT, call_id="cal-unknown", sent_at=timezone.now())
    if fault:
        sandbox.add_fault(endpoint=CALL_GET_INFO, **fault)

    refresh_calls([call])

    call.refresh_from_db()
    expected = (CallState.FINISHED, True) if final else (CallState.SENT, False)
    assert (call.state, call.next_refresh_at is None) == expected
    assert ("no statistics" in call.error) == final
