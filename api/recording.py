"""Recording accepted sends, in a worker: each once, whoever tries and however often.

`record_waiting()` takes the accepted sends in the order they came. Each is recorded in one
transaction that locks its row while it is still "accepted" (another worker skips it, or on
SQLite waits and then finds it done), records the broadcast through api/sending.py and marks
the send "recorded" before the lock is let go; a refusal (the voice message
gone, a plan the form refuses, nobody to call) leaves the send "refused" with the problem, in
the caller's language. The broadcast's own token comes from (API token, key): a second
guarantee that one send never makes two broadcasts.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from . import events
from .models import ApiSend, SendState
from .problems import Problem
from .sending import record

logger = logging.getLogger(__name__)

BATCH = 100
FORGET_BATCH = 10_000  # old sends deleted per recording task: a bounded statement each time


def record_waiting() -> int:
    """Record every accepted send (those arriving meanwhile too); how many this call recorded or refused."""
    done = 0
    while True:
        waiting = list(
            ApiSend.objects.filter(state=SendState.ACCEPTED).order_by("id").values_list("id", flat=True)[:BATCH]
        )
        if not waiting:
            return done
        owners = {}  # a batch's sends of one token: its owner's rights read once
        done += sum(record_one(pk, owners) for pk in waiting)


def forget_old_sends(now=None) -> int:
    """Delete the sends older than EXOLVE_API_SENDS_KEPT_DAYS (a batch at a time); how many went.

    Their keys are forgotten with them: the same key later makes a new send (docs/api.md).
    """
    before = (now or timezone.now()) - timedelta(days=settings.EXOLVE_API_SENDS_KEPT_DAYS)
    old = ApiSend.objects.filter(created_at__lt=before).exclude(state=SendState.ACCEPTED)
    ids = list(old.order_by("created_at").values_list("id", flat=True)[:FORGET_BATCH])
    return ApiSend.objects.filter(pk__in=ids).delete()[0] if ids else 0


def record_one(pk: int, owners: dict | None = None) -> bool:
    """Record (or refuse) one accepted send; False when another worker has it or did it.

    `owners`: the token owners already read in this batch ({id: user}), whose rights stay read.
    """
    with transaction.atomic():
        # The send's row stays locked until this transaction ends: another worker skips it
        # (PostgreSQL), or waits for the database's one writer and then finds it done (SQLite).
        send = (
            ApiSend.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("token__created_by")
            .filter(pk=pk, state=SendState.ACCEPTED)
            .first()
        )
        if send is None:
            return False
        if owners is not None and send.token.created_by_id is not None:
            send.token.created_by = owners.setdefault(send.token.created_by_id, send.token.created_by)
        with translation.override(send.language or None):
            try:
                with transaction.atomic():
                    send.broadcast, send.answer = record(send.token, send.key, send.body)
                    send.state = SendState.RECORDED
            except Problem as exc:
                send.state, send.answer = SendState.REFUSED, {"problem": exc.as_dict()}
            except DatabaseError:
                raise  # the database's trouble: the send stays accepted, a worker tries again
            except Exception:
                # A fault of ours: refused with a plain word, never tried again and again.
                logger.exception("API send %s could not be recorded", pk)
                send.state, send.answer = SendState.REFUSED, {"problem": _fault().as_dict()}
        # The body is no longer needed: a repeat is compared by its digest, the broadcast keeps the rest.
        send.body, send.recorded_at = {}, timezone.now()
        send.save(update_fields=["state", "broadcast", "answer", "body", "recorded_at"])
        events.tell_finished(send.pk)
    return True


def _fault() -> Problem:
    return Problem(
        500,
        "server-error",
        gettext("Something went wrong"),
        gettext("This send was not recorded and nobody will be called; send it again with a new key."),
    )
