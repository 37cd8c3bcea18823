"""Real browser (see test_browser.py): a member of staff imports a club's members in Russian,
with their consent, and reads the report row by row."""

import pytest

from audiences.models import Consent, ContactList
from tests.pages.test_browser import browser, log_in, open_page, portal, text  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MEMBERS = "телефон,ФИО,квартира\n+7 (999) 123-45-61,Анна,12\n8 999 123 45 62,Борис,14\nнет номера,Вера,16\n"


def test_an_import_in_russian_reports_added_and_refused_rows_and_records_consent(portal, open_page):  # noqa: F811
    page = open_page(locale="ru-RU")
    log_in(page, portal)
    page.goto(f"{portal}/portal/lists/import/")
    page.wait_for_selector("html[lang=ru]")

    page.fill("#id_new_list", "Клуб")
    page.set_input_files("#id_file", {"name": "club.csv", "mimeType": "text/csv", "buffer": MEMBERS.encode()})
    page.select_option("#id_purpose", "reminder")
    page.select_option("#id_kind", "written")
    page.fill("#id_given_at", "2026-11-01")
    page.click(".submit-row input[type=submit]")
    page.wait_for_selector(".contacts-import-report")

    report = text(page, ".contacts-import-report")
    assert "Добавлено 2 контакта." in report
    assert "Строка 4: нет номера" in report
    assert "Записано 2 согласия." in report
    assert ContactList.objects.get().contacts.count() == 2
    assert Consent.objects.filter(given_at="2026-11-01").count() == 2
