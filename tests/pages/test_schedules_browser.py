"""Real browser (see test_browser.py): a member of staff sets a weekly reminder to a club once, in Russian."""

import os

import pytest

from schedules.models import Schedule
from tests.pages.test_browser import browser, log_in, open_page, portal, screenshot, text  # noqa: F401 (fixtures)
from tests.schedules.conftest import make_list

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_weekly_reminder_is_set_once_in_russian(portal, open_page, sandbox):  # noqa: F811
    from voicemessages.models import VoiceMessage

    VoiceMessage.objects.create(name="Напоминание о собрании", media_id=1967)
    make_list("Клуб")
    page = open_page(locale="ru-RU")
    log_in(page, portal)
    page.goto(f"{portal}/portal/schedules/new/")
    page.wait_for_selector("html[lang=ru]")

    page.fill("#id_name", "Собрание по средам")
    page.select_option("#id_voice_message", label="Напоминание о собрании")
    page.check("#id_contact_lists input[type=checkbox]")
    page.select_option("#id_purpose", "reminder")
    page.check("input[name=basis][value=consent]")
    page.check("input[name=recurrence][value=weekly]")
    page.click(".submit-row input[type=submit]")  # no day of the week chosen: refused, nothing lost
    assert "Выберите дни недели" in text(page, "#schedule-form")
    assert page.input_value("#id_name") == "Собрание по средам"

    page.check("input[name=weekdays][value='2']")
    page.click(".submit-row input[type=submit]")
    page.wait_for_selector("#next-runs")
    assert "Следующие запуски" in text(page, "#content-main")
    assert Schedule.objects.get().weekdays == [2]
    if os.environ.get("SCHEDULE_SHOT"):
        page.screenshot(path=os.environ["SCHEDULE_SHOT"], full_page=True)
    screenshot(page, "schedule-ru")
