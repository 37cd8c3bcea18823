"""The one writer behind every export (exolve_portal.spreadsheets): what goes in comes back out of the file."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from exolve_portal import spreadsheets


def xlsx(headers, rows, title="Calls"):
    handle = io.BytesIO()
    count = spreadsheets.write(handle, spreadsheets.XLSX, title=title, headers=headers, rows=rows)
    return count, load_workbook(io.BytesIO(handle.getvalue())).active


def test_xlsx_cells_come_back_as_written_and_texts_never_run():
    when = timezone.make_aware(datetime(2026, 12, 1, 17, 24, 15))
    rows = [
        ("<b>&amp;</b>", "a\rb\nc", "bell\x07 gone", "=SUM(A1)", 7, 2.5, when, date(2026, 1, 31), None, ""),
        (gettext_lazy("call no."), Decimal("1.50"), True, "", "", "", "", "", "", "x"),
    ]
    count, sheet = xlsx([f"h{n}" for n in range(10)], rows)
    assert count == 2
    values = [tuple(cell.value for cell in row) for row in sheet.iter_rows(min_row=2)]
    assert values[0][:8] == (
        "<b>&amp;</b>",
        "a\rb\nc",
        "bell gone",  # a control character XML cannot carry is dropped, the rest kept
        "'=SUM(A1)",
        7,
        2.5,
        timezone.localtime(when).replace(tzinfo=None),
        datetime(2026, 1, 31),
    )
    assert values[0][8:] == (None, None)
    assert values[1][:3] == ("call no.", "1.50", True)
    assert values[1][9] == "x"


def test_xlsx_of_many_columns_names_them_past_z_and_keeps_a_sheet_name_excel_accepts():
    headers = [f"column {n}" for n in range(30)]
    _count, sheet = xlsx(headers, [tuple(range(30))], title="Calls: [a/b]? and more than thirty-one letters")
    assert [cell.value for cell in sheet[2]] == list(range(30))
    assert sheet["AD1"].value == "column 29"
    assert sheet.title == "Calls   a b   and more than thi"  # no []:*?/\\, at most 31 characters
    assert spreadsheets.column_letters(28)[-3:] == ["Z", "AA", "AB"]


def test_column_widths_follow_the_longest_value_within_bounds():
    widths = spreadsheets.column_widths(["id", "name", "note"], [(1, "Иван", "x" * 500), (22, "Анна-Мария", None)])
    assert widths[0] == spreadsheets.MIN_WIDTH
    assert widths[1] == len("Анна-Мария") + 1
    assert widths[2] == spreadsheets.MAX_WIDTH


def test_csv_and_csv_for_excel_differ_only_in_the_delimiter():
    rows = [("+7 999", "a, b", None, timezone.make_aware(datetime(2026, 12, 1, 17, 24, 15, 999)))]
    texts = {}
    for file_format in (spreadsheets.CSV, spreadsheets.CSV_EXCEL):
        handle = io.BytesIO()
        assert spreadsheets.write(handle, file_format, title="t", headers=["n", "t", "e", "w"], rows=rows) == 1
        texts[file_format] = handle.getvalue().decode("utf-8")
    assert texts[spreadsheets.CSV].startswith("\ufeffn,t,e,w\r\n")
    assert texts[spreadsheets.CSV_EXCEL].startswith("\ufeffn;t;e;w\r\n")
    local = f"{timezone.localtime(rows[0][3]):%Y-%m-%d %H:%M:%S}"
    expected = [["n", "t", "e", "w"], ["'+7 999", "a, b", "", local]]
    assert list(csv.reader(io.StringIO(texts[spreadsheets.CSV][1:]))) == expected
    assert list(csv.reader(io.StringIO(texts[spreadsheets.CSV_EXCEL][1:]), delimiter=";")) == expected
