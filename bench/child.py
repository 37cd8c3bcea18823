"""The Django side of a measurement, run in a fresh process by run_all.py.

    child.py command <name> [args...]   time call_command(name, *args) in this process
    child.py pages <runs> <broadcast pk>  SQL queries and median time of the staff pages
    child.py export csv|xlsx             stream the calls export; wall time and peak RSS
    child.py record <count> <first>      preview (the send form) and record a broadcast of <count> numbers
    child.py claims <ready> <waiting> <claims>  time claim_calls with and without waiting calls
    child.py windows <ready> <claims>   time claim_calls: one window, windows by day type, a debt reminder
    child.py stoplist_fill <count> <known,...>  bulk-create <count> stop-list numbers 7926xxxxxxx plus <known>
    child.py preview <count> <first> <runs>     time SendForm.is_valid() on <count> pasted numbers

Prints one JSON line (the last line of output). The environment (DATABASE_URL, the
sandbox URL, ...) is set by the harness.
"""

from __future__ import annotations

import io
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def maxrss_mb() -> float:
    """Peak RSS of this process, in MB.

    `getrusage(RUSAGE_SELF).ru_maxrss` is not enough on its own: Linux carries the
    high-water mark of the forked parent across exec, so a child of a large process
    reports the parent's peak. VmHWM in /proc/self/status is this address space's own
    peak; the smaller of the two is the child's real peak.
    """
    rusage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return min(rusage, int(line.split()[1]) / 1024)
    except OSError:
        pass
    return rusage


def setup():
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def run_command(name: str, *args: str) -> dict:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    ok, error = True, ""
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except (CommandError, SystemExit) as exc:
        ok, error = False, str(exc)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "ok": ok,
        "error": error,
        "stdout": out.getvalue()[-1000:],
        "stderr": err.getvalue()[-1000:],
    }


PAGES = [
    ("admin calls list", "admin:calls_call_changelist", ()),
    ("calls table page", "portal:calls", ()),
    ("broadcast page", "portal:broadcast", ("broadcast",)),
    ("dashboard", "portal:dashboard", ()),
]


def measure_pages(runs: int, broadcast_pk: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    results = []
    for label, name, needs in PAGES:
        entry = {"page": label}
        try:
            url = reverse(name, args=[broadcast_pk] if needs else [])
        except NoReverseMatch:
            entry["error"] = f"no URL named {name}"
            results.append(entry)
            continue
        entry["url"] = url
        times, counts = [], []
        try:
            for attempt in range(runs + 2):  # two warm-ups
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    if response.streaming:
                        b"".join(response.streaming_content)
                    elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}")
                if attempt >= 2:
                    times.append(elapsed)
                    counts.append(len(queries))
        except Exception as exc:  # noqa: BLE001 - report it as the page's result
            entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            entry["queries"] = max(counts)
            entry["queries_min"] = min(counts)
            entry["median_ms"] = statistics.median(times) * 1000
            entry["min_ms"] = min(times) * 1000
        results.append(entry)
    return {"pages": results}


def measure_export(fmt: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    user, _created = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    url = reverse(f"portal:calls_export_{fmt}")
    baseline = maxrss_mb()  # Django imported, nothing exported yet
    started = time.perf_counter()
    response = client.get(url)
    size = lines = 0
    if response.streaming:
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
    else:
        size = len(response.content)
    seconds = time.perf_counter() - started
    response.close()
    return {
        "status": response.status_code,
        "seconds": seconds,
        "bytes": size,
        "lines": lines,
        "baseline_mb": baseline,
        "peak_mb": maxrss_mb(),
    }


def typed(index: int) -> str:
    """The 7916... number `index`, written the way people type numbers (three forms in turn)."""
    digits = f"{index % 10**7:07d}"
    form = index % 3
    if form == 0:
        return f"+7 (916) {digits[:3]}-{digits[3:5]}-{digits[5:]}"
    if form == 1:
        return f"8 916 {digits}"
    return f"7916{digits}"


def send_form_data(count: int, first: int) -> tuple:
    """The bench user and the send form's data: `count` numbers pasted, typed three ways."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from calls.recording import new_token
    from voicemessages.models import VoiceMessage

    user, _created = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    message = VoiceMessage.objects.filter(missing_since__isnull=True).order_by("pk").first()
    return user, {
        "voice_message": message.pk,
        "source": settings.EXOLVE_SOURCE_NUMBERS[0],
        "token": new_token(),
        "numbers": "\n".join(typed(index) for index in range(first, first + count)),
        "calling_hours": "any",
        "time_zone": settings.TIME_ZONE,
    }


def measure_record(count: int, first: int) -> dict:
    """The send page's two steps without HTTP: preview (SendForm: parse and validate, then the
    draft), and the confirmation (ConfirmSendForm.save: create_broadcast, sending enqueued on commit)."""
    from django.db import connection, reset_queries

    from calls.forms import ConfirmSendForm, SendForm
    from calls.models import Broadcast

    user, data = send_form_data(count, first)
    started = time.perf_counter()
    form = SendForm(data, user=user)
    valid = form.is_valid()
    parsed = time.perf_counter()
    if not valid:
        return {"error": f"the send form refused the list: {form.errors.as_text()[:300]}"}
    draft = form.save_draft(user)
    drafted = time.perf_counter()
    reset_queries()
    confirm = ConfirmSendForm(
        {"voice_message": data["voice_message"], "source": draft.source, "token": draft.token, "_confirm": "1"},
        user=user,
    )
    if not confirm.is_valid():
        return {"error": f"the confirmation refused: {confirm.errors.as_text()[:300]}"}
    broadcast = confirm.save()
    recorded = time.perf_counter()
    enqueued_at = time.time()  # create_broadcast returned: committed, send tasks enqueued
    if broadcast is None:
        return {"error": f"not recorded: {confirm.errors.as_text()[:300]}"}
    return {
        "broadcast": broadcast.pk,
        "calls": Broadcast.objects.get(pk=broadcast.pk).calls.count(),
        "valid": len(form.preview.valid),
        "invalid": len(form.preview.invalid),
        "parse_seconds": parsed - started,
        "draft_seconds": drafted - parsed,
        "record_seconds": recorded - drafted,
        "record_queries": len(connection.queries),
        "enqueued_at": enqueued_at,
    }


def measure_claims(ready: int, waiting: int, claims: int, limit: int = 30) -> dict:
    """Time `claim_calls` (inside transaction.atomic, as the worker's turn) on two broadcasts,
    A and B, each with `ready` calls whose time has come; then give B `waiting` more calls
    queued for later (not_before 12 hours ahead: outside calling hours) and time again.
    Claims alternate A, B, A, B... so drift on the machine affects both alike."""
    import statistics as stats
    import uuid
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from calls.claims import claim_calls
    from calls.lifecycle import BroadcastState
    from calls.models import Broadcast, Call, CallState
    from voicemessages.models import VoiceMessage

    message = VoiceMessage.objects.filter(missing_since__isnull=True).order_by("pk").first()
    now = timezone.now()
    postgres = connection.vendor == "postgresql"

    def calls(broadcast, count, not_before, offset):
        Call.objects.bulk_create(
            (
                Call(
                    broadcast=broadcast,
                    voice_message=message,
                    service_id=message.exolve_id,
                    source="74951234567",
                    destination=f"7917{(offset + index) % 10**7:07d}",
                    not_before=not_before,
                )  # fmt: skip
                for index in range(count)
            ),
            batch_size=5000,
        )

    def maintain():
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE calls_call" if postgres else "ANALYZE")

    broadcasts = []
    for label in ("a", "b"):
        broadcast = Broadcast.objects.create(
            voice_message=message, voice_message_name=message.name, service_id=message.exolve_id,
            source="74951234567", token=f"claims-{label}-{uuid.uuid4().hex}", state=BroadcastState.SENDING,
            calling_hours="", time_zone="Europe/Moscow",
        )  # fmt: skip
        calls(broadcast, ready, now - timedelta(minutes=1), len(broadcasts) * ready)
        broadcasts.append(broadcast.pk)
    maintain()

    def phase():
        times = {pk: [] for pk in broadcasts}
        got = {pk: 0 for pk in broadcasts}
        for _round in range(claims):
            for pk in broadcasts:
                started = time.perf_counter()
                with transaction.atomic():
                    claim = claim_calls(pk, limit, "bench-claims")
                times[pk].append(time.perf_counter() - started)
                got[pk] += len(claim.calls)
        return {
            label: {
                "median_ms": stats.median(times[pk]) * 1000,
                "mean_ms": stats.mean(times[pk]) * 1000,
                "claimed": got[pk],
            }
            for label, pk in zip(("a", "b"), broadcasts, strict=True)
        }

    phase()  # warm-up: connections, imports, caches (its claims are not counted)
    maintain()
    without = phase()
    seeded_at = time.perf_counter()
    calls(Broadcast.objects.get(pk=broadcasts[1]), waiting, now + timedelta(hours=12), 10**6)
    seed_seconds = time.perf_counter() - seeded_at
    maintain()
    with_waiting = phase()
    plan = ""
    with transaction.atomic():
        queryset = Call.objects.filter(
            broadcast_id=broadcasts[1], state=CallState.QUEUED, not_before__lte=timezone.now()
        )
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        queryset = queryset.order_by("not_before").values_list(  # as claims._claim_batch
            "pk", "source", "destination", "time_zone", "voice_message_id", "voice_message__exolve_id",
            "voice_message__missing_since",
        )[:limit]  # fmt: skip
        try:
            plan = queryset.explain(**({"analyze": True} if postgres else {}))
        except Exception as exc:  # noqa: BLE001 - report it instead
            plan = f"EXPLAIN failed: {type(exc).__name__}: {exc}"
        transaction.set_rollback(True)
    waiting_now = Call.objects.filter(
        broadcast_id=broadcasts[1], state=CallState.QUEUED, not_before__gt=timezone.now()
    ).count()
    return {
        "vendor": connection.vendor,
        "ready": ready,
        "waiting": waiting_now,
        "claims": claims,
        "limit": limit,
        "without": without,
        "with": with_waiting,
        "seed_seconds": seed_seconds,
        "plan": plan,
    }


def measure_windows(ready: int, claims: int, limit: int = 30) -> dict:
    """Time `claim_calls` (in transaction.atomic) on three broadcasts, claims alternating:

    plain: one window for every day, the per-number day and week limits (the claim as it
    was before windows by day type); windows: a window for working days and one for days
    of rest, and the monthly limit too; debt: a debt reminder (the law's windows, its
    2/4/16 counted over debt reminders, numbers held) with the same limits. Every number
    has two earlier calls (3 and 20 days ago, of a debt reminder), so the counts read rows.
    The broadcasts' zone is one where it is about 13:00 now: inside every window.
    """
    import statistics as stats
    import uuid
    from datetime import UTC, timedelta

    from django.db import connection, transaction
    from django.test import override_settings
    from django.utils import timezone

    from calls.claims import claim_calls
    from calls.lifecycle import BroadcastState
    from calls.models import Broadcast, Call, CallState, Purpose
    from voicemessages.models import VoiceMessage

    message = VoiceMessage.objects.filter(missing_since__isnull=True).order_by("pk").first()
    now = timezone.now()
    offset = 13 - now.astimezone(UTC).hour
    offset = offset + 24 if offset < -12 else offset - 24 if offset > 14 else offset
    zone = f"Etc/GMT{-offset:+d}"
    kinds = {
        "plain": ({"calling_hours": "09:00-20:00"}, {"EXOLVE_MAX_CALLS_PER_NUMBER_MONTH": 0}),
        "windows": ({"calling_hours": "09:00-20:00", "calling_hours_rest": "10:00-19:00"}, {}),
        "debt": ({"calling_hours": "08:00-22:00", "calling_hours_rest": "09:00-20:00", "purpose": "debt_reminder"}, {}),
    }
    limits = {"EXOLVE_MAX_CALLS_PER_NUMBER_DAY": 5, "EXOLVE_MAX_CALLS_PER_NUMBER_WEEK": 10,
              "EXOLVE_MAX_CALLS_PER_NUMBER_MONTH": 30}  # fmt: skip

    def broadcast(label, purpose=Purpose.INFORMATION, **fields):
        return Broadcast.objects.create(
            voice_message=message, voice_message_name=message.name, service_id=message.exolve_id,
            source="74951234567", token=f"windows-{label}-{uuid.uuid4().hex}", state=BroadcastState.SENDING,
            time_zone=zone, purpose=purpose, **fields,
        )  # fmt: skip

    def call(owner, number, **fields):
        return Call(broadcast=owner, voice_message=message, service_id=message.exolve_id, source="74951234567",
                    destination=number, **fields)  # fmt: skip

    history = broadcast("history", Purpose.DEBT_REMINDER)
    pks = {}
    for index, (label, (fields, _settings)) in enumerate(kinds.items()):
        owner = broadcast(label, **fields)
        numbers = [f"7918{index}{n:06d}" for n in range(ready)]
        rows = [call(owner, number, not_before=now - timedelta(minutes=1)) for number in numbers]
        rows += [
            call(history, number, state=CallState.FINISHED, claimed_at=now - timedelta(days=days))
            for number in numbers
            for days in (3, 20)
        ]
        Call.objects.bulk_create(rows, batch_size=5000)
        pks[label] = owner.pk
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE calls_call" if connection.vendor == "postgresql" else "ANALYZE")

    def phase():
        times = {label: [] for label in kinds}
        got = dict.fromkeys(kinds, 0)
        for _round in range(claims):
            for label, (_fields, overrides) in kinds.items():
                with override_settings(**{**limits, **overrides}):
                    started = time.perf_counter()
                    with transaction.atomic():
                        claim = claim_calls(pks[label], limit, "bench-windows")
                    times[label].append(time.perf_counter() - started)
                got[label] += len(claim.calls)
        return {
            label: {
                "median_ms": stats.median(times[label]) * 1000,
                "mean_ms": stats.mean(times[label]) * 1000,
                "claimed": got[label],
            }  # fmt: skip
            for label in kinds
        }

    phase()  # warm-up: connections, imports, the calendar's cache (not counted)
    measured = phase()
    return {"vendor": connection.vendor, "zone": zone, "claims": claims, "limit": limit, "result": measured}


def fill_stop_list(count: int, known: list[str]) -> dict:
    """Bulk-create `count` stop-list numbers 7926xxxxxxx (never pasted by the bench: it pastes
    7916...) and the `known` numbers (some of the pasted ones); one INSERT ... SELECT from
    generate_series on PostgreSQL (server-side, no rows through Python), bulk_create in
    batches of 10,000 elsewhere. Then ANALYZE, as autovacuum would after a bulk load."""
    from django.db import connection, transaction
    from django.utils import timezone

    from audiences.models import StopListEntry, StopListReason

    table = StopListEntry._meta.db_table
    started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (number, reason, note, added_at) "
                    "SELECT '7926' || lpad(g::text, 7, '0'), %s, '', now() FROM generate_series(0, %s) AS g",
                    [StopListReason.ASKED, count - 1],
                )
        else:
            now = timezone.now()

            def rows():
                for index in range(count):
                    yield StopListEntry(number=f"7926{index:07d}", reason=StopListReason.ASKED, added_at=now)

            batch = []
            for entry in rows():
                batch.append(entry)
                if len(batch) == 10_000:
                    StopListEntry.objects.bulk_create(batch)
                    batch = []
            StopListEntry.objects.bulk_create(batch)
        StopListEntry.objects.bulk_create(
            [StopListEntry(number=number, reason=StopListReason.ASKED) for number in known]
        )
    inserted = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "entries": StopListEntry.objects.count(),
        "insert_seconds": inserted - started,
        "analyze_seconds": time.perf_counter() - inserted,
    }


def measure_preview(count: int, first: int, runs: int) -> dict:
    """SendForm(...).is_valid() on `count` pasted numbers (the preview: parse, normalise, the
    stop-list and limit queries, zones), as the `big` row; one warm-up, then `runs` timed.
    Also the stop-list lookup alone (stop_list.blocked over the valid numbers) and the
    plan of one of its chunk queries (EXPLAIN ANALYZE on PostgreSQL)."""
    from django.db import connection, reset_queries

    from audiences import stop_list
    from audiences.models import StopListEntry
    from calls.forms import SendForm

    user, data = send_form_data(count, first)
    times, blocked_times, form, queries = [], [], None, 0
    for attempt in range(runs + 1):
        form = SendForm(data, user=user)
        reset_queries()
        started = time.perf_counter()
        valid = form.is_valid()
        elapsed = time.perf_counter() - started
        if not valid:
            return {"error": f"the send form refused the list: {form.errors.as_text()[:300]}"}
        queries = len(connection.queries)
        started = time.perf_counter()
        stop_list.blocked(form.preview.valid)
        blocked_elapsed = time.perf_counter() - started
        if attempt:
            times.append(elapsed)
            blocked_times.append(blocked_elapsed)
    chunk = list(form.preview.valid)[: stop_list._CHUNK]
    query = StopListEntry.objects.filter(number__in=chunk).values_list("number", flat=True)
    try:
        plan = query.explain(**({"analyze": True} if connection.vendor == "postgresql" else {}))
    except Exception as exc:  # noqa: BLE001 - report it instead
        plan = f"EXPLAIN failed: {type(exc).__name__}: {exc}"
    claim_chunk = chunk[:30]  # about a claim batch (a worker claims slots + reserve at most per turn)
    claim_plan = ""
    if connection.vendor == "postgresql":
        claim_plan = StopListEntry.objects.filter(number__in=claim_chunk).values_list("number").explain(analyze=True)
    return {
        "entries": StopListEntry.objects.count(),
        "valid": len(form.preview.valid),
        "stop_listed": len(form.stop_listed or ()),
        "median_s": statistics.median(times),
        "min_s": min(times),
        "runs": times,
        "blocked_median_s": statistics.median(blocked_times),
        "queries": queries,
        "plan": plan,
        "claim_plan": claim_plan,
    }


def main(argv: list[str]) -> None:
    setup()
    kind, args = argv[0], argv[1:]
    if kind == "command":
        result = run_command(*args)
    elif kind == "pages":
        result = measure_pages(int(args[0]), int(args[1]))
    elif kind == "export":
        result = measure_export(args[0])
    elif kind == "record":
        result = measure_record(int(args[0]), int(args[1]))
    elif kind == "claims":
        result = measure_claims(int(args[0]), int(args[1]), int(args[2]))
    elif kind == "windows":
        result = measure_windows(int(args[0]), int(args[1]))
    elif kind == "stoplist_fill":
        result = fill_stop_list(int(args[0]), [n for n in (args[1] if len(args) > 1 else "").split(",") if n])
    elif kind == "preview":
        result = measure_preview(int(args[0]), int(args[1]), int(args[2]))
    else:
        raise SystemExit(f"unknown child task {kind!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
