"""Steering a broadcast once it is recorded: stop, pause, resume, move its start.

Each change locks the broadcast's row, checks the move against `lifecycle.TRANSITIONS`,
writes it with who and when, and leaves an entry in the audit trail. Claims lock the
same row (`claims.claim_calls`), so once a stop or a pause has committed no worker
takes another call of it; calls a worker already holds are given back (paused) or
canceled (stopped) at its next turn, and those already handed to Exolve finish.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from . import events
from .lifecycle import (
    DONE,
    SHOWN_LABELS,
    STOPPED_NOT_CALLED,
    BroadcastState,
    TransitionRefused,
    allowed,
    get_zone,
    next_state,
)
from .models import Broadcast, Call, CallState, SmsFollowUp, SmsState, pending_q
from .permissions import SEND_PERMISSION, STEER_PERMISSION
from .plan_rules import PlanRefused, check_start
from .sms_claims import STOPPED_NOT_SENT
from .tasks import enqueue_sending, send_sms_later
from .windows import broadcast_windows


def may_steer(user, broadcast: Broadcast) -> bool:
    """The person who sent it, and whoever may steer every broadcast (Managers)."""
    return _sender_or_manager(user, broadcast.created_by_id)


def _sender_or_manager(user, sender_id: int | None) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    own = sender_id is not None and sender_id == user.pk
    return user.has_perm(STEER_PERMISSION) or (own and user.has_perm(SEND_PERMISSION))


def split_resendable(user, calls) -> tuple[list, list]:
    """(the calls `user` may send again, the others): re-sending follows `may_steer`, by the call's broadcast.

    A call whose broadcast was deleted goes by who requested it. One query.
    """
    calls = list(calls)
    senders = dict(
        Broadcast.objects.filter(pk__in={call.broadcast_id for call in calls if call.broadcast_id}).values_list(
            "pk", "created_by_id"
        )
    )
    mine, others = [], []
    for call in calls:
        sender = senders.get(call.broadcast_id) if call.broadcast_id else call.requested_by_id
        (mine if _sender_or_manager(user, sender) else others).append(call)
    return mine, others


def refusal(state: str, action: str) -> TransitionRefused:
    """Why a broadcast in shown `state` (lifecycle.SHOWN_LABELS) cannot take `action`, in plain words."""
    words = {
        "stop": gettext("This broadcast cannot be stopped: it is %(state)s."),
        "pause": gettext("This broadcast cannot be paused: it is %(state)s."),
        "resume": gettext("This broadcast cannot be resumed: it is %(state)s."),
        "move": gettext("Only a broadcast that has not started yet can be moved: this one is %(state)s."),
        "resend": gettext("Nothing of this broadcast can be sent again: it is %(state)s."),
    }[action]
    return TransitionRefused(words % {"state": SHOWN_LABELS[state]})


def _change(broadcast_id: int, action: str, user) -> Broadcast:
    """Lock the row, check the move, write the new state; inside a transaction."""
    locked = Broadcast.objects.select_for_update().get(pk=broadcast_id)
    state = locked.state
    if state == BroadcastState.SCHEDULED and action == "pause":
        raise refusal(state, action)
    if not allowed(state, action):
        raise refusal(state, action)
    if not Call.objects.filter(pending_q(), broadcast=locked).exists() and not _sms_waiting(locked):
        raise refusal(DONE, action)  # every call has its outcome: nothing to pause, resume or stop
    locked.state = next_state(state, action)
    _save_with_who_and_when(locked, user, "state")
    return locked


def _sms_waiting(broadcast: Broadcast) -> bool:
    """Follow-up SMS still to be sent keep a broadcast steerable (a stop cancels them)."""
    return SmsFollowUp.objects.filter(broadcast=broadcast, state__in=(SmsState.QUEUED, SmsState.SENDING)).exists()


def _save_with_who_and_when(locked: Broadcast, user, *fields: str) -> None:
    locked.state_changed_at = timezone.now()
    locked.state_changed_by = user if getattr(user, "pk", None) else None
    locked.save(update_fields=[*fields, "state_changed_at", "state_changed_by"])


def _audit(user, broadcast: Broadcast, message: str) -> None:
    if getattr(user, "pk", None):
        LogEntry.objects.log_actions(user.pk, [broadcast], CHANGE, change_message=message, single_object=True)


def waiting_count(broadcast: Broadcast) -> int:
    """Calls not made yet that would be made on resume (or at the start)."""
    return Call.objects.filter(broadcast=broadcast, state=CallState.QUEUED).count()


def summary(action: str, count: int) -> str:
    """What a stop, pause or resume did, in words: the audit trail and the page say the same."""
    words = {
        "stop": lambda: ngettext(
            "Stopped; %(count)d call will not be made.", "Stopped; %(count)d calls will not be made.", count
        ),
        "pause": lambda: ngettext("Paused; %(count)d call waits.", "Paused; %(count)d calls wait.", count),
        "resume": lambda: ngettext("Resumed; %(count)d call to make.", "Resumed; %(count)d calls to make.", count),
    }[action]()
    return words % {"count": count}


def _steer(broadcast: Broadcast, action: str, user, then) -> int:
    """Change the state under the row lock, run ``then(locked)`` in the same transaction, audit.

    ``then`` returns the count the summary tells; so does this.
    """
    with transaction.atomic():
        locked = _change(broadcast.pk, action, user)
        count = then(locked)
        _audit(user, locked, summary(action, count))
    broadcast.refresh_from_db()
    return count


def _cancel_queued(broadcast: Broadcast) -> int:
    # Its follow-up SMS waiting too: none is sent after a stop (the SMS claim checks it again).
    SmsFollowUp.objects.filter(broadcast=broadcast, state=SmsState.QUEUED).update(
        state=SmsState.CANCELED, error=gettext(STOPPED_NOT_SENT)
    )
    return Call.objects.filter(broadcast=broadcast, state=CallState.QUEUED).update(
        state=CallState.CANCELED, error=gettext(STOPPED_NOT_CALLED)
    )


def _send_waiting(broadcast: Broadcast) -> int:
    waiting = waiting_count(broadcast)
    transaction.on_commit(lambda: enqueue_sending(broadcast.pk, waiting))
    if SmsFollowUp.objects.filter(broadcast=broadcast, state=SmsState.QUEUED).exists():
        transaction.on_commit(lambda: send_sms_later(broadcast.pk, timezone.now()))  # its SMS go on too
    return waiting


def stop(broadcast: Broadcast, user) -> int:
    """Stop for good: every queued call no worker holds becomes canceled at once. Returns how many."""
    count = _steer(broadcast, "stop", user, _cancel_queued)
    events.on_commit(events.broadcast_stopped, broadcast_id=broadcast.pk, user_id=getattr(user, "pk", None))
    return count


def pause(broadcast: Broadcast, user) -> int:
    """No call of it is claimed until it is resumed. Returns how many calls wait."""
    return _steer(broadcast, "pause", user, waiting_count)


def resume(broadcast: Broadcast, user) -> int:
    """Go on where it stopped. Returns how many calls are to be made."""
    return _steer(broadcast, "resume", user, _send_waiting)


def move(broadcast: Broadcast, start_at: datetime, user) -> None:
    """Move the start of a broadcast that has not started; its calls wait until then (and calling hours)."""
    try:
        check_start(start_at)  # the send form's bounds: in the future, at most a year ahead
    except PlanRefused as exc:
        past = exc.code == "past"
        raise TransitionRefused(gettext("The new start must be in the future.") if past else str(exc)) from exc
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if locked.state != BroadcastState.SCHEDULED:
            raise refusal(locked.state, "move")
        locked.start_at = start_at
        _save_with_who_and_when(locked, user, "start_at")
        window = broadcast_windows(locked)
        zones = set(
            Call.objects.filter(broadcast=locked, state=CallState.QUEUED).values_list("time_zone", flat=True).distinct()
        )
        first = None
        for zone_name in zones:
            zone = get_zone(zone_name or locked.time_zone) or get_zone("UTC")
            opening = window.next_opening(start_at, zone)
            waiting = Call.objects.filter(broadcast=locked, state=CallState.QUEUED, time_zone=zone_name)
            waiting.update(not_before=opening)
            first = opening if first is None else min(first, opening)
        when = timezone.localtime(start_at).strftime("%Y-%m-%d %H:%M")
        _audit(user, locked, gettext("Start moved to %(when)s.") % {"when": when})
        count = waiting_count(locked)
        transaction.on_commit(lambda: enqueue_sending(locked.pk, count, at=first or start_at))
    broadcast.refresh_from_db()
