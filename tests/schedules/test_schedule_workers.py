"""A schedule's run with real `manage.py db_worker` processes: created once per date, each number rung once.

- Two workers tick at once (four tick tasks waiting): one run, one broadcast (SQLite file and PostgreSQL).
- A worker killed (SIGKILL) at the moment of creation (PostgreSQL): its broadcast and calls are
  written, the run row waits on a lock the test holds on the same date; the kill leaves neither
  behind, and the next worker alone (its start schedules the tick) creates the run once.
"""

import time
from collections import Counter

import pytest
from django.db import connection

from tests.calls.test_broadcast_workers import NO_REFRESH, made, shared_site, wait_for
from tests.factories_calls import postgres_only, skip_unless_postgres
from tests.schedules.conftest import NUMBERS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SETUP = """
import json
from datetime import timedelta
from schedules.models import Schedule
from tests.schedules.conftest import hours_ago, make_list, make_schedule
from schedules.tasks import tick_schedules
from voicemessages.models import VoiceMessage
moment, at = hours_ago(0.1)
vm = VoiceMessage.objects.create(name="W", media_id=1967)
schedule = make_schedule(vm, [make_list()], since=moment - timedelta(minutes=1), time=at)
for _ in range({ticks}):
    tick_schedules.enqueue()
print(json.dumps({{"pk": schedule.pk, "date": moment.date().isoformat(), "due": moment.isoformat()}}))
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=postgres_only)])
def site(request, tmp_path):
    yield from shared_site(request, tmp_path, **NO_REFRESH)


@pytest.fixture(params=[pytest.param("postgres", marks=postgres_only)])
def pg_site(request, tmp_path):
    yield from shared_site(request, tmp_path, **NO_REFRESH)


def counts(site) -> tuple[int, int]:
    (runs,) = site.rows("SELECT COUNT(*) FROM schedules_schedulerun")[0]
    (broadcasts,) = site.rows("SELECT COUNT(*) FROM calls_broadcast")[0]
    return runs, broadcasts


def all_sent(site) -> bool:
    states = site.states()
    return len(states) == len(NUMBERS) and set(states.values()) == {"sent"}


def test_two_workers_ticking_at_once_create_the_run_once(site, workers):
    site.python(SETUP.format(ticks=4))
    for _ in range(2):
        workers.start(site.env)
    wait_for(lambda: all_sent(site), 60, "the run's calls to be sent", 0.2)
    workers.stop()

    assert counts(site) == (1, 1)
    assert Counter(d for _at, d, _s in made(site.sandbox)) == {number: 1 for number in NUMBERS}


def _waiting_insert(cursor) -> list:
    cursor.execute(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
        ['INSERT INTO "schedules_schedulerun"%'],
    )
    return cursor.fetchall()


@postgres_only
def test_a_worker_killed_at_the_moment_of_creation_leaves_neither_and_the_next_creates_once(pg_site, workers):
    skip_unless_postgres()
    site = pg_site
    import psycopg

    made_at = site.python(SETUP.format(ticks=1))
    settings_dict = connection.settings_dict
    # The test holds the date's run row, uncommitted: the worker's insert of it must wait.
    holder = psycopg.connect(
        host=settings_dict.get("HOST") or "127.0.0.1", port=settings_dict.get("PORT") or 5432,
        user=settings_dict["USER"], dbname=settings_dict["NAME"], autocommit=False,
    )  # fmt: skip
    watcher = psycopg.connect(
        host=settings_dict.get("HOST") or "127.0.0.1", port=settings_dict.get("PORT") or 5432,
        user=settings_dict["USER"], dbname=settings_dict["NAME"], autocommit=True,
    )  # fmt: skip
    try:
        holder.execute(
            "INSERT INTO schedules_schedulerun (schedule_id, run_date, due_at, state, reason, created_at) "
            "VALUES (%s, %s, %s, 'skipped', '', now())",
            [made_at["pk"], made_at["date"], made_at["due"]],
        )
        first = workers.start(site.env)
        with watcher.cursor() as cursor:
            ((pid,),) = wait_for(lambda: _waiting_insert(cursor), 60, "the worker to be inserting the run")
            # Its transaction has written the broadcast and its calls already (row locks held on both tables).
            cursor.execute(
                "SELECT DISTINCT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = %s AND l.mode = 'RowExclusiveLock'",
                [pid],
            )
            assert {"calls_broadcast", "calls_call"} <= {name for (name,) in cursor.fetchall()}
        first.kill()  # SIGKILL, its broadcast and calls written, not committed
        first.wait(timeout=10)
        holder.rollback()
        with watcher.cursor() as cursor:
            wait_for(lambda: not _waiting_insert(cursor), 30, "the killed worker's transaction to end")
        time.sleep(0.5)
    finally:
        holder.close()
        watcher.close()
    assert counts(site) == (0, 0)  # neither the run nor its broadcast
    assert site.sandbox.count("call/v1/MakeVoiceMessage") == 0

    workers.start(site.env)  # nothing else: its start schedules the tick
    wait_for(lambda: all_sent(site), 60, "the run's calls to be sent", 0.2)
    workers.stop()
    assert counts(site) == (1, 1)
    assert Counter(d for _at, d, _s in made(site.sandbox)) == {number: 1 for number in NUMBERS}
