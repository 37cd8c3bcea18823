"""The webhook queue's tasks (queue "webhooks", its own worker: `make run`, deploy/): deliveries and notices.

Nothing here runs on the sending workers' queue, so delivering and e-mailing never take
a sender's turn. `wake_delivery` enqueues one delivery task unless one already waits;
each run enqueues the next (deferred) for the next due retry.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.tasks import task
from django.utils import timezone

from jobs import task_queue

from . import delivery, notices

logger = logging.getLogger(__name__)

QUEUE = "webhooks"


def _on_queue(chosen_task, at: datetime | None = None):
    """`chosen_task` on the webhook queue, or on the backend's only queue where it has no such queue (tests)."""
    backend = chosen_task.get_backend()
    if backend.queues and QUEUE not in backend.queues:
        chosen_task = chosen_task.using(queue_name=sorted(backend.queues)[0])
    if at is not None and backend.supports_defer:
        chosen_task = chosen_task.using(run_after=at)
    return chosen_task


@task(queue_name=QUEUE)
def deliver_webhooks() -> dict:
    summary = delivery.deliver_due()
    schedule_delivery()
    return {"delivered": summary.delivered, "failed": summary.failed_attempts, "gave_up": summary.gave_up}


@task(queue_name=QUEUE)
def send_notices(event_id: int) -> int:
    return notices.send_notices(event_id)


def wake_delivery() -> None:
    """Deliver what is due now, unless a delivery task already waits to run now."""
    if not task_queue.is_waiting(deliver_webhooks, due_by=timezone.now()):
        _on_queue(deliver_webhooks).enqueue()


def schedule_delivery() -> None:
    """Make sure a delivery task runs at the next retry's time (only where the backend can defer)."""
    due = delivery.next_due()
    if due is None or not deliver_webhooks.get_backend().supports_defer:
        return
    due = max(due, timezone.now())
    if not task_queue.is_waiting(deliver_webhooks, due_by=due):
        _on_queue(deliver_webhooks, due).enqueue()


def enqueue_notices(event_id: int) -> None:
    _on_queue(send_notices).enqueue(event_id)
