"""What a resend rings with: the original broadcast's plan, from now, within the resender's bounds.

Sending calls again (the broadcast page's "Send again the ones who did not answer or were
busy", the calls admin's action) makes one new broadcast per broadcast the calls came from,
with that broadcast's plan (`SendPlan.of_broadcast`: calling hours, time zone, pace,
retries, purpose and basis), starting now. The plan rules (calls/plan_rules.py) hold for
whoever sends again, as for any send: calling hours they may not use (wider than the
portal's, or any time, without "send at any time") become the portal's hours, and the
confirmation says so before anything is sent; any other rule the old plan breaks refuses
the resend, in plain words.

A new broadcast names the one it repeats through its calls' `resend_of` (`origin_of`):
every call of a resend has one, no call of a first send has any.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import Subquery
from django.utils.translation import gettext

from .models import Broadcast, Call, Purpose, basis_label
from .plan_form import SendPlan
from .plan_rules import PlanRefused, check_plan


@dataclass(frozen=True)
class ResendPlan:
    """The plan a resend of `origin`'s calls rings with (filled), and what the confirmation must say of it."""

    origin: Broadcast | None  # None: calls whose broadcast was deleted (the portal's default plan)
    plan: SendPlan
    count: int = 0  # the calls of `origin` sent again
    original_hours: str = ""  # the origin's calling hours, when the resender may not use them
    refusal: str = ""  # why the resend cannot keep the origin's plan (nothing is sent)

    @property
    def any_time(self) -> bool:
        return self.plan.window.any_time

    @property
    def original_any_time(self) -> bool:
        return self.original_hours == "any"

    @property
    def purpose_label(self) -> str:
        return Purpose(self.plan.purpose).label

    @property
    def basis_label(self) -> str:
        return basis_label(self.plan.basis)


def resend_plan(origin: Broadcast | None, user, count: int = 0) -> ResendPlan:
    """The plan calls of `origin` are sent again with by `user` (None: the portal itself), checked as any send."""
    plan = SendPlan.of_broadcast(origin) if origin is not None else SendPlan()
    try:
        check_plan(plan, user)
        return ResendPlan(origin, plan.filled(), count)
    except PlanRefused as exc:
        if exc.field not in ("calling_hours", "calling_hours_rest"):
            return ResendPlan(origin, plan.filled(), count, refusal=_refusal(origin, exc))
    # Narrower hours never call anyone at a time the original did not: the portal's own hours
    # (for both day types: a window for days of rest alone would leave working days' as they were).
    narrowed = replace(plan, calling_hours=None, calling_hours_rest=None)
    try:
        check_plan(narrowed, user)
    except PlanRefused as exc:
        return ResendPlan(origin, plan.filled(), count, refusal=_refusal(origin, exc))
    return ResendPlan(origin, narrowed.filled(), count, original_hours=str(plan.window))


def _refusal(origin, exc: PlanRefused) -> str:
    if origin is None:
        return str(exc)
    message = gettext("Broadcast #%(pk)s cannot be sent again with its plan: %(reason)s")
    return message % {"pk": origin.pk, "reason": exc}


def resend_plans(calls, user) -> dict[int | None, ResendPlan]:
    """Per broadcast the `calls` came from (its pk; None: deleted), the plan they are sent again with."""
    counts: dict[int | None, int] = {}
    for call in calls:
        counts[call.broadcast_id] = counts.get(call.broadcast_id, 0) + 1
    origins = Broadcast.objects.in_bulk([pk for pk in counts if pk is not None])
    return {pk: resend_plan(origins.get(pk) if pk else None, user, count) for pk, count in counts.items()}


def origin_of(broadcast: Broadcast) -> Broadcast | None:
    """The broadcast `broadcast` sends again, None for a first send (or when the original is gone).

    One query reading one call of `broadcast` through its claim index, whatever its size.
    """
    one_call = Call.objects.filter(broadcast=broadcast, attempt=1).order_by().values("resend_of__broadcast_id")[:1]
    return Broadcast.objects.filter(pk=Subquery(one_call)).first()
