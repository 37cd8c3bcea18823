"""A schedule's runs: created by the tick once per date, as ordinary broadcasts, counted at the sandbox."""

from datetime import date, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from audiences import stop_list
from audiences.consent import withdraw_consent
from calls.models import Broadcast, Call
from calls.sending import send_queued_calls
from schedules import runs, steering
from schedules.models import RunState, ScheduleRun, ScheduleState
from schedules.recipients import members_of
from tests.factories import make_staff
from tests.factories_calls import rung
from tests.schedules.conftest import NUMBERS, hours_ago, make_list, make_schedule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dummy_tasks")]


def states(schedule):
    return dict(ScheduleRun.objects.filter(schedule=schedule).values_list("run_date", "state"))


def test_a_due_run_becomes_one_broadcast_and_a_second_tick_makes_nothing(voice_message, club, sandbox):
    moment, at = hours_ago(0.1)
    owner = make_staff("anna")
    schedule = make_schedule(voice_message, [club], since=moment - timedelta(minutes=1), time=at, created_by=owner)

    assert runs.tick() == {"created": 1, "skipped": 0, "refused": 0}
    assert runs.tick() == {"created": 0, "skipped": 0, "refused": 0}
    assert runs.create_run(schedule.pk, moment.date(), moment) is None  # the date's run exists: nothing twice

    run = ScheduleRun.objects.get(schedule=schedule)
    broadcast = run.broadcast
    assert run.state == RunState.CREATED and broadcast.purpose == "reminder" and broadcast.basis == "consent"
    assert broadcast.created_by == owner  # audited in the name of who set the schedule
    assert LogEntry.objects.filter(object_id=str(broadcast.pk), user=owner).exists()
    send_queued_calls(broadcast.pk)
    assert rung(sandbox) == {number: 1 for number in NUMBERS}
    schedule.refresh_from_db()
    assert schedule.next_run_at > timezone.now()  # tomorrow's


def test_only_members_with_consent_for_the_purpose_and_off_the_stop_list_are_called(voice_message, club, sandbox):
    contacts = {c.number: c for c in club.contacts.all()}
    withdraw_consent(contacts[NUMBERS[0]].consents.get(), channel="letter")
    stop_list.add([NUMBERS[1]])
    make_list("Other purpose", ["79991234509"], purpose="information")
    other = club.__class__.objects.get(name="Other purpose")
    moment, at = hours_ago(0.1)
    schedule = make_schedule(voice_message, [club, other], since=moment - timedelta(minutes=1), time=at)

    assert [number for number, _pk in members_of(schedule)] == [NUMBERS[2]]
    runs.tick()
    broadcast = ScheduleRun.objects.get().broadcast
    send_queued_calls(broadcast.pk)
    assert rung(sandbox) == {NUMBERS[2]: 1}
    # Each call remembers its contact, and the broadcast its lists, as one sent by hand.
    assert list(broadcast.calls.values_list("contact__number", flat=True)) == [NUMBERS[2]]
    assert {item["name"] for item in broadcast.audiences["lists"]} == {club.name, "Other purpose"}


@pytest.mark.parametrize("missed", ["late", "skip"])
def test_runs_missed_while_down_are_created_late_or_skipped_never_twice(voice_message, club, sandbox, missed):
    moment, at = hours_ago(2)  # every run, the latest included, is more than 15 minutes late
    since = moment - timedelta(days=3, minutes=1)
    schedule = make_schedule(voice_message, [club], since=since, time=at, missed=missed)

    runs.tick()
    runs.tick()
    found = states(schedule)
    days = [moment.date() - timedelta(days=n) for n in (3, 2, 1, 0)]
    assert sorted(found) == days
    latest = RunState.CREATED if missed == "late" else RunState.SKIPPED
    assert [found[day] for day in days] == [RunState.SKIPPED] * 3 + [latest]
    assert Broadcast.objects.count() == (1 if missed == "late" else 0)  # never several at once to catch up
    for broadcast in Broadcast.objects.all():
        send_queued_calls(broadcast.pk)
    assert rung(sandbox) == ({number: 1 for number in NUMBERS} if missed == "late" else {})


def test_pause_resume_and_end(voice_message, club):
    moment, at = hours_ago(0.1)
    schedule = make_schedule(voice_message, [club], since=moment - timedelta(days=1, minutes=1), time=at)
    operator = make_staff("olga")
    assert steering.pause(schedule, operator) and not steering.pause(schedule, operator)
    assert runs.tick()["created"] == 0  # due, but paused: nothing

    assert steering.resume(schedule, operator)
    runs.tick()
    assert ScheduleRun.objects.count() == 0  # dates that fell while paused never exist
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.ACTIVE and schedule.next_run_at > timezone.now()
    assert runs.tick(now=schedule.next_run_at)["created"] == 1  # the next one does

    assert steering.end(schedule, operator) and not steering.resume(schedule, operator)
    assert runs.tick(now=timezone.now() + timedelta(days=5))["created"] == 0
    assert runs.upcoming(schedule) == []


def test_a_run_limit_ends_the_schedule_after_that_many_broadcasts(voice_message, club):
    moment, at = hours_ago(0.1)
    schedule = make_schedule(voice_message, [club], since=moment - timedelta(minutes=1), time=at, run_limit=2)
    runs.tick()
    schedule.refresh_from_db()
    assert runs.runs_left(schedule) == 1 and len(runs.upcoming(schedule, limit=10)) == 1
    runs.tick(now=schedule.next_run_at)
    schedule.refresh_from_db()
    assert ScheduleRun.objects.filter(state=RunState.CREATED).count() == 2
    assert schedule.state == ScheduleState.ENDED and schedule.next_run_at is None


def test_a_change_applies_to_future_runs_only(voice_message, club, sandbox):
    from voicemessages.models import VoiceMessage

    moment, at = hours_ago(0.1)
    schedule = make_schedule(voice_message, [club], since=moment - timedelta(minutes=1), time=at)
    runs.tick()
    first = ScheduleRun.objects.get().broadcast

    other_message = VoiceMessage.objects.create(name="New text", media_id=1967)
    newcomers = make_list("Newcomers", ["79991234507"])
    schedule.voice_message, schedule.name = other_message, "Renamed"
    steering.save_schedule(schedule, [newcomers], make_staff("manager"))

    first.refresh_from_db()
    assert first.voice_message == voice_message
    assert set(first.calls.values_list("destination", flat=True)) == set(NUMBERS)
    schedule.refresh_from_db()
    runs.tick(now=schedule.next_run_at)
    second = ScheduleRun.objects.exclude(broadcast=first).get().broadcast
    assert second.voice_message == other_message and second.name.startswith("Renamed")
    assert list(second.calls.values_list("destination", flat=True)) == ["79991234507"]
    assert Call.objects.filter(broadcast=first).count() == 3


def test_a_run_that_cannot_be_sent_is_recorded_with_the_reason_once(voice_message, db):
    empty = make_list("Nobody", [])
    moment, at = hours_ago(0.1)
    schedule = make_schedule(voice_message, [empty], since=moment - timedelta(minutes=1), time=at)
    assert runs.tick()["refused"] == 1
    assert runs.tick()["refused"] == 0
    run = ScheduleRun.objects.get(schedule=schedule)
    assert run.state == RunState.REFUSED and "no valid numbers" in run.reason and run.broadcast is None


def test_a_working_days_schedule_has_no_run_on_a_holiday(voice_message, club):
    # 4 November 2025 was a public holiday; 5 November a working day.
    schedule = make_schedule(voice_message, [club], recurrence="workdays", starts_on=date(2025, 11, 1))
    schedule.active_since = timezone.datetime(2025, 11, 3, 12, tzinfo=timezone.get_fixed_timezone(0))
    schedule.save()
    later = timezone.datetime(2025, 11, 4, 23, tzinfo=timezone.get_fixed_timezone(0))
    assert runs.run_due(schedule, later) == []
    assert runs.upcoming(schedule, later)[0].date() == date(2025, 11, 5)


def test_a_schedule_that_fails_unexpectedly_does_not_stop_the_others_nor_spin(voice_message, club, monkeypatch):
    moment, at = hours_ago(0.1)
    broken = make_schedule(voice_message, [club], since=moment - timedelta(minutes=1), time=at, name="Broken")
    fine = make_schedule(voice_message, [club], since=moment - timedelta(minutes=1), time=at, name="Fine")
    real = runs.recipients_of
    monkeypatch.setattr(runs, "recipients_of", lambda s: real(s) if s.pk == fine.pk else 1 / 0)

    assert runs.tick()["created"] == 1
    broken.refresh_from_db()
    assert broken.next_run_at > timezone.now() + timedelta(minutes=4)  # looked at again later, not at once
    assert not ScheduleRun.objects.filter(schedule=broken).exists()


def test_the_command_creates_due_runs_now(voice_message, club):
    from io import StringIO

    from django.core.management import call_command

    moment, at = hours_ago(0.1)
    make_schedule(voice_message, [club], since=moment - timedelta(minutes=1), time=at)
    out = StringIO()
    call_command("tick_schedules", stdout=out)
    assert "Runs created: 1" in out.getvalue() and ScheduleRun.objects.count() == 1


def test_a_change_saved_after_a_colleague_ended_it_does_not_bring_it_back(voice_message, club):
    schedule = make_schedule(voice_message, [club])
    stale = ScheduleRun.schedule.field.related_model.objects.get(pk=schedule.pk)
    steering.end(schedule, make_staff("boss"))
    stale.name = "Renamed"
    steering.save_schedule(stale, [club], make_staff("olga"))
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.ENDED and schedule.name == "Renamed" and runs.upcoming(schedule) == []
