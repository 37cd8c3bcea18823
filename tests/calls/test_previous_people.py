"""From a previous broadcast, by outcome: exactly the right people (calls/previous_people.py), and the command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from calls import previous_people
from calls.models import Broadcast, Call, CallState
from calls.previous_people import PreviousOutcome
from calls.recording import new_token, resend_calls
from calls.sending import send_queued_calls
from tests.factories_calls import SOURCE, make_call, rung

pytestmark = pytest.mark.django_db

FINISHED, QUEUED = CallState.FINISHED, CallState.QUEUED


def _broadcast(voice_message) -> Broadcast:
    return Broadcast.objects.create(
        voice_message=voice_message, service_id=voice_message.exolve_id, source=SOURCE, token=new_token()
    )


def build_history(voice_message) -> tuple[Broadcast, dict[str, set[str]]]:
    """Broadcast X with retries, resends (two deep), canceled, skipped and unknown calls; the people per outcome."""
    x, y, z = (_broadcast(voice_message) for _ in range(3))

    def call(broadcast, number, state=FINISHED, status="", **fields):
        return make_call(voice_message, number, broadcast=broadcast, state=state, status=status, **fields)

    def retry(first, state=FINISHED, status="", attempt=2):
        return call(first.broadcast, first.destination, state, status, first_attempt=first, attempt=attempt)

    def resend(original, broadcast, status):  # as recording.resend_calls does: the original marked resent
        Call.objects.filter(pk=original.pk).update(resent_at=timezone.now())
        return call(broadcast, original.destination, status=status, resend_of=original)

    a = call(x, "79990000001", status="no_answer")
    retry(a, status="busy")  # busy at the second attempt
    b = call(x, "79990000002", status="no_answer")
    retry(b, status="completed")  # answered at the second
    c = call(x, "79990000003", status="busy")
    retry(c, state=QUEUED)  # still being called: nobody's
    call(x, "79990000004", status="failed")
    call(x, "79990000005", state=CallState.REJECTED)  # Exolve refused it: failed, as everywhere
    f = call(x, "79990000006", status="no_answer")
    resend(f, y, "completed")  # sent again, and answered
    g = call(x, "79990000007", status="busy")
    g_again = resend(g, y, "no_answer")
    g_third = resend(g_again, z, "no_answer")  # a resend of the resend
    retry(g_third, status="busy")
    h = call(x, "79990000008", status="no_answer")
    retry(h, state=CallState.CANCELED)  # the retry never rang (stopped): judged by the attempt that did
    call(x, "79990000009", state=CallState.UNKNOWN)  # may have rung: never chosen
    call(x, "79990000010", state=CallState.SKIPPED)  # never called
    call(x, "79990000011", status="no_answer", details={"name": "Kate", "flat": "12"}, time_zone="Asia/Vladivostok")
    expected = {
        PreviousOutcome.NO_ANSWER: {"79990000008", "79990000011"},
        PreviousOutcome.BUSY: {"79990000001", "79990000007"},
        PreviousOutcome.FAILED: {"79990000004", "79990000005"},
        PreviousOutcome.ANSWERED: {"79990000002", "79990000006"},
    }
    expected[PreviousOutcome.NOT_REACHED] = (
        expected[PreviousOutcome.NO_ANSWER] | expected[PreviousOutcome.BUSY] | expected[PreviousOutcome.FAILED]
    )
    return x, expected


def test_each_outcome_chooses_exactly_its_people_by_their_last_attempt(voice_message):
    x, expected = build_history(voice_message)

    for outcome, numbers in expected.items():
        found = [person.number for person in previous_people.people(x, [outcome])]
        assert sorted(found) == sorted(numbers), outcome  # each person once
    assert previous_people.counts(x) == {outcome: len(numbers) for outcome, numbers in expected.items()}
    both = {p.number for p in previous_people.people(x, ["no_answer", "busy"])}
    assert both == expected["no_answer"] | expected["busy"]


def test_people_carry_their_details_and_zone_in_a_fixed_number_of_queries(voice_message, django_assert_num_queries):
    x, _expected = build_history(voice_message)
    with django_assert_num_queries(2):  # the broadcast's family (its resends), then the people however many
        kate = [p for p in previous_people.people(x, ["no_answer"]) if p.number == "79990000011"]
    assert kate[0].details == {"name": "Kate", "flat": "12"} and kate[0].time_zone == "Asia/Vladivostok"


def test_unknown_outcomes_are_refused_in_plain_words():
    assert previous_people.parse_outcomes("busy, no_answer,completed") == ["no_answer", "busy", "answered"]
    with pytest.raises(previous_people.UnknownOutcome, match="choose among: no_answer, busy"):
        previous_people.parse_outcomes("nobody_home")


def _command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("send_voicemessage", "--basis", "contract", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_the_command_sends_to_the_chosen_people_once_with_their_details(voice_message, sandbox, settings):
    settings.EXOLVE_CALLING_HOURS = "any"
    x, expected = build_history(voice_message)
    common = ["--message", str(voice_message.pk), "--source", SOURCE, "--from-broadcast", str(x.pk)]

    output = _command(*common, "--outcome", "no_answer,busy", "--idempotency-key", "follow-up-1")
    _command(*common, "--outcome", "no_answer,busy", "--idempotency-key", "follow-up-1")  # run twice

    new = Broadcast.objects.exclude(pk__in=[x.pk]).get(token__startswith="key-")
    assert f"Broadcast {new.pk}: queued 4 calls" in output
    assert set(new.calls.values_list("destination", flat=True)) == expected["no_answer"] | expected["busy"]
    kate = new.calls.get(destination="79990000011")
    assert kate.details == {"name": "Kate", "flat": "12"} and kate.time_zone == "Asia/Vladivostok"
    assert kate.resend_of is None  # a new broadcast, not a resend of X
    send_queued_calls(new.pk)
    assert rung(sandbox) == dict.fromkeys(expected["no_answer"] | expected["busy"], 1)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--from-broadcast", "999999", "--outcome", "busy"], "There is no broadcast #999999"),
        (["--from-broadcast", "X", "--outcome", "nobody_home"], "is not an outcome"),
        (["--from-broadcast", "X"], "--outcome no_answer,busy"),
        (["--from-broadcast", "X", "--outcome", "no_answer", "--to", "79991234561"], "not both"),
        (["--outcome", "busy"], "goes with --from-broadcast"),
    ],
)
def test_the_command_refuses_in_plain_words(voice_message, sandbox, args, words):
    x = _broadcast(voice_message)
    make_call(voice_message, "79990000001", broadcast=x, state=FINISHED, status="busy")
    args = [str(x.pk) if arg == "X" else arg for arg in args]
    with pytest.raises(CommandError, match=words):
        _command("--message", str(voice_message.pk), "--source", SOURCE, *args)
    assert Call.objects.count() == 1


def test_the_command_says_when_nobody_matches(voice_message, sandbox):
    x = _broadcast(voice_message)
    make_call(voice_message, "79990000001", broadcast=x, state=FINISHED, status="completed")
    with pytest.raises(CommandError, match=f"Nobody matches: From broadcast #{x.pk}: did not answer"):
        _command(
            "--message",
            str(voice_message.pk),
            "--source",
            SOURCE,
            "--from-broadcast",
            str(x.pk),
            "--outcome",
            "no_answer",
        )


def test_people_sent_again_by_the_resend_action_count_by_the_resend(voice_message, sandbox):
    x = _broadcast(voice_message)
    first = [
        make_call(voice_message, n, broadcast=x, state=FINISHED, status="no_answer")
        for n in ("79990000001", "79990000002")
    ]
    done = resend_calls(first, None)  # the broadcast page's "Send again…", as the portal
    done.broadcasts[0].calls.filter(destination="79990000001").update(state=FINISHED, status="completed")

    assert [p.number for p in previous_people.people(x, ["answered"])] == ["79990000001"]
    assert [p.number for p in previous_people.people(x, ["no_answer"])] == []  # the other is being called again
