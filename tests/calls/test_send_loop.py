"""The send loop's decisions (calls/send_loop.py), as plain functions of its state and a clock.

No threads, no database: each test sets the loop's state by what happened (claims, results
back, writes) and reads what it decides at a given moment. `InFlight` (the threads that
carry the requests) is tested at the end, with events rather than timing.
"""

import threading

import pytest
from django.utils import translation

from calls.send_loop import (
    BEAT_SECONDS,
    HALT_CHECK_SECONDS,
    IDLE_WAIT_SECONDS,
    SHORT_WAIT_SECONDS,
    WRITE_DELAY_SECONDS,
    SendLoop,
)
from exolve_portal.threads import InFlight

T0 = 1000.0  # a monotonic clock reading

SENT = ("call", "sent")


def claimed(loop: SendLoop, now: float = T0) -> int:
    """Run a first turn, which claims, as the sender would; return how many it claimed."""
    turn = loop.decide(now)
    loop.came_back([], now)
    wanted = loop.to_claim(turn)
    loop.written(claimed=wanted, requeued=0)
    return wanted


def test_the_first_turn_claims_the_slots_and_the_reserve_without_waiting():
    loop = SendLoop(4, steered=True)
    assert (loop.reserve_size, loop.low_mark) == (8, 6)  # 2 x slots; slots + reserve / 4
    turn = loop.decide(T0)
    assert turn.beat and turn.check_halt and turn.may_claim
    assert (turn.wait_for, turn.at_least) == (0.0, 1)
    assert loop.to_claim(turn) == 12
    assert not loop.write_due(T0)


def test_one_slot_still_keeps_a_reserve_of_two():
    loop = SendLoop(0, steered=False)
    assert (loop.slots, loop.reserve_size, loop.low_mark) == (1, 2, 1)


def test_with_the_reserve_full_it_waits_for_as_many_results_as_bring_it_low():
    loop = SendLoop(4, steered=True)
    assert claimed(loop) == 12
    turn = loop.decide(T0 + 0.01)
    assert turn.may_claim and not turn.beat and not turn.check_halt
    assert turn.at_least == 12 - 6 + 1  # one below the low mark
    assert turn.wait_for == IDLE_WAIT_SECONDS  # nothing held back to write yet
    loop.came_back([SENT] * 3, T0 + 0.02)
    assert loop.to_claim(turn) == 0  # 9 still in hand: above the low mark
    assert not loop.write_due(T0 + 0.02)


def test_results_held_back_are_written_with_the_next_claim():
    loop = SendLoop(4, steered=True)
    claimed(loop)
    turn = loop.decide(T0 + 0.01)
    loop.came_back([SENT] * 7, T0 + 0.02)
    assert loop.to_claim(turn) == 12 - 5  # tops the slots and the reserve up again
    loop.written(claimed=7, requeued=0)
    assert (loop.outstanding, loop.unwritten) == (12, [])


def test_results_held_back_are_written_at_the_latest_after_the_write_delay():
    loop = SendLoop(4, steered=True)
    claimed(loop)
    loop.decide(T0 + 0.01)
    loop.came_back([SENT], T0 + 0.05)
    turn = loop.decide(T0 + 0.1)
    assert turn.wait_for == pytest.approx(WRITE_DELAY_SECONDS - 0.05)  # counted from the first back
    loop.came_back([SENT], T0 + 0.2)
    assert loop.unwritten_since == T0 + 0.05
    assert not loop.write_due(T0 + 0.05 + WRITE_DELAY_SECONDS - 0.001)
    assert loop.write_due(T0 + 0.05 + WRITE_DELAY_SECONDS)
    late = loop.decide(T0 + 1.0)
    assert late.wait_for == 0.0  # overdue: never a negative wait


def test_results_are_written_at_once_when_nothing_else_is_out():
    loop = SendLoop(1, steered=False)
    assert claimed(loop) == 3
    loop.decide(T0)
    loop.came_back([SENT] * 3, T0)
    assert loop.write_due(T0)


def test_a_steered_loop_beats_every_beat_seconds_and_looks_for_a_halt_every_quarter_second():
    loop = SendLoop(2, steered=True)
    assert loop.decide(T0).beat
    assert not loop.decide(T0 + BEAT_SECONDS - 0.01).beat
    assert loop.decide(T0 + BEAT_SECONDS).beat
    loop = SendLoop(2, steered=True)
    assert loop.decide(T0).check_halt
    assert not loop.decide(T0 + HALT_CHECK_SECONDS / 2).check_halt
    assert loop.decide(T0 + HALT_CHECK_SECONDS).check_halt


def test_a_loop_over_every_broadcast_neither_beats_nor_looks_for_a_halt():
    loop = SendLoop(2, steered=False)
    turn = loop.decide(T0)
    assert not turn.beat and not turn.check_halt


def test_a_halt_sets_the_reserve_aside_and_waits_for_every_request_in_flight():
    loop = SendLoop(4, steered=True)
    claimed(loop)
    loop.halt("paused", set_aside=8)  # the reserve; 4 in flight
    turn = loop.decide(T0 + 1)
    assert not turn.may_claim and not turn.check_halt  # halted: no more looks either
    assert (turn.at_least, turn.wait_for) == (4, IDLE_WAIT_SECONDS)
    loop.came_back([SENT] * 4, T0 + 1.1)
    assert loop.to_claim(turn) == 0 and loop.write_due(T0 + 1.1)
    assert not loop.done
    loop.written(claimed=0, requeued=0)
    assert loop.done and loop.halted == "paused"


def test_a_stop_claims_nothing_more_and_ends_once_in_flight_is_written():
    loop = SendLoop(4, steered=True)
    claimed(loop)
    loop.stopping(set_aside=8)
    turn = loop.decide(T0 + 1)
    assert not turn.may_claim and turn.at_least == 4
    loop.came_back([SENT], T0 + 1.1)
    assert loop.write_due(T0 + 1.1)  # a stop writes what came back at once
    loop.written(claimed=0, requeued=0)
    assert not loop.done
    loop.decide(T0 + 1.2)
    loop.came_back([SENT] * 3, T0 + 1.3)
    loop.written(claimed=0, requeued=0)
    assert loop.done and loop.stopped


def test_a_short_pace_is_waited_for_in_the_loop():
    loop = SendLoop(2, steered=True)
    loop.decide(T0)
    loop.nothing_claimed(0.4, None, T0)
    turn = loop.decide(T0 + 0.1)
    assert not turn.may_claim  # pacing
    assert turn.wait_for == pytest.approx(0.3)
    assert not loop.done
    assert loop.decide(T0 + 0.4).may_claim


def test_a_pace_wait_lasts_at_most_a_second_a_turn():
    loop = SendLoop(2, steered=True)
    loop.nothing_claimed(SHORT_WAIT_SECONDS, None, T0)
    assert loop.decide(T0).wait_for == IDLE_WAIT_SECONDS
    assert not loop.exhausted


def test_a_long_wait_ends_the_loop_and_says_when_to_look_again():
    loop = SendLoop(2, steered=True)
    loop.nothing_claimed(SHORT_WAIT_SECONDS + 0.1, "the next opening", T0)
    assert loop.done and loop.retry_at == "the next opening"
    other = SendLoop(2, steered=True)
    other.nothing_claimed(None, None, T0)  # nothing waits at all
    assert other.done and other.retry_at is None


def test_calls_given_back_after_a_429_keep_the_loop_going():
    loop = SendLoop(1, steered=False)
    claimed(loop)
    loop.nothing_claimed(None, None, T0)
    loop.decide(T0)
    loop.came_back([("call", "queued")] * 3, T0)
    loop.written(claimed=0, requeued=3)
    assert not loop.exhausted and not loop.done
    assert loop.decide(T0).may_claim


def test_a_whole_send_in_turns_claims_in_batches_and_writes_every_result():
    """The decisions alone, played against requests that all finish during each wait."""
    loop, queued, claims, writes, now = SendLoop(4, steered=True), 100, [], 0, T0
    in_flight = 0
    while not loop.done:
        turn = loop.decide(now)
        back = min(in_flight, turn.at_least) if turn.wait_for else 0
        in_flight -= back
        now += 0.01
        loop.came_back([SENT] * back, now)
        wanted = loop.to_claim(turn)
        if wanted or loop.write_due(now):
            got = min(wanted, queued)
            queued -= got
            in_flight += got
            writes += len(loop.unwritten)
            if wanted:
                claims.append(got)
            loop.written(claimed=got, requeued=0)
            if wanted and not got:
                loop.nothing_claimed(None, None, now)
    assert writes == 100 and queued == 0
    assert claims[0] == 12 and all(n >= 7 for n in claims[1:-2])  # batches, not one at a time
    assert len(claims) < 100 / 5


def test_in_flight_hands_results_back_with_the_item():
    with InFlight(lambda n: n * n, 3, name="test") as pool:
        for n in range(10):
            pool.submit(n)
        results = []
        while len(results) < 10:
            results += pool.drain(None)
    assert sorted(results) == [(n, n * n) for n in range(10)]


def test_in_flight_hands_an_error_back_as_the_outcome():
    def work(n):
        raise ValueError(n)

    with InFlight(work, 1, name="test") as pool:
        pool.submit(7)
        [(item, outcome)] = pool.drain(None)
    assert item == 7 and isinstance(outcome, ValueError)


def test_in_flight_gives_back_the_items_no_thread_has_taken():
    started, release = threading.Event(), threading.Event()

    def work(n):
        started.set()
        release.wait()
        return n

    pool = InFlight(work, 1, name="test")
    for n in (1, 2, 3):
        pool.submit(n)
    started.wait()  # the one thread holds item 1; 2 and 3 wait
    given_back = []

    def give_back(items):  # before the threads are let go: nothing more is started
        given_back.extend(items)
        release.set()

    assert pool.close(give_back=give_back) == [2, 3]
    assert given_back == [2, 3]
    assert pool.drain() == [(1, 1)]


def test_in_flight_waits_no_longer_than_asked():
    release = threading.Event()
    with InFlight(lambda n: release.wait(), 1, name="test") as pool:
        pool.submit(1)
        assert pool.drain(0.01) == []  # nothing came back: an empty list, not a hang
        release.set()
        assert pool.drain(None) == [(1, True)]


def test_in_flight_threads_speak_the_language_of_where_the_pool_was_made():
    with translation.override("ru"):
        pool = InFlight(lambda _n: translation.get_language(), 2, name="test")
    with pool:
        pool.submit(1)
        assert pool.drain(None) == [(1, "ru")]
