"""Real-browser tests: Debian's Chromium driven by Playwright against a live server.

What a member of staff does, click by click: log in, create a voice message, send it
to three numbers (one invalid, shown as such), watch the broadcast reach its outcomes,
export the calls to CSV, switch the language to Russian and back; and an operator who
cannot delete a voice message.

Chromium is Debian's /usr/bin/chromium (never a downloaded browser). Without it the
tests are skipped with the reason, except on CI (CI set), where they fail: `.ci/run`
installs it. With SAVE_SCREENSHOTS=1 the tests also save the main pages to
docs/screenshots/ (for the README); otherwise nothing under docs/ is touched.
"""

import csv
import importlib.util
import io
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from calls.models import Broadcast, Call, CallState
from exolve_portal.exolve.sandbox import SANDBOX_SOURCE_NUMBERS
from exolve_portal.roles import MANAGERS, OPERATORS
from tests.factories import make_staff
from tests.pages_helpers import bulk_calls, make_broadcast
from voicemessages.models import VoiceMessage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "docs" / "screenshots"
SOURCE = SANDBOX_SOURCE_NUMBERS[0]
PASSWORD = "a long browser test password"
TIMEOUT_MS = 15_000


def require_chromium(path: str = CHROMIUM) -> None:
    """Skip (locally) or fail (on CI) when the browser tests cannot run here, saying why."""
    problem = None
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        problem = f"Debian's Chromium is not installed at {path} (apt-get install chromium; .ci/run does)"
    elif importlib.util.find_spec("playwright") is None:
        problem = "the playwright package is not installed (make test installs requirements-dev.txt)"
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{problem}: CI must run the browser tests.", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="module")
def browser():
    require_chromium(CHROMIUM)
    from playwright.sync_api import sync_playwright

    # The sync Playwright API runs an event loop in this thread; the test's own ORM
    # calls (seeding data, checking results) are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def portal(live_server, transactional_db, sandbox, settings):
    """The live portal on the in-process sandbox, sending within the request, in English by default."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.LANGUAGE_CODE = "en"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EXOLVE_MAX_RPS = 0
    User.objects.create_superuser("admin", "", PASSWORD)
    return live_server.url


@pytest.fixture
def open_page(browser):
    """open_page(locale="en-US") -> a fresh browser tab (own cookies) in that browser language."""
    contexts = []

    def open_page(locale="en-US"):
        context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 900}, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, base, username="admin", password=PASSWORD):
    page.goto(f"{base}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def screenshot(page, name, *, full_page=True):
    """Save docs/screenshots/<name>.png, only when SAVE_SCREENSHOTS=1 (CI never rewrites tracked files)."""
    if os.environ.get("SAVE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, animations="disabled")


def text(page, selector) -> str:
    return " ".join(page.inner_text(selector).split())


# --- The whole flow -----------------------------------------------------------------------------


def test_staff_member_creates_sends_follows_and_exports(portal, open_page, sandbox):
    page = open_page()
    log_in(page, portal)

    # Create a voice message in the admin, with the sandbox's known media id.
    page.goto(f"{portal}/admin/voicemessages/voicemessage/add/")
    page.fill("#id_name", "Delivery reminder")
    page.fill("#id_media_id", "1967")
    page.click("input[name=_save]")
    assert "was added." in text(page, ".messagelist")
    assert "Delivery reminder" in text(page, "#result_list")
    message = VoiceMessage.objects.get(name="Delivery reminder")
    assert message.exolve_id
    screenshot(page, "voice-messages")

    # Send it to three numbers, one of them invalid: the preview says which and why.
    page.goto(f"{portal}/portal/send/")
    page.select_option("#id_voice_message", str(message.pk))
    page.select_option("#id_source", SOURCE)
    page.fill("#id_numbers", "79991234561\n+7 999 123-45-67\n12345")
    page.check("#id_basis_1")  # why they may be called: a contract
    page.click("#preview-send")
    page.wait_for_selector("#send-preview")
    assert "2 numbers will be called" in text(page, "#count-valid")
    assert "1 invalid number" in text(page, "#count-invalid")
    invalid_row = text(page, "#invalid-numbers tbody tr")
    assert "12345" in invalid_row and "Too few digits for a phone number." in invalid_row
    screenshot(page, "send-preview")

    # Confirm: the broadcast page opens; the calls were sent in the request (ImmediateBackend).
    page.click("#confirm-send")
    page.wait_for_selector("#broadcast-overview")
    broadcast = Broadcast.objects.get()
    assert page.url.endswith(f"/portal/broadcasts/{broadcast.pk}/")
    assert text(page, "#broadcast-total") == "2"
    assert "12345" in text(page, "#skipped-invalid")
    assert set(Call.objects.values_list("state", flat=True)) == {CallState.SENT}
    assert page.is_visible("#auto-refresh-note")  # waiting for outcomes: the page refreshes itself

    # A minute later at Exolve the calls are over; "Refresh statistics now" shows the outcomes.
    sandbox.advance(60)
    page.click("#refresh-statistics")
    page.wait_for_selector("#broadcast-done-note")
    assert text(page, "#outcome-count-completed") == "1"  # 79991234561: last digit 1
    assert text(page, "#outcome-count-busy") == "1"  # 79991234567: last digit 7
    assert "2 of 2 calls have an outcome" in text(page, "#broadcast-progress-text")
    assert page.get_attribute("#broadcast-progress", "aria-valuenow") == "2"
    screenshot(page, "broadcast")

    # Export the broadcast's calls to CSV and read the file the browser downloaded.
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert sorted((row["number"], row["outcome"]) for row in rows) == [
        ("79991234561", "completed"),
        ("79991234567", "busy"),
    ]
    assert {row["voice message"] for row in rows} == {"Delivery reminder"}

    # The calls table lists them; the dashboard shows the broadcast.
    page.goto(f"{portal}/portal/calls/")
    assert page.locator("table tbody tr[id^=call-]").count() == 2
    page.goto(f"{portal}/portal/")
    assert "Delivery reminder" in text(page, f"#broadcast-row-{broadcast.pk}")

    # Switch to Russian and back, staying on the same page.
    page.click("#language-ru")
    page.wait_for_selector("html[lang=ru]")
    assert page.url == f"{portal}/portal/"
    assert "Сводка" in text(page, "#content h1") and "Последние рассылки" in text(page, "#latest-broadcasts")
    page.click("#language-en")
    page.wait_for_selector("html[lang=en]")
    assert "Dashboard" in text(page, "#content h1")


def test_login_page_follows_the_browser_language_and_switches(portal, open_page):
    page = open_page(locale="ru-RU")  # Accept-Language: ru-RU
    page.goto(f"{portal}/admin/")
    page.wait_for_selector("html[lang=ru]")
    assert "Голосовой портал Exolve" in text(page, "#site-name")
    assert page.get_attribute("input[type=submit]", "value") == "Войти"
    assert "Тестовый режим" in text(page, ".sandbox-banner")
    screenshot(page, "login-ru", full_page=False)

    # The switch works before logging in, and logging in still works after it (CSRF).
    page.click("#language-en")
    page.wait_for_selector("html[lang=en]")
    assert page.get_attribute("input[type=submit]", "value") == "Log in"
    log_in(page, portal)
    assert "Site administration" in text(page, "#content h1")
    page.click("#language-ru")
    page.wait_for_selector("html[lang=ru]")
    assert "выйти" in text(page, "#user-tools").lower()  # the admin shows it in capitals


def test_operator_cannot_delete_a_voice_message(portal, open_page):
    message = VoiceMessage.objects.create(name="Opening hours", media_id=1967)
    operator = make_staff("operator", OPERATORS)
    operator.set_password(PASSWORD)
    operator.save()
    page = open_page()
    log_in(page, portal, "operator")

    page.goto(f"{portal}/admin/voicemessages/voicemessage/")
    assert "Opening hours" in text(page, "#result_list")
    actions = page.locator("select[name=action] option").evaluate_all("options => options.map(o => o.value)")
    assert "delete_selected" not in actions
    page.goto(f"{portal}/admin/voicemessages/voicemessage/{message.pk}/change/")
    assert page.locator("a.deletelink").count() == 0
    response = page.goto(f"{portal}/admin/voicemessages/voicemessage/{message.pk}/delete/")
    assert response.status == 403
    assert "Not allowed" in text(page, "#content")
    assert VoiceMessage.objects.filter(pk=message.pk).exists()


def test_dashboard_and_calls_table_with_a_month_of_history(portal, open_page, sandbox):
    """The dashboard's chart (server-rendered SVG) and the calls table over many calls."""
    manager = make_staff("manager", MANAGERS)
    manager.set_password(PASSWORD)
    manager.save()
    messages = [
        VoiceMessage.objects.create(name="Delivery reminder", media_id=1967),
        VoiceMessage.objects.create(name="Appointment tomorrow", media_id=1979, redirect_digit=1,
                                    redirect_number="74951234567"),
    ]  # fmt: skip
    for index in range(6):
        message = messages[index % 2]
        broadcast = make_broadcast(message, name=message.name, user=manager)
        bulk_calls(
            40 + 7 * index,
            voice_message=message,
            broadcast=broadcast,
            user=manager,
            spread_days=30 - index * 4,
            first_number=1000 * index,
        )
    page = open_page()
    log_in(page, portal, "manager")

    page.goto(f"{portal}/portal/")
    assert page.locator("svg .chart-bar").count() >= 28
    assert re.search(r"\d", text(page, "#latest-broadcasts"))
    screenshot(page, "dashboard")

    page.goto(f"{portal}/portal/calls/")
    assert page.locator("table tbody tr[id^=call-]").count() > 10
    screenshot(page, "calls", full_page=False)

    page.goto(f"{portal}/portal/")
    page.click("#language-ru")
    page.wait_for_selector("html[lang=ru]")
    assert "Звонки по дням за 30 дней" in text(page, "#content")
    screenshot(page, "dashboard-ru")


def test_staff_member_schedules_pauses_resumes_and_stops_a_broadcast(portal, open_page, sandbox):
    """Schedule for tomorrow at a pace of one call a minute, move the start, let it start, pause, resume, stop."""
    from datetime import timedelta

    from django.utils import timezone

    from calls.sending import send_queued_calls

    message = VoiceMessage.objects.create(name="Clinic reminder", media_id=1967)
    page = open_page()
    log_in(page, portal)

    # The form takes a start in the staff member's zone, calling hours, a zone and a pace.
    page.goto(f"{portal}/portal/send/")
    assert "Moscow (UTC+3)" in text(page, "#id_start_at_helptext")
    tomorrow = (timezone.localtime() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    page.select_option("#id_voice_message", str(message.pk))
    page.select_option("#id_source", SOURCE)
    page.fill("#id_numbers", "79991234561\n79991234562\n79991234563")
    page.fill("#id_start_at", tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_calling_hours", "any")  # the admin is a superuser: may send at any time
    page.fill("#id_pace_per_minute", "1")
    page.check("#id_basis_1")  # why they may be called: a contract
    page.click("#preview-send")
    page.wait_for_selector("#zone-starts")
    assert "Moscow (UTC+3)" in text(page, "#zone-starts")
    assert "Schedule for 3 numbers" in page.get_attribute("#confirm-send", "value")
    page.click("#confirm-send")
    page.wait_for_selector("#broadcast-state")
    broadcast = Broadcast.objects.get()
    assert broadcast.start_at == tomorrow
    assert "Scheduled: starts at" in text(page, "#broadcast-next-step")
    assert page.locator("#steer-pause").count() == 0  # not started: move or stop only

    # Move the start a day later.
    page.click("#steer-move")
    later = tomorrow + timedelta(days=1)
    page.fill("#id_start_at", later.strftime("%Y-%m-%dT%H:%M"))
    page.click("#steer-confirm")
    page.wait_for_selector("#broadcast-state")
    assert "The start was moved" in text(page, ".messagelist")
    broadcast.refresh_from_db()
    assert broadcast.start_at == later
    assert not sandbox.requests_log("call/v1/MakeVoiceMessage")

    # The start comes (its calls' time is set to now) and a worker sends the first call;
    # the pace keeps the other two waiting.
    Broadcast.objects.filter(pk=broadcast.pk).update(start_at=timezone.now() - timedelta(seconds=1))
    Call.objects.filter(broadcast=broadcast).update(not_before=timezone.now() - timedelta(seconds=1))
    send_queued_calls(broadcast.pk)
    page.reload()
    assert "Sending: 1 of 3." in text(page, "#broadcast-next-step")

    # Pause: the confirmation says how many calls wait.
    page.click("#steer-pause")
    assert "2 calls will wait until you resume" in text(page, "#steer-consequence")
    page.click("#steer-confirm")
    page.wait_for_selector("#steer-resume")
    assert "Paused: 2 calls wait." in text(page, "#broadcast-next-step")
    broadcast.refresh_from_db()
    assert broadcast.state == "paused"

    # Resume: it goes on where it stopped (the pace still holds the next call back).
    page.click("#steer-resume")
    assert "2 calls will be made" in text(page, "#steer-consequence")
    page.click("#steer-confirm")
    page.wait_for_selector("#steer-pause")
    assert "Sending: 1 of 3." in text(page, "#broadcast-next-step")

    # Stop: the two calls not made yet are canceled, for good.
    page.click("#steer-stop")
    assert "2 calls will not be made" in text(page, "#steer-consequence")
    page.click("#steer-confirm")
    page.wait_for_selector("#broadcast-state[data-state=stopped]")
    assert "Stopped: 2 calls were not made." in text(page, "#broadcast-next-step")
    assert page.locator("#steer-actions").count() == 0
    states = sorted(Call.objects.filter(broadcast=broadcast).values_list("state", flat=True))
    assert states == [CallState.CANCELED, CallState.CANCELED, CallState.SENT]
    assert len(sandbox.requests_log("call/v1/MakeVoiceMessage")) == 1


def test_missing_chromium_skips_locally_and_fails_on_ci(monkeypatch, tmp_path):
    """Never a silent skip on CI: a missing browser fails there and skips elsewhere, with the reason."""
    missing = str(tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        require_chromium(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        require_chromium(missing)


def test_broadcast_with_retries_where_one_number_goes_on_the_stop_list_mid_way(portal, open_page, sandbox, monkeypatch):
    """Retries of no answer and busy; the busy number asks not to be called after the first attempt."""
    from audiences.models import StopListEntry
    from calls import plan_rules

    monkeypatch.setattr(plan_rules, "MIN_RETRY_AFTER_MINUTES", 0)  # the live server is this process
    from calls.sending import send_queued_calls

    no_answer, busy, answers = "79991234566", "79991234567", "79991234561"
    message = VoiceMessage.objects.create(name="Pharmacy reminder", media_id=1967)
    page = open_page()
    log_in(page, portal)

    # The form: call again up to 2 more times, 0 minutes apart; the purpose is a reminder.
    page.goto(f"{portal}/portal/send/")
    page.select_option("#id_voice_message", str(message.pk))
    page.select_option("#id_source", SOURCE)
    page.fill("#id_numbers", f"{no_answer}\n{busy}\n{answers}")
    page.fill("#id_calling_hours", "any")
    page.fill("#id_retries", "2")
    page.fill("#id_retry_after_minutes", "0")
    page.select_option("#id_purpose", "reminder")
    page.check("#id_basis_1")  # why they may be called: a contract
    page.click("#preview-send")
    page.wait_for_selector("#send-preview")
    assert "up to 2 more times, 0 minutes apart" in text(page, "#plan-retries")
    assert "3 numbers will be called" in text(page, "#count-valid")
    page.click("#confirm-send")
    page.wait_for_selector("#broadcast-overview")
    broadcast = Broadcast.objects.get()
    assert "Reminder" in text(page, "#broadcast-purpose")
    assert "up to 2 more times" in text(page, "#broadcast-retries")

    # After the first attempt the busy callee asks not to be called any more.
    StopListEntry.objects.create(number=busy, note="asked on the phone")
    for _round in range(3):
        sandbox.advance(60)
        page.click("#refresh-statistics")
        page.wait_for_selector("#broadcast-overview")
        send_queued_calls(broadcast.pk)

    rang = [e["body"]["destination"] for e in sandbox.requests_log("call/v1/MakeVoiceMessage") if e["status"] == 200]
    assert (rang.count(no_answer), rang.count(busy), rang.count(answers)) == (3, 1, 1)
    page.reload()
    assert [row.get_attribute("data-attempt") for row in page.locator("#attempts-table .attempt-row").all()] == [
        "1",
        "2",
        "3",
    ]
    assert text(page, "#person-count-not_called") == "1"  # the busy one: their last attempt was skipped
    assert text(page, "#person-count-completed") == "1"
    assert text(page, "#person-count-total") == "3"
    assert "stop list" in text(page, "#broadcast-calls")
    skipped = Call.objects.get(broadcast=broadcast, destination=busy, attempt=2)
    assert skipped.state == CallState.SKIPPED
    screenshot(page, "broadcast-retries")


# Every table on the page: its width beyond what its box shows (0 when it fits).
TABLE_OVERFLOW_JS = """() => [...document.querySelectorAll('table')].map(t => {
    const box = t.closest('.table-container, .results, .module') || t.parentElement;
    return Math.max(0, t.scrollWidth - box.clientWidth);
})"""


# Words of the admin lists' cells broken across two lines ("Напомина ние"); a hyphen may break.
BROKEN_WORDS_JS = """() => {
    const broken = [];
    for (const cell of document.querySelectorAll('#result_list th, #result_list td')) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.data.matchAll(/[^\\s\\-]+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                if (range.getClientRects().length > 1) broken.push(m[0]);
            }
        }
    }
    return broken;
}"""
ADMIN_LISTS = (
    "/admin/calls/call/",
    "/admin/calls/broadcast/",
    "/admin/audiences/stoplistentry/",
    "/admin/auth/user/",
    "/admin/api/apisend/",
)


def api_sends(broadcast):
    """A clinic's booking system's sends: one recorded, one refused with a long reason."""
    from api.models import ApiSend, ApiToken

    token = ApiToken.objects.create(name="Система записи клиники", prefix="exv_b", digest="b" * 64, scopes=["send"])
    ApiSend.objects.create(token=token, key="appointment-88123-reminder", state="recorded", broadcast=broadcast)
    refused = {"title": "Запрос не может быть выполнен", "detail": "Некоторые значения нельзя использовать: " * 4}
    ApiSend.objects.create(token=token, key="7f9c2e4a-1b3d-4e5f-8a6b-9c0d1e2f3a4b", state="refused",
                           answer={"problem": refused})  # fmt: skip


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_calls_tables_fit_a_1280_px_screen(portal, browser, sandbox, locale):
    """The calls page, a broadcast's page and the admin's lists: nothing cut off at the right, no word broken."""
    broadcast = make_broadcast(name="Напоминание о записи к врачу на завтра, 10:30, кабинет 12")
    bulk_calls(26, broadcast=broadcast, error="Exolve не принял звонок: номер вне зоны действия сети оператора.")
    api_sends(broadcast)
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, portal)
        for path in ("/portal/calls/", f"/portal/broadcasts/{broadcast.pk}/", *ADMIN_LISTS):
            page.goto(f"{portal}{path}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280, path
            assert page.evaluate(TABLE_OVERFLOW_JS) == [0] * page.locator("table").count(), path
            if path.startswith("/admin/"):
                assert page.evaluate(BROKEN_WORDS_JS) == [], path
    finally:
        context.close()
