"""Prometheus metrics for the people who run the portal, read from the database at scrape time.

Every number comes from a few aggregate queries when Prometheus asks (`PortalCollector`),
not from counters kept in one process: web and worker processes all write to the
database, so the numbers agree whichever process answers. Counters are counts of rows
that only grow (calls sent, webhook attempts) or counters kept in the database
(Exolve's refusals, 429s and unknowns: `AnswerCount`). The calls of earlier days are counted
once an hour per process (`calls_by_outcome`): a scrape reads today's calls and those still to
send, through their indexes, not the whole calls table.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from api.models import ApiSend, SendState
from calls.lifecycle import BroadcastState
from calls.models import Broadcast, Call, CallState
from calls.outcomes import outcome_counts

from .models import AnswerCount, Delivery, DeliveryState, Endpoint

ANSWER_KINDS = ("refused", "rate_limited", "unknown")


def _seconds(moment) -> float:
    return moment.timestamp() if moment else 0.0


class PortalCollector(Collector):
    def collect(self):
        yield from self._calls()
        yield from self._broadcasts()
        yield from self._workers()
        yield from self._webhooks()
        yield from self._api_sends()

    def _calls(self):
        now = timezone.now()
        outcomes = calls_by_outcome(now)
        by_outcome = GaugeMetricFamily("exolve_calls", "Calls by outcome (as staff read them).", labels=["outcome"])
        for outcome, count in outcomes.items():
            if outcome not in ("total", "sent"):
                by_outcome.add_metric([outcome], count)
        yield by_outcome
        # Only the calls still to send (the state's index), not the whole table.
        counts = Call.objects.filter(state__in=(CallState.QUEUED, CallState.SENDING)).aggregate(
            queued=Count("pk", filter=Q(state=CallState.QUEUED, not_before__lte=now)),
            waiting=Count("pk", filter=Q(state=CallState.QUEUED, not_before__gt=now)),
            sending=Count("pk", filter=Q(state=CallState.SENDING)),
        )
        counts["sent"] = outcomes["sent"]
        counts["overdue"] = Call.objects.filter(state=CallState.SENT, next_refresh_at__lte=now).aggregate(
            at=Min("next_refresh_at")
        )["at"]
        yield GaugeMetricFamily("exolve_calls_queued", "Queued calls that may be sent now.", value=counts["queued"])
        yield GaugeMetricFamily(
            "exolve_calls_waiting", "Queued calls waiting for their time (start, calling hours, retry).",
            value=counts["waiting"],
        )  # fmt: skip
        yield GaugeMetricFamily("exolve_calls_sending", "Calls being handed to Exolve now.", value=counts["sending"])
        yield CounterMetricFamily(
            "exolve_calls_sent", "Calls Exolve accepted (rate() gives sends per second).", value=counts["sent"]
        )
        lag = (now - counts["overdue"]).total_seconds() if counts["overdue"] else 0.0
        yield GaugeMetricFamily(
            "exolve_refresh_lag_seconds", "How late the most overdue statistics refresh is.", value=lag
        )
        answers = CounterMetricFamily("exolve_answers", "Exolve answers by class.", labels=["class"])
        found = dict(AnswerCount.objects.values_list("kind", "count"))
        for kind in ANSWER_KINDS:
            answers.add_metric([kind], found.get(kind, 0))
        yield answers

    def _broadcasts(self):
        family = GaugeMetricFamily("exolve_broadcasts", "Broadcasts by stored state.", labels=["state"])
        found = dict(Broadcast.objects.order_by().values_list("state").annotate(n=Count("pk")))
        for state in BroadcastState.values:
            family.add_metric([state], found.get(state, 0))
        yield family

    def _workers(self):
        beat = Broadcast.objects.aggregate(at=Max("sender_beat_at"))["at"]
        yield GaugeMetricFamily(
            "exolve_sender_last_beat_timestamp_seconds", "Last sign of life of any send loop.", value=_seconds(beat)
        )
        try:
            from django_tasks_db.models import DBTaskResult
        except ImportError:
            return
        rows = (
            DBTaskResult.objects.order_by()
            .values("queue_name")
            .annotate(
                waiting=Count("pk", filter=Q(status="READY", run_after__lte=timezone.now())),
                running=Count("pk", filter=Q(status="RUNNING")),
                last=Max("finished_at"),
            )
        )
        waiting = GaugeMetricFamily("exolve_tasks_waiting", "Tasks due and not taken by a worker.", labels=["queue"])
        running = GaugeMetricFamily("exolve_tasks_running", "Tasks a worker is running.", labels=["queue"])
        last = GaugeMetricFamily(
            "exolve_worker_last_task_finished_timestamp_seconds",
            "When a worker last finished a task.",
            labels=["queue"],
        )
        for row in rows:
            waiting.add_metric([row["queue_name"]], row["waiting"])
            running.add_metric([row["queue_name"]], row["running"])
            last.add_metric([row["queue_name"]], _seconds(row["last"]))
        yield from (waiting, running, last)

    def _webhooks(self):
        by_state = GaugeMetricFamily("exolve_webhook_deliveries", "Webhook deliveries by state.", labels=["state"])
        found = dict(Delivery.objects.order_by().values_list("state").annotate(n=Count("pk")))
        for state in DeliveryState.values:
            by_state.add_metric([state], found.get(state, 0))
        yield by_state
        sums = Delivery.objects.aggregate(attempts=Sum("attempts"), failures=Sum("failures"))
        yield CounterMetricFamily("exolve_webhook_attempts", "Webhook delivery attempts.", value=sums["attempts"] or 0)
        yield CounterMetricFamily(
            "exolve_webhook_failures", "Webhook delivery attempts that failed.", value=sums["failures"] or 0
        )
        yield GaugeMetricFamily(
            "exolve_webhook_endpoints_disabled", "Webhook endpoints switched off.",
            value=Endpoint.objects.filter(enabled=False).count(),
        )  # fmt: skip

    def _api_sends(self):
        waiting = ApiSend.objects.filter(state=SendState.ACCEPTED).aggregate(n=Count("pk"), oldest=Min("created_at"))
        yield GaugeMetricFamily(
            "exolve_api_sends_waiting", "API sends accepted and not yet recorded by a worker.", value=waiting["n"]
        )
        lag = (timezone.now() - waiting["oldest"]).total_seconds() if waiting["oldest"] else 0.0
        yield GaugeMetricFamily(
            "exolve_api_sends_lag_seconds", "How long the oldest API send has waited to be recorded.", value=lag
        )


# Calls queued before today change outcome rarely (a late refresh, a deletion): counted once an
# hour per process; today's calls at every scrape, through the queued_at index. A scrape so reads
# one day of calls, not the whole table (a million calls took a full scan every 15 s before).
SETTLED_FOR = 3600  # seconds


def calls_by_outcome(now) -> dict[str, int]:
    """Every call's count by outcome, with "total" and "sent" (Exolve accepted it)."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    key = f"metrics:calls-before:{today.isoformat()}"
    settled = cache.get(key)
    if settled is None:
        settled = _counted(Call.objects.filter(queued_at__lt=today))
        cache.set(key, settled, SETTLED_FOR)
    current = _counted(Call.objects.filter(queued_at__gte=today))
    return {name: settled.get(name, 0) + current.get(name, 0) for name in {*settled, *current}}


def _counted(calls) -> dict[str, int]:
    return {**outcome_counts(calls), "sent": calls.filter(sent_at__isnull=False).count()}


def registry() -> CollectorRegistry:
    found = CollectorRegistry(auto_describe=False)
    found.register(PortalCollector())
    return found
