"""Per-number counts: the monthly limit, and 230-FZ's 2/4/16 for debt reminders.

- Unit: the counts over rolling 1/7/31 days; a debt reminder counts only debt reminders
  (of any broadcast, retries included) that may have rung; the portal's limits apply too.
- Real `db_worker` processes (SQLite file database, PostgreSQL): four debt-reminder
  broadcasts of the same numbers, each call with a retry due at once, sent by two
  workers: the sandbox is asked to ring no number a 3rd time in a day, a 5th in a week,
  a 17th in a month (earlier calls seeded in the past), and exactly as often as the law
  still allows.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from calls import limits
from calls.models import Broadcast, CallState, Purpose
from tests.calls.test_broadcast_workers import NO_REFRESH, made, shared_site, wait_for
from tests.factories_calls import SOURCE, make_call, postgres_only

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def seed(voice_message, number, ages_in_days, purpose=Purpose.DEBT_REMINDER, state=CallState.FINISHED):
    broadcast = Broadcast.objects.create(
        service_id="s", source=SOURCE, token=f"{number}{purpose}{state}", purpose=purpose
    )
    for age in ages_in_days:
        make_call(voice_message, number, broadcast=broadcast, state=state, claimed_at=NOW - timedelta(days=age))


@pytest.mark.django_db
def test_the_monthly_limit_counts_31_days(voice_message, settings):
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_MONTH = 3
    seed(voice_message, "79990000001", [10, 20, 30.9], Purpose.INFORMATION)
    seed(voice_message, "79990000002", [10, 20, 31.1], Purpose.INFORMATION)
    found = limits.over_limits(["79990000001", "79990000002"], now=NOW)
    assert found == {"79990000001": limits.OVER_MONTH_LIMIT}


@pytest.mark.django_db
def test_a_debt_reminder_counts_debt_reminders_that_may_have_rung(voice_message):
    day, week, month, free = "79990000001", "79990000002", "79990000003", "79990000004"
    seed(voice_message, day, [0.1, 0.9])  # 2 today
    seed(voice_message, week, [1.5, 3, 5, 6.9])  # 4 in a week, 1 a day
    seed(voice_message, month, [8 + n for n in range(16)])  # 16 in 31 days, none this week
    seed(voice_message, free, [0.1] * 5, Purpose.INFORMATION)  # other purposes do not count
    seed(voice_message, free, [0.2] * 3, state=CallState.SKIPPED)  # nor calls that did not ring
    seed(voice_message, free, [1.5, 3, 5, 8] + [9 + n for n in range(11)] + [31.5])  # 15 in 31 days

    found = limits.over_limits([day, week, month, free], now=NOW, debt=True)

    assert found == dict.fromkeys([day, week, month], limits.OVER_DEBT_LIMIT)
    assert limits.over_limits([day, week, month, free], now=NOW) == {}  # not a debt reminder: no limit


@pytest.mark.django_db
def test_a_debt_reminder_keeps_to_the_portals_limits_too(voice_message, settings):
    settings.EXOLVE_MAX_CALLS_PER_NUMBER_DAY = 1
    seed(voice_message, "79990000001", [0.5], Purpose.INFORMATION)
    assert limits.over_limits(["79990000001"], now=NOW, debt=True) == {"79990000001": limits.OVER_DAY_LIMIT}


# --- with real workers ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=postgres_only)])
def debt_site(request, tmp_path):
    """Two workers, one send task per broadcast (two broadcasts claim the same numbers at once); no portal limits."""
    yield from shared_site(request, tmp_path, EXOLVE_MAX_IN_FLIGHT=8, EXOLVE_SEND_TASKS_PER_BROADCAST=1, **NO_REFRESH)


def open_zone() -> str:
    """A zone where it is about 13:00 now: inside the law's windows on any day, whenever the test runs."""
    offset = 13 - timezone.now().astimezone(UTC).hour
    offset = offset + 24 if offset < -12 else offset - 24 if offset > 14 else offset
    return f"Etc/GMT{-offset:+d}"  # POSIX names: Etc/GMT-3 is UTC+3


# Per number: the days ago its earlier debt reminders were made, and how many more the law allows now.
KINDS = [
    ([], 2),  # a fresh number: 2 a day
    ([2, 3, 5], 1),  # 3 this week: a 4th, not a 5th
    ([8 + n for n in range(15)], 1),  # 15 this month: a 16th, not a 17th
    ([32 + n for n in range(20)], 2),  # older than 31 days: a fresh day
]
HISTORY = {f"799955{kind}{n:04d}": KINDS[kind] for kind in range(len(KINDS)) for n in range(10)}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the workers see only what was committed
def test_a_debt_reminder_never_rings_a_number_more_than_the_law_allows(debt_site, workers):
    site, numbers = debt_site, list(HISTORY)
    for _ in range(2):
        workers.start(site.env)
    recorded = site.python(f"""
import json
from datetime import timedelta
from django.db import transaction
from django.utils import timezone
from calls.models import Broadcast, Call, CallState
from calls.recording import SendPlan, create_broadcast, new_token
from voicemessages.models import VoiceMessage
vm = VoiceMessage.objects.create(name="W", media_id=1967)
now = timezone.now()
past = Broadcast.objects.create(service_id=vm.exolve_id, source={SOURCE!r}, token="past", purpose="debt_reminder")
for number, (ages, _allowed) in {HISTORY!r}.items():
    Call.objects.bulk_create([
        Call(broadcast=past, voice_message=vm, service_id=vm.exolve_id, source={SOURCE!r}, destination=number,
             state=CallState.FINISHED, claimed_at=now - timedelta(days=age)) for age in ages
    ])
plan = SendPlan(start_at=now + timedelta(seconds=4), purpose="debt_reminder", basis="debt", time_zone={open_zone()!r})
with transaction.atomic():
    pks = [create_broadcast(vm, {SOURCE!r}, {numbers!r}, None, new_token(), plan=plan).pk for _ in range(4)]
    for call in Call.objects.filter(broadcast_id__in=pks):  # each with a retry due as soon as it starts
        Call.objects.create(broadcast_id=call.broadcast_id, voice_message=vm, service_id=call.service_id,
                            source=call.source, destination=call.destination, attempt=2, first_attempt=call,
                            not_before=call.not_before)
print(json.dumps({{"pks": pks}}))
""")
    assert len(recorded["pks"]) == 4

    def settled():
        rows = site.rows(
            "SELECT state FROM calls_call WHERE broadcast_id <> (SELECT id FROM calls_broadcast WHERE token = 'past')"
        )
        states = Counter(state for (state,) in rows)
        return states if not states.keys() & {"queued", "sending"} else None

    states = wait_for(settled, 60 + 4, "the debt reminders to be sent", 0.2)
    workers.stop()

    reached = Counter(destination for _at, destination, _status in made(site.sandbox))
    assert reached == {number: allowed for number, (_ages, allowed) in HISTORY.items()}
    assert states == {
        "sent": sum(allowed for _ages, allowed in HISTORY.values()),
        "skipped": 8 * len(HISTORY) - 6 * len(HISTORY) // 4,
    }, states
