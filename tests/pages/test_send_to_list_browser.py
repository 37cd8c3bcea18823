"""Real browser (see test_browser.py): a member of staff sends to a contact list in Russian, from the list's
page address the admin's "Send to these lists…" opens, and reads who is not called and why."""

import pytest

from calls.models import Broadcast
from tests.factories_calls import SOURCE
from tests.pages.test_browser import browser, log_in, open_page, portal, text  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_sending_to_a_list_in_russian_says_who_is_not_called_and_why(portal, open_page, voice_message, club):  # noqa: F811
    page = open_page(locale="ru-RU")
    log_in(page, portal)
    page.goto(f"{portal}/portal/send/?voice_message={voice_message.pk}&list={club[0].pk}")
    page.wait_for_selector("html[lang=ru]")
    page.select_option("#id_source", SOURCE)
    page.check("input[name=basis][value=consent]")
    page.click("#preview-send")
    page.wait_for_selector("#lists-preview")

    lists = text(page, "#lists-preview")
    assert "Из списков контактов: Club" in lists and "Позвоним 1 контакту" in lists
    assert "2 в стоп-листе" in lists and "2 без согласия на эту цель" in lists
    assert "Boris" in lists and "Не звоним: нет согласия на звонки с этой целью." in lists
    page.click("#confirm-send")
    page.wait_for_selector("#broadcast-lists")
    assert "Club: 1 контакт для звонка" in text(page, "#broadcast-lists")
    assert list(Broadcast.objects.get().calls.values_list("destination", flat=True)) == ["79990000001"]
