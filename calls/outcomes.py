"""What became of a call, in the six words staff read on the pages.

A call's outcome is derived from its local `state` and Exolve's raw `status`, in this
order (the first that matches wins):

- completed, no answer, busy: Exolve's final status says so;
- failed: Exolve's final status is failed/canceled/rejected, or Exolve refused the call
  (local state "rejected", nothing was sent);
- not called: its broadcast was stopped before the call was made, or the number is on
  the stop list or over its per-number limit;
- pending: the portal is still sending it (or it waits for its time) or still waiting
  for a final status;
- unknown: everything else (a send whose outcome cannot be known, a status Exolve
  never finalised, a status string the portal does not know).

The same conditions serve as SQL (conditional counts, filters, an annotation), so
every page counts the same way in one query.
"""

from django.db import models
from django.db.models import Case, Count, Q, Value, When
from django.utils.translation import gettext_lazy as _

from .lifecycle import Status, status
from .models import CallState, SmsFollowUp, SmsState, pending_q

FAILED_STATUSES = ("failed", "canceled", "rejected")


class Outcome(models.TextChoices):
    COMPLETED = "completed", _("completed")
    NO_ANSWER = "no_answer", _("no answer")
    BUSY = "busy", _("busy")
    FAILED = "failed", _("failed")
    UNKNOWN = "unknown", _("unknown")
    PENDING = "pending", _("pending")
    NOT_CALLED = "not_called", _("not called")


# Outcomes that are final (the call is over, whatever happened).
FINAL_OUTCOMES = (Outcome.COMPLETED, Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED)


def _prefixed(q: Q, prefix: str) -> Q:
    """`q` with every lookup on a related model (e.g. prefix "calls__")."""
    if not prefix:
        return q
    clone = Q()
    clone.connector, clone.negated = q.connector, q.negated
    clone.children = [
        _prefixed(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1]) for child in q.children
    ]
    return clone


def _conditions(prefix: str = "") -> list[tuple[str, Q]]:
    """(outcome, condition) in priority order; unknown is "none of the others"."""
    ordered = [
        (Outcome.COMPLETED, Q(status="completed")),
        (Outcome.NO_ANSWER, Q(status="no_answer")),
        (Outcome.BUSY, Q(status="busy")),
        (Outcome.FAILED, Q(status__in=FAILED_STATUSES) | Q(state=CallState.REJECTED)),
        (Outcome.NOT_CALLED, Q(state__in=(CallState.CANCELED, CallState.SKIPPED))),
        (Outcome.PENDING, pending_q()),
    ]
    return [(outcome, _prefixed(condition, prefix)) for outcome, condition in ordered]


def outcome_q(outcome: str, prefix: str = "") -> Q:
    """Exactly the calls with `outcome` (mutually exclusive with every other outcome)."""
    earlier = Q()
    for key, condition in _conditions(prefix):
        if key == outcome:
            return condition & ~earlier if earlier else condition
        earlier |= condition
    if outcome == Outcome.UNKNOWN:
        return ~earlier
    raise ValueError(f"unknown outcome {outcome!r}")


def outcome_expression() -> Case:
    """An SQL expression giving each call's outcome (for annotation and ordering)."""
    return Case(
        *[When(condition, then=Value(str(key))) for key, condition in _conditions()],
        default=Value(str(Outcome.UNKNOWN)),
        output_field=models.CharField(),
    )


def outcome_label(value: str) -> str:
    return str(Outcome(value).label) if value in Outcome.values else value


# --- Counting: the one way a broadcast's calls are counted -------------------------------


def _field(outcome: str) -> str:
    return f"outcome_{outcome}"


def with_outcome_counts(broadcasts):
    """Annotate `total` and `outcome_<outcome>` on a queryset of broadcasts: one query for any number."""
    annotations = {"total": Count("calls")}
    for outcome in Outcome.values:
        annotations[_field(outcome)] = Count("calls", filter=outcome_q(outcome, prefix="calls__"))
    return broadcasts.annotate(**annotations)


def outcome_counts(calls) -> dict[str, int]:
    """`total` and the count per outcome of a queryset of calls (one aggregate query)."""
    aggregates = {"total": Count("pk")}
    for outcome in Outcome.values:
        aggregates[outcome] = Count("pk", filter=outcome_q(outcome))
    return calls.aggregate(**aggregates)


def labelled(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(label, outcome, count) in the outcomes' order, for pages, the admin and commands."""
    return [
        (str(label), outcome, counts.get(outcome, counts.get(_field(outcome), 0))) for outcome, label in Outcome.choices
    ]


def status_of(broadcast, counts: dict | None = None) -> Status:
    """What staff read of `broadcast` (calls/lifecycle.py `status`) from its outcome counts.

    `counts` as `outcome_counts` gives them (keys "pending", "not_called"); without
    them, the annotations of `with_outcome_counts` when present, else one query.
    """
    if counts is None and hasattr(broadcast, _field(Outcome.PENDING)):
        counts = {outcome: getattr(broadcast, _field(outcome)) for outcome in (Outcome.PENDING, Outcome.NOT_CALLED)}
    if counts is None:
        counts = outcome_counts(broadcast.calls.all())
    pending = counts.get(Outcome.PENDING, 0)
    if not pending and getattr(broadcast, "sms_text", ""):
        # Follow-up SMS still to be sent: not done yet (and a stop cancels them).
        pending = SmsFollowUp.objects.filter(
            broadcast_id=broadcast.pk, state__in=(SmsState.QUEUED, SmsState.SENDING)
        ).count()
    return status(broadcast.state, pending, counts.get(Outcome.NOT_CALLED, 0))
