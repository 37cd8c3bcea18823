"""What happened to sends made through the API, told to whoever listens once it is committed.

- `send_finished(send_id)`: the send was recorded (it has its broadcast) or refused (it has
  its problem). The integrations app turns it into a `send.finished` webhook event, so another
  system learns which broadcast its key made, or why not, without polling.
"""

from __future__ import annotations

import sys

from django.db import transaction
from django.dispatch import Signal

send_finished = Signal()

_SELF = sys.modules[__name__]


def tell_finished(send_id: int) -> None:
    """Send `send_finished` once the current transaction commits; nothing when no one listens."""
    if send_finished.has_listeners():
        transaction.on_commit(lambda: send_finished.send(sender=_SELF, send_id=send_id), robust=True)
