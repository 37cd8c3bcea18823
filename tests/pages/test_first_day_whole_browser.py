"""The whole first day in Chromium, in Russian (issue 21), click by click.

The administrator invites an Operator; she sets her password from the e-mail's link and
logs in; she sends a voice message to her office's XLSX (a title row above the header
"ФИО | Моб. телефон"), checks the preview (the column and rows read, the names), confirms;
follows the broadcast and stops it; exports its calls from the calls table to XLSX and
finds her people's names in the file.

Deterministic without any thread timing: the send task runs within the confirming request
(the immediate task backend), and a pace of one call a minute lets it make only the first
call, so the other four are still queued when she presses Stop.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from openpyxl import Workbook, load_workbook

from calls.models import Broadcast, Call, CallState
from exolve_portal.role_names import OPERATORS
from exolve_portal.roles import setup_roles
from tests.factories_calls import IMMEDIATE_TASKS, MAKE, SOURCE
from tests.pages.test_browser import PASSWORD, browser, log_in, open_page, screenshot, text  # noqa: F401  (fixtures)
from voicemessages.models import VoiceMessage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TITLE = "Список клиентов"
# As the office wrote them; the sandbox completes numbers ending in 1-5 (none of 6/7/8).
PEOPLE = [
    ("Иванова Анна Петровна", "8 (916) 123-00-11"),
    ("Петров Пётр Ильич", "+7 916 123-00-12"),
    ("Сидорова Мария", "89161230013"),
    ("Кузнецов Олег", "+7 (916) 123-00-14"),
    ("Смирнова Елена", "8 916 123 00 15"),
]
NAMES = {name for name, _number in PEOPLE}


@pytest.fixture
def russian_portal(live_server, transactional_db, sandbox, settings):
    """The live portal in Russian, the send task run within the confirming request."""
    settings.TASKS = IMMEDIATE_TASKS
    settings.LANGUAGE_CODE = "ru"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EXOLVE_MAX_RPS = 0
    setup_roles()  # a transactional test starts from an empty database: the groups again
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    return live_server.url


def office_workbook(path: Path) -> Path:
    """An office's client list: a title row above the header, then the people."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([TITLE])
    sheet.append(["ФИО", "Моб. телефон"])
    for person in PEOPLE:
        sheet.append(list(person))
    workbook.save(path)
    return path


def test_the_first_day_of_an_invited_operator_in_russian(russian_portal, open_page, sandbox, tmp_path):  # noqa: F811
    base = russian_portal
    message = VoiceMessage.objects.create(name="Напоминание о приёме", media_id=1967)

    # 1. The administrator invites Анна as an Operator from the admin's index.
    admin = open_page(locale="ru-RU")
    log_in(admin, base)
    assert admin.get_attribute("html", "lang") == "ru"
    admin.click("#index-invite-colleague")
    admin.fill("#id_name", "Анна Петрова")
    admin.fill("#id_email", "anna@example.com")
    admin.check(f"input[name=role][value={OPERATORS}]")
    admin.click("#invite-form input[type=submit]")
    assert "anna@example.com" in text(admin, ".messagelist .success")
    assert "Приглашение отправлено" in text(admin, ".messagelist")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["anna@example.com"]
    link = re.search(r"http://\S+/admin/reset/\S+/", mail.outbox[0].body).group(0)

    # She opens the link in her own browser, sets a password and logs in with her address.
    anna = open_page(locale="ru-RU")
    anna.goto(link)
    anna.fill("#id_new_password1", PASSWORD)
    anna.fill("#id_new_password2", PASSWORD)
    anna.click("input[type=submit]")
    anna.click("#content a[href*='/admin/']")  # "Войти" on the page saying the password is set
    anna.fill("#id_username", "anna@example.com")
    anna.fill("#id_password", PASSWORD)
    anna.click("input[type=submit]")
    anna.wait_for_selector("#user-tools")
    assert anna.get_attribute("html", "lang") == "ru"
    assert User.objects.get(username="anna@example.com").groups.filter(name=OPERATORS).exists()

    # 2. She opens the send page and uploads her file; the preview says what it read.
    anna.click("#index-portal-send")
    anna.wait_for_selector("#send-form")
    anna.select_option("#id_voice_message", str(message.pk))
    anna.select_option("#id_source", SOURCE)
    anna.set_input_files("#id_file", str(office_workbook(tmp_path / "Клиенты декабрь.xlsx")))
    anna.fill("#id_pace_per_minute", "1")  # the first call now, the next one a minute later
    anna.check("#id_basis_1")  # why they may be called: their contract
    anna.click("#preview-send")
    anna.wait_for_selector("#send-preview")
    column = text(anna, "#column-read")
    assert "Моб. телефон" in column and "(B)" in column and "3–7" in column
    assert anna.is_visible("#title-rows-skipped")
    assert re.findall(r"\d+", text(anna, "#count-valid")) == ["5"]
    anna.click("#valid-numbers summary")
    shown = anna.locator("#valid-numbers .number-to-call")
    assert shown.count() == 5
    assert set(anna.locator("#valid-numbers .person-name").all_inner_texts()) == NAMES
    assert "+7 916 123-00-12" in text(anna, "#valid-numbers")  # as people write numbers
    screenshot(anna, "first-day-preview-ru")

    # Confirm: the broadcast page opens; the first call was made, the pace holds the others.
    anna.click("#confirm-send")
    anna.wait_for_selector("#broadcast-overview")
    broadcast = Broadcast.objects.get()
    assert anna.url.endswith(f"/portal/broadcasts/{broadcast.pk}/")
    assert text(anna, "#broadcast-total") == "5"
    assert anna.get_attribute("#broadcast-state", "data-state") == "sending"
    assert "stop" in anna.get_attribute("#broadcast-state", "data-actions").split()
    calls_shown = text(anna, "#broadcast-calls")
    assert all(name in calls_shown for name in NAMES)
    assert len(sandbox.requests_log(MAKE)) == 1

    # 3. Stop: the confirmation says what it will do; the page shows the stopped state.
    assert anna.is_visible("#steer-stop")
    anna.click("#steer-stop")
    assert re.findall(r"\d+", text(anna, "#steer-consequence")) == ["4"]
    anna.click("#steer-confirm")
    anna.wait_for_selector("#broadcast-state[data-state=stopped]")
    assert anna.locator("#steer-actions").count() == 0
    not_made = text(anna, "#broadcast-not-made")
    assert re.findall(r"\d+", not_made) == ["4"] and "не сделан" in not_made
    assert anna.is_visible("#progress-not-made")
    states = sorted(Call.objects.filter(broadcast=broadcast).values_list("state", flat=True))
    assert states == [CallState.CANCELED] * 4 + [CallState.SENT]

    # The one call made gets its outcome: every call made has one, the rest will not be made.
    sandbox.advance(60)
    anna.click("#refresh-statistics")
    anna.wait_for_selector("#broadcast-done-note")
    assert anna.get_attribute("#broadcast-progress", "aria-valuenow") == "1"
    assert len(sandbox.requests_log(MAKE)) == 1
    screenshot(anna, "first-day-stopped-ru")

    # 4. The calls table of this broadcast, exported to XLSX through the browser's download.
    anna.click("#broadcast-calls-link")
    anna.wait_for_selector("#calls-results")
    assert anna.locator("table tbody tr[id^=call-]").count() == 5
    with anna.expect_download() as download_info:
        anna.click("#export-xlsx")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).active.values)
    cells = {str(cell) for row in rows[1:] for cell in row if cell is not None}
    assert NAMES <= cells
    assert len(rows) == 1 + 5  # the header and one row per call
