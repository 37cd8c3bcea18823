"""The send page's live SMS counter (static/portal/sms_counter.js) in a real browser: Cyrillic,
Latin and mixed texts counted as the server counts them (exolve_portal/exolve/sms_text.py)."""

import pytest

from exolve_portal.exolve.sms_text import sms_size
from tests.pages.test_browser import browser, log_in, open_page, portal  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_sms_counter_counts_characters_and_parts_as_the_server_does(portal, open_page):  # noqa: F811
    page = open_page()
    log_in(page, portal)
    page.goto(f"{portal}/portal/send/")
    counter = page.locator("#sms-counter")
    for text in ("я" * 71, "a" * 161, "Water is off tomorrow, Вода" + "a" * 44, "€" * 81, "я" * 700):
        page.fill("textarea[data-sms-counter]", text)
        size = sms_size(text)
        shown = counter.inner_text()
        assert str(size.units) in shown and str(size.parts) in shown, (text[:10], shown)
        assert ("errornote" in (counter.get_attribute("class") or "")) == size.too_long
