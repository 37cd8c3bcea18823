"""In Chromium, in Russian: a Manager invites a colleague, who sets a password from the e-mail and logs in."""

import os
import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from exolve_portal.role_names import MANAGERS
from exolve_portal.roles import setup_roles
from tests.factories import make_staff
from tests.pages.test_browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "a long browser test password"
SHOTS = os.environ.get("I21_SCREENSHOTS")  # a folder to look at the pages (never in the repository)


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def russian_page(live_server, transactional_db, sandbox, settings):
    require_chromium(CHROMIUM)
    from playwright.sync_api import sync_playwright

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = chromium.new_context(locale="ru-RU", viewport={"width": 1280, "height": 800})
            context.set_default_timeout(15_000)
            yield live_server.url, context
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _log_in(page, base, username, password):
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def test_a_manager_invites_a_colleague_who_logs_in_in_russian(russian_page):
    base, context = russian_page
    setup_roles()
    boss = make_staff(username="boss", email="boss@example.com", first_name="Ольга", password=PASSWORD)
    boss.groups.add(Group.objects.get(name=MANAGERS))

    page = context.new_page()
    _log_in(page, base, "boss", PASSWORD)
    page.click("#index-invite-colleague")
    page.fill("#id_name", "Анна Петрова")
    page.fill("#id_email", "anna@example.com")
    _shot(page, "invite")
    page.click("#invite-form input[type=submit]")
    assert "Приглашение отправлено на anna@example.com" in page.inner_text(".messagelist")

    link = re.search(r"http://\S+/admin/reset/\S+/", mail.outbox[0].body).group(0)
    anna = context.browser.new_context(locale="ru-RU").new_page()
    anna.goto(link)
    _shot(anna, "set-password")
    anna.fill("#id_new_password1", PASSWORD)
    anna.fill("#id_new_password2", PASSWORD)
    anna.click("input[type=submit]")
    _log_in(anna, base, "anna@example.com", PASSWORD)
    anna.wait_for_selector("#user-tools")
    assert "Отправить голосовое сообщение" in anna.inner_text("#content")
    assert anna.get_attribute("link[rel=icon]", "href").endswith(".svg")
