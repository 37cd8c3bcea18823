"""Per-number limits hold across broadcasts claimed at the same moment, and the pace from the lock.

- Two broadcasts of the same numbers, recorded together and sent by two real
  `db_worker` processes at zero latency with EXOLVE_MAX_CALLS_PER_NUMBER_DAY=1: the
  sandbox is asked to call each number exactly once (SQLite file database, PostgreSQL).
- The same decision without processes: a claim that has not committed yet holds its
  numbers (PostgreSQL), and a later claim counts the calls another broadcast claimed.
- A paced claim computes its next slot from the time it holds the broadcast's lock,
  not from a time read before it waited for it.
"""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from calls import claims, sending
from calls.models import Broadcast, Call, CallState
from calls.recording import SendPlan, create_broadcast, new_token
from tests.calls.test_broadcast_workers import NO_REFRESH, made, shared_site, wait_for
from tests.factories_calls import SOURCE, postgres_only, skip_unless_postgres

# --- with real workers ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=postgres_only)])
def limited_site(request, tmp_path):
    """A database and sandbox shared with workers, with a limit of one call per number a day.

    One send task per broadcast: each of the two workers takes one broadcast, so the two
    claim the same numbers at the same moment.
    """
    yield from shared_site(
        request,
        tmp_path,
        EXOLVE_MAX_IN_FLIGHT=8,
        EXOLVE_SEND_TASKS_PER_BROADCAST=1,
        EXOLVE_MAX_CALLS_PER_NUMBER_DAY=1,
        **NO_REFRESH,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the workers see only what was committed
def test_two_workers_sending_two_broadcasts_of_the_same_numbers_call_each_number_once(limited_site, workers):
    site, count = limited_site, 300
    numbers = [f"7999555{n:04d}" for n in range(count)]
    for _ in range(2):
        workers.start(site.env)
    # Both start a few seconds from now, when both workers are up: their send tasks
    # become due together, and each worker takes one.
    recorded = site.python(f"""
import json
from datetime import timedelta
from django.db import transaction
from django.utils import timezone
from calls.recording import SendPlan, create_broadcast, new_token
from voicemessages.models import VoiceMessage
vm = VoiceMessage.objects.create(name="W", media_id=1967)
plan = SendPlan(start_at=timezone.now() + timedelta(seconds=4), calling_hours="any")
with transaction.atomic():
    pks = [create_broadcast(vm, {SOURCE!r}, {numbers!r}, None, new_token(), plan=plan).pk for _ in range(2)]
print(json.dumps({{"pks": pks}}))
""")
    assert len(recorded["pks"]) == 2

    def settled():
        states = Counter(state for (state,) in site.rows("SELECT state FROM calls_call"))
        return states if not states.keys() & {"queued", "sending"} else None

    states = wait_for(settled, 60 + 4, "both broadcasts to be sent", 0.2)
    workers.stop()

    reached = Counter(destination for _at, destination, _status in made(site.sandbox))
    twice = sorted(number for number, times in reached.items() if times > 1)
    assert not twice, f"{len(twice)} number(s) called twice: {twice[:10]}"
    assert set(reached) == set(numbers)  # and every number was called
    assert states == {"sent": count, "skipped": count}, states
    assert len(site.claimers()) == 2, "both workers should have claimed calls"


# --- the decision, one claim after the other -----------------------------------------------


@pytest.fixture
def two_broadcasts(voice_message, settings):
    """Two broadcasts of the same three numbers, recorded together; a limit of one call a day."""
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY = 1
    numbers = ["79991230001", "79991230002", "79991230003"]
    return [
        create_broadcast(voice_message, SOURCE, numbers, None, new_token(), plan=SendPlan(calling_hours="any"))
        for _ in range(2)
    ]


def claim(broadcast, limit=10, worker="w"):
    with transaction.atomic():
        return sending.claim_calls(broadcast.pk, limit, worker)


@pytest.mark.django_db
def test_a_claim_counts_the_calls_another_broadcast_claimed(two_broadcasts):
    first, second = two_broadcasts
    assert len(claim(first).calls) == 3
    # The first broadcast's calls are still "sending" (not sent yet): they count.
    assert claim(second).calls == []
    skipped = Call.objects.filter(broadcast=second)
    assert set(skipped.values_list("state", flat=True)) == {CallState.SKIPPED}
    assert "already called as often as allowed today" in skipped.first().error


@pytest.mark.django_db
def test_a_second_call_to_a_number_in_one_claim_is_counted_with_the_first(voice_message, settings):
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY = 1
    broadcast = create_broadcast(
        voice_message, SOURCE, ["79991230001"], None, new_token(), plan=SendPlan(calling_hours="any")
    )
    call = Call.objects.get(broadcast=broadcast)
    # A second call to the same number in the same broadcast (an automatic retry due now).
    Call.objects.create(
        broadcast=broadcast, voice_message=voice_message, service_id=call.service_id, source=SOURCE,
        destination=call.destination, attempt=2, first_attempt=call,
    )  # fmt: skip
    first = claim(broadcast)
    assert len(first.calls) == 1
    states = Counter(Call.objects.filter(broadcast=broadcast).values_list("state", flat=True))
    assert states == {CallState.SENDING: 1, CallState.QUEUED: 1}  # the second waits for the next look
    # ...which counts the first one.
    assert claim(broadcast).calls == []
    states = Counter(Call.objects.filter(broadcast=broadcast).values_list("state", flat=True))
    assert states == {CallState.SENDING: 1, CallState.SKIPPED: 1}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_claim_not_yet_committed_holds_its_numbers_from_another_broadcasts_claim(two_broadcasts):
    skip_unless_postgres()
    first, second = two_broadcasts
    seen = {}

    def other_worker():  # its own connection: it cannot see the first claim until it commits
        try:
            seen["claim"] = claim(second, worker="other")
        finally:
            connection.close()

    with transaction.atomic():
        assert len(sending.claim_calls(first.pk, 10, "w").calls) == 3
        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(timeout=30)  # it never waits for the first claim: it sets the busy numbers aside
        assert not thread.is_alive()
    got = seen["claim"]
    assert got.calls == [] and got.retry_at is not None, got  # looks again soon, takes nothing now
    assert set(Call.objects.filter(broadcast=second).values_list("state", flat=True)) == {CallState.QUEUED}
    # Once the first claim committed, its calls count: the second broadcast's are skipped.
    assert claim(second, worker="other").calls == []
    assert set(Call.objects.filter(broadcast=second).values_list("state", flat=True)) == {CallState.SKIPPED}


@pytest.mark.django_db
def test_without_limits_a_claim_asks_the_database_nothing_more(two_broadcasts, settings, django_assert_num_queries):
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY = 0
    first, _second = two_broadcasts
    # Lock the broadcast, read a batch, the stop list, take the batch.
    with django_assert_num_queries(4, exact=True):
        assert len(sending.claim_calls(first.pk, 10, "w").calls) == 3


# --- the pace from the lock ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_pace_counts_from_when_the_claim_holds_the_broadcasts_lock(voice_message, monkeypatch):
    pace, waited = 60, timedelta(seconds=0.54)  # one call a second; the lock took 0.54 s to get
    broadcast = create_broadcast(
        voice_message, SOURCE, ["79991230001", "79991230002"], None, new_token(),
        plan=SendPlan(calling_hours="any", pace_per_minute=pace),
    )  # fmt: skip
    start = timezone.now() + timedelta(seconds=5)
    clock = {"now": start}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    lock = claims._lock_broadcast

    def lock_after_a_wait(broadcast_id):  # another worker held the lock this long
        clock["now"] += waited
        return lock(broadcast_id)

    monkeypatch.setattr(claims, "_lock_broadcast", lock_after_a_wait)
    got = claim(broadcast)
    assert len(got.calls) == 1
    held = start + waited
    assert Call.objects.get(pk=got.calls[0].pk).claimed_at == held
    broadcast.refresh_from_db()
    assert broadcast.pace_next_at == held + timedelta(seconds=60 / pace)
    # A claim a second after the first read of the clock, but less than a second after the
    # call was taken, waits for the slot.
    clock["now"] = start + timedelta(seconds=1) - waited
    later = claim(broadcast)
    assert later.calls == [] and later.retry_at == held + timedelta(seconds=1)
    assert Broadcast.objects.get(pk=broadcast.pk).pace_next_at == held + timedelta(seconds=1)
