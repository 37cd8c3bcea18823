"""What happened to calls and broadcasts, told to whoever listens, once the change is committed.

The calls app records its transitions where they happen (the send loop, the refresh, a
stop); other apps (integrations: webhooks and e-mail notices) listen to these signals
without calls knowing them. Each signal is sent only after the transaction that made
the change commits, so a listener never hears of something rolled back. A signal with
nobody listening costs a function call; nothing here runs per sent call.

Signals (keyword arguments; `sender` is always `events`):
- `calls_finished(call_ids)`: these calls reached a final outcome (finished at Exolve,
  refused, or unknown);
- `broadcast_finished(broadcast_id)`: nothing is left to do for the broadcast;
- `broadcast_stopped(broadcast_id, user_id)`: staff stopped it;
- `broadcast_failed(broadcast_id, reason)`: it cannot continue (reason "account_blocked"
  or "key_refused");
- `sms_finished(sms_ids)`: these follow-up SMS reached a final state (sent, refused, unknown);
- `exolve_answers(kind, count)`: Exolve answered `count` requests of class `kind`
  ("rate_limited", "refused", "unknown"), for the metrics.
"""

from __future__ import annotations

import sys

from django.db import transaction
from django.dispatch import Signal

from .lifecycle import BroadcastState
from .models import Broadcast, Call, pending_q

calls_finished = Signal()
broadcast_finished = Signal()
broadcast_stopped = Signal()
broadcast_failed = Signal()
exolve_answers = Signal()
sms_finished = Signal()

ACCOUNT_BLOCKED = "account_blocked"
KEY_REFUSED = "key_refused"

_SELF = sys.modules[__name__]


def on_commit(signal: Signal, **kwargs) -> None:
    """Send `signal` once the current transaction commits (at once outside one); nothing when no one listens."""
    if not signal.has_listeners():
        return
    transaction.on_commit(lambda: signal.send(sender=_SELF, **kwargs), robust=True)


def calls_became_final(call_ids: list[int], broadcast_ids: set) -> None:
    """`call_ids` reached their final outcome; their broadcasts (`broadcast_ids`) may now be finished."""
    if call_ids:
        on_commit(calls_finished, call_ids=list(call_ids))
    if broadcast_ids and broadcast_finished.has_listeners():
        transaction.on_commit(lambda: _finished_broadcasts(set(broadcast_ids)), robust=True)


def _finished_broadcasts(broadcast_ids: set) -> None:
    """Tell of each broadcast among `broadcast_ids` with nothing left to do (a stop is told as a stop)."""
    busy = set(
        Call.objects.filter(pending_q(), broadcast_id__in=broadcast_ids)
        .values_list("broadcast_id", flat=True)
        .distinct()
    )
    done = Broadcast.objects.filter(pk__in=broadcast_ids - busy).exclude(state=BroadcastState.STOPPED)
    for broadcast_id in done.values_list("pk", flat=True):
        broadcast_finished.send(sender=_SELF, broadcast_id=broadcast_id)
