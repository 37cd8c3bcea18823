"""The send loop's decisions: how many calls to claim, how long to wait, when to write, beat and look.

`SendLoop` holds what the loop knows (calls claimed and not written back, results not
written yet, whether the queue ran out, the pace, staff's pause or stop, SIGTERM) and
decides each turn from that and the clock it is given; `sending.send_queued_calls`
carries the decisions out (the claims, the writes, the threads). Nothing here touches
the database, a thread or the clock, so every decision is tested as a plain function.

A turn: `decide(now)` says whether to beat and to look for a halt, and how long to wait
for how many results; after the wait, `to_claim` and `write_due` say what the turn's
one transaction does; `written`, `halt`, `stopping` and `nothing_claimed` record what
happened.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

logger = logging.getLogger(__name__)

# A pace or start this close is waited for in the loop; a later one ends the task, which
# is enqueued again (deferred) for that time.
SHORT_WAIT_SECONDS = 5.0
# Results that came back are written at the latest this long after the first of them
# (with the next claim, usually sooner): a crash in between marks them "unknown".
WRITE_DELAY_SECONDS = 0.2
# How often a send loop looks whether its broadcast was paused or stopped meanwhile.
HALT_CHECK_SECONDS = 0.25
# How often a send loop says it is alive (Broadcast.sender_beat_at), so the safety net
# can tell a broadcast whose worker died from one that is being sent.
BEAT_SECONDS = 10
# With nothing to claim and nothing in flight, a wait for the pace lasts at most this long.
IDLE_WAIT_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Turn:
    """What one turn of the loop does before its transaction."""

    beat: bool  # say the sender is alive
    check_halt: bool  # look whether staff paused or stopped the broadcast
    wait_for: float  # seconds to wait for results (0: take those already back)
    at_least: int  # ... until this many came back
    may_claim: bool  # the turn may claim more calls (then `to_claim` says how many)


class SendLoop:
    """The state of one send loop, and its decisions as functions of that state and `now`.

    `now` is a monotonic clock in seconds. `slots` requests are in flight at most; a
    reserve of claimed calls (twice the slots) waits for a free thread, topped up once it
    runs below the low mark, so that a turn claims (and writes) many calls at once: the
    cost of a turn's transaction is shared by them (bench/README.md).
    """

    def __init__(self, slots: int, *, steered: bool):
        self.slots = max(int(slots), 1)
        # Claimed but not yet sent: if the worker dies, these too become "unknown".
        self.reserve_size = max(2, 2 * self.slots)
        self.low_mark = self.slots + self.reserve_size // 4
        self.steered = steered  # one broadcast: its sender beats and looks for a halt
        self.outstanding = 0  # claimed and not yet written back
        self.unwritten: list = []  # results that came back, not yet written
        self.unwritten_since = 0.0  # when the oldest of them came back
        self.exhausted = False  # nothing left to claim now (or halted)
        self.stopped = False  # SIGTERM: claim no more, finish what is in flight
        self.halted = ""  # the broadcast's state once staff paused or stopped it
        self.retry_at: datetime | None = None  # the calls left wait until then
        self.beat_at = self.checked_at = float("-inf")
        self.paced_until = float("-inf")  # the broadcast's pace lets the next call go then

    @property
    def done(self) -> bool:
        """Nothing more to claim (or a stop), and every claimed call written back."""
        return (self.exhausted or self.stopped) and self.outstanding == 0

    @property
    def in_hand(self) -> int:
        """Claimed calls in flight or in the reserve (not come back yet)."""
        return self.outstanding - len(self.unwritten)

    def decide(self, now: float) -> Turn:
        """This turn's beat, halt check and wait; a beat or a check decided is counted as done.

        Claim more only when the reserve runs low, so claims come in batches; otherwise
        wait for requests to finish (as many as bring the reserve low), for the pace, or
        for the results held back to be due for writing.
        """
        beat = self.steered and now - self.beat_at >= BEAT_SECONDS
        if beat:
            self.beat_at = now
        # Between claims too: a stop or pause must not wait for the reserve to run low.
        check_halt = self.steered and not self.halted and now - self.checked_at >= HALT_CHECK_SECONDS
        if check_halt:
            self.checked_at = now
        pacing = now < self.paced_until
        may_claim = not self.exhausted and not self.stopped and not pacing
        in_hand = self.in_hand
        wait_for, at_least = 0.0, 1
        if may_claim and in_hand < self.low_mark:
            pass  # claim now
        elif in_hand > 0:
            at_least = in_hand - self.low_mark + 1 if may_claim else in_hand
            if self.unwritten:
                wait_for = max(WRITE_DELAY_SECONDS - (now - self.unwritten_since), 0.0)
            else:
                wait_for = IDLE_WAIT_SECONDS
        elif pacing:
            wait_for = min(IDLE_WAIT_SECONDS, self.paced_until - now)
        return Turn(beat, check_halt, wait_for, at_least, may_claim)

    def came_back(self, results: list, now: float) -> None:
        """Results that came back during the wait (held until written)."""
        if results and not self.unwritten:
            self.unwritten_since = now
        self.unwritten += results

    def to_claim(self, turn: Turn) -> int:
        """How many calls the turn claims: enough to fill the slots and the reserve, once it runs low."""
        in_hand = self.in_hand
        if turn.may_claim and in_hand < self.low_mark:
            return self.slots + self.reserve_size - in_hand
        return 0

    def write_due(self, now: float) -> bool:
        """Whether the results held back are written now (with the next claim, or on their own).

        Written with the next claim, after a short delay, or when nothing else is in
        flight: one transaction for many calls.
        """
        return bool(self.unwritten) and (
            len(self.unwritten) == self.outstanding
            or now - self.unwritten_since >= WRITE_DELAY_SECONDS
            or self.stopped
            or self.exhausted
        )

    def written(self, *, claimed: int, requeued: int) -> None:
        """The turn's transaction wrote every result held back and claimed `claimed` calls."""
        self.outstanding += claimed - len(self.unwritten)
        self.unwritten = []
        if requeued:
            self.exhausted = False  # calls given back after a 429 are still to send

    def nothing_claimed(self, retry_in: float | None, retry_at: datetime | None, now: float) -> None:
        """A claim found no call to send now; the next may ring in `retry_in` seconds (None: none waits).

        A short wait is waited for in the loop; otherwise the loop ends once what is in
        flight came back, and says when to look again (`retry_at`).
        """
        if retry_in is not None and retry_in <= SHORT_WAIT_SECONDS:
            self.paced_until = now + max(retry_in, 0.0)
        else:
            self.exhausted = True
            self.retry_at = retry_at

    def halt(self, state: str, *, set_aside: int) -> None:
        """Staff paused or stopped the broadcast; `set_aside` claimed calls were taken back unsent."""
        self.halted = state
        self.outstanding -= set_aside
        self.exhausted = True

    def stopping(self, *, set_aside: int) -> None:
        """SIGTERM: no more claims; `set_aside` claimed calls went back to the queue unsent."""
        self.stopped = True
        self.outstanding -= set_aside


@contextmanager
def stop_on_signal(stop: threading.Event):
    """While sending, SIGTERM/SIGINT mean "stop claiming and finish what is in flight".

    Only in the main thread (where `db_worker` runs tasks). The worker's own handler is
    told about the first signal once the send loop has finished, so the worker exits
    after this task; a second signal does not cut the loop short (the requests in flight
    end within the read timeout, and their results are written).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signal.SIGTERM, signal.SIGINT]
    previous = {signum: signal.getsignal(signum) for signum in wanted}
    received: list[int] = []

    def handler(signum, frame):
        if not received:
            logger.warning("Received %s: no more calls are claimed; finishing those in flight", signum)
        received.append(signum)
        stop.set()

    for signum in wanted:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if received and callable(previous[received[0]]):
            previous[received[0]](received[0], None)
