"""The pages of repeating broadcasts: they render (in Russian too), refuse bad input in plain words
keeping what was typed, and let each role do its share (Operators create and pause, Managers change and end)."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from exolve_portal.exolve.sandbox import SANDBOX_SOURCE_NUMBERS
from schedules import runs
from schedules.models import Schedule, ScheduleRun, ScheduleState
from tests.schedules.conftest import hours_ago, make_list, make_schedule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dummy_tasks")]


def form_data(voice_message, contact_list, **changes):
    data = {
        "name": "Weekly reminder",
        "voice_message": voice_message.pk,
        "source": SANDBOX_SOURCE_NUMBERS[0],
        "contact_lists": [contact_list.pk],
        "recurrence": "weekly",
        "weekdays": ["0", "3"],
        "time": "10:00",
        "starts_on": timezone.localdate().isoformat(),
        "missed": "late",
        "calling_hours": "09:00-21:00",
        "time_zone": "Europe/Moscow",
        "purpose": "reminder",
        "basis": "consent",
        "retries": "0",
        "retry_after_minutes": "30",
    }
    data.update(changes)
    return data


def test_an_operator_creates_and_pauses_but_may_not_change_or_end(client, operator_user, voice_message):
    club = make_list()
    client.force_login(operator_user)
    response = client.post(reverse("portal:schedule_new"), form_data(voice_message, club))
    schedule = Schedule.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("portal:schedule", args=[schedule.pk])
    assert schedule.weekdays == [0, 3] and schedule.created_by == operator_user
    assert schedule.plan["calling_hours"] == "09:00-21:00" and schedule.next_run_at is not None

    page = client.get(reverse("portal:schedule", args=[schedule.pk]))
    assert page.status_code == 200
    assert page.content.decode().count("<li>") >= 10  # the next runs, computed
    assert b'id="schedule-edit"' not in page.content and b'id="schedule-end"' not in page.content

    client.post(reverse("portal:schedule_pause", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.PAUSED
    assert client.get(reverse("portal:schedule_edit", args=[schedule.pk])).status_code == 403
    client.post(reverse("portal:schedule_end", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.PAUSED


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"weekdays": []}, "Choose the days of the week"),
        ({"until": "2020-01-01"}, "The last day is before the first day"),
        ({"purpose": "advertising"}, "advertising"),
        ({"contact_lists": []}, "Choose at least one contact list."),
        ({"recurrence": "monthly", "weekdays": []}, "Give the day of the month"),
        ({"recurrence": "daily", "until": (timezone.localdate() - timedelta(days=1)).isoformat(),
          "starts_on": "2020-01-01"}, "would never run again"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_in_plain_words_and_kept(client, operator_user, voice_message, changes, words):
    club = make_list()
    client.force_login(operator_user)
    response = client.post(reverse("portal:schedule_new"), form_data(voice_message, club, name="Клуб", **changes))
    assert response.status_code == 200 and not Schedule.objects.exists()
    text = response.content.decode()
    assert words in text
    assert 'value="Клуб"' in text  # nothing typed is lost


def test_a_manager_changes_future_runs_only_and_ends(client, manager_user, voice_message):
    club = make_list()
    moment, at = hours_ago(0.1)
    schedule = make_schedule(voice_message, [club], since=moment - timedelta(minutes=1), time=at)
    runs.tick()
    first = ScheduleRun.objects.get().broadcast
    client.force_login(manager_user)
    edit_url = reverse("portal:schedule_edit", args=[schedule.pk])
    assert client.get(edit_url).status_code == 200
    newcomers = make_list("Newcomers", ["79991234507"])
    response = client.post(edit_url, form_data(voice_message, newcomers, recurrence="daily", name="Renamed"))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.calls.count() == 3 and first.name.startswith("Weekly reminder")

    client.post(reverse("portal:schedule_end", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.ENDED and schedule.name == "Renamed"
    assert client.get(edit_url).status_code == 302  # an ended schedule is not changed


def test_the_pages_render_in_russian(client, manager_user, voice_message, settings):
    settings.LANGUAGE_CODE = "ru"
    club = make_list()
    moment, at = hours_ago(0.1)
    schedule = make_schedule(voice_message, [club], since=moment - timedelta(minutes=1), time=at,
                             recurrence="monthly", month_day=31, starts_on=date(2026, 1, 1))  # fmt: skip
    make_schedule(voice_message, [club], name="Второе", recurrence="workdays")
    runs.tick(now=timezone.now() + timedelta(days=40))
    client.force_login(manager_user)
    pages = {
        "list": reverse("portal:schedules"),
        "new": reverse("portal:schedule_new"),
        "page": reverse("portal:schedule", args=[schedule.pk]),
        "edit": reverse("portal:schedule_edit", args=[schedule.pk]),
    }
    texts = {}
    for name, url in pages.items():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
        assert response.status_code == 200, name
        texts[name] = response.content.decode()
    assert "Повторяющиеся рассылки" in texts["list"]
    assert "Следующие запуски" in texts["page"] and "Прошедшие запуски" in texts["page"]
    assert "ежемесячно" in texts["page"].lower()
    assert "Повторяется" in texts["new"] and "Дни недели" in texts["new"]
    refused = client.post(pages["new"], {"name": "x"}, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Выберите хотя бы один список контактов." in refused


def test_the_admin_lists_schedules_in_russian_and_ends_them(client, voice_message, settings):
    from exolve_portal.roles import MANAGERS
    from tests.factories import make_staff

    settings.LANGUAGE_CODE = "ru"
    schedule = make_schedule(voice_message, [make_list()])
    client.force_login(make_staff("boss", MANAGERS))
    changelist = reverse("admin:schedules_schedule_changelist")
    assert "Повторяющиеся рассылки" in client.get(changelist, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    detail = client.get(reverse("admin:schedules_schedule_change", args=[schedule.pk]), HTTP_ACCEPT_LANGUAGE="ru")
    assert detail.status_code == 200
    client.post(changelist, {"action": "end", "_selected_action": [schedule.pk]}, HTTP_ACCEPT_LANGUAGE="ru")
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.ENDED
