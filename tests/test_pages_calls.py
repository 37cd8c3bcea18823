"""The calls table (sort, pages, filters) and its CSV/XLSX export (streamed, formulas neutralised)."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from calls import exports
from calls.models import Call
from tests.pages_helpers import OUTCOME_CASES, bulk_calls, count_queries, make_broadcast

pytest_plugins = ["tests.pages_helpers"]
pytestmark = pytest.mark.django_db

CALLS = "portal:calls"
CSV = "portal:calls_export_csv"
XLSX = "portal:calls_export_xlsx"


def csv_rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheet programs then read the Cyrillic right
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(response) -> list[tuple]:
    from openpyxl import load_workbook

    assert isinstance(response, FileResponse)
    data = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value  # never a formula
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


# --- The table -----------------------------------------------------------------


def test_table_lists_calls_newest_first_in_pages(operator_page_client):
    broadcast = make_broadcast()
    bulk_calls(120, broadcast=broadcast, spread_days=30)
    response = operator_page_client.get(reverse(CALLS))
    table = response.context["table"]
    assert table.paginator.count == 120 and len(table.page.object_list) == 50
    shown = [row.record.queued_at for row in table.page.object_list]
    assert shown == sorted(shown, reverse=True)
    page = response.content.decode()
    assert 'id="calls-table"' in page and "120 calls" in page
    page3 = operator_page_client.get(reverse(CALLS), {"page": 3}).context["table"]
    assert len(page3.page.object_list) == 20


@pytest.mark.parametrize(
    "column",
    [
        "queued_at",
        "destination",
        "message",
        "broadcast",
        "outcome",
        "status",
        "duration",
        "error",
    ],
)
def test_every_sortable_column_sorts_both_ways(operator_page_client, column):
    bulk_calls(len(OUTCOME_CASES), broadcast=make_broadcast())
    for sort in (column, f"-{column}"):
        response = operator_page_client.get(reverse(CALLS), {"sort": sort})
        assert response.status_code == 200, sort
        assert len(response.context["table"].page.object_list) == len(OUTCOME_CASES)


def test_sorting_by_outcome_groups_the_outcomes(operator_page_client):
    bulk_calls(len(OUTCOME_CASES))
    table = operator_page_client.get(reverse(CALLS), {"sort": "outcome"}).context["table"]
    outcomes = [row.record.outcome for row in table.page.object_list]
    assert outcomes == sorted(outcomes)


def test_filters_narrow_the_table(operator_page_client, operator_user):
    old = make_broadcast(name="Old news")
    bulk_calls(5, broadcast=old, when=timezone.now() - timedelta(days=10))
    new = make_broadcast(name="Fresh reminder")
    bulk_calls(len(OUTCOME_CASES), broadcast=new, first_number=1234560)

    def shown(**filters):
        response = operator_page_client.get(reverse(CALLS), filters)
        assert response.status_code == 200
        return {row.record.pk for row in response.context["table"].page.object_list}

    new_pks = set(new.calls.values_list("pk", flat=True))
    assert shown(broadcast=new.pk) == new_pks
    assert shown(message="fresh") == new_pks
    today = timezone.localdate()
    assert shown(date_from=today.isoformat()) == new_pks
    assert shown(date_to=(today - timedelta(days=1)).isoformat()) == set(old.calls.values_list("pk", flat=True))
    completed = shown(outcome="completed", broadcast=new.pk)
    assert completed == set(new.calls.filter(status="completed").values_list("pk", flat=True))
    first = new.calls.order_by("pk").first()
    number = f"+7 ({first.destination[1:4]}) {first.destination[4:7]}-{first.destination[7:9]}-{first.destination[9:]}"
    assert shown(number=number) == {first.pk}
    assert shown(number=first.destination[-4:]) == {first.pk}  # some of its digits


def test_an_invalid_filter_is_reported_and_the_others_still_apply(operator_page_client):
    broadcast = make_broadcast()
    bulk_calls(3, broadcast=broadcast)
    bulk_calls(2, broadcast=make_broadcast())
    response = operator_page_client.get(
        reverse(CALLS), {"broadcast": broadcast.pk, "date_from": "not a date", "outcome": "nonsense"}
    )
    assert response.status_code == 200
    assert {"date_from", "outcome"} <= set(response.context["form"].errors)
    assert response.context["table"].paginator.count == 3
    assert 'id="filter-errors"' in response.content.decode()


def test_export_links_carry_the_filters(operator_page_client):
    page = operator_page_client.get(reverse(CALLS), {"outcome": "busy", "sort": "destination", "page": "1"})
    html = page.content.decode()
    assert f'{reverse(CSV)}?outcome=busy"' in html
    assert f'{reverse(XLSX)}?outcome=busy"' in html


def test_calls_page_queries_do_not_grow_with_rows(operator_page_client, voice_message, django_assert_max_num_queries):
    bulk_calls(10, broadcast=make_broadcast(voice_message), voice_message=voice_message)
    _r, small = count_queries(operator_page_client, reverse(CALLS))
    _r, small_filtered = count_queries(operator_page_client, reverse(CALLS), {"outcome": "pending", "number": "7999"})
    bulk_calls(200, broadcast=make_broadcast(), voice_message=None)
    response, large = count_queries(operator_page_client, reverse(CALLS))
    assert response.context["table"].paginator.count == 210
    _r, large_filtered = count_queries(operator_page_client, reverse(CALLS), {"outcome": "pending", "number": "7999"})
    assert (large, large_filtered) == (small, small_filtered)
    with django_assert_max_num_queries(12):
        operator_page_client.get(reverse(CALLS), {"sort": "-message", "page": 2})


# --- Export --------------------------------------------------------------------


@pytest.fixture
def hostile_calls(db):
    """Calls whose texts a spreadsheet would run as formulas."""
    user = User.objects.create_user("=cmd|' /C calc'!A0", is_staff=True)
    broadcast = make_broadcast(name='=HYPERLINK("http://evil.example","click")', user=user)
    bulk_calls(
        1, broadcast=broadcast, user=user, destination="+79991234561", status="@SUM(A1)", state="finished", error="-2+3"
    )
    bulk_calls(
        1,
        broadcast=broadcast,
        user=user,
        destination="79991234562",
        status="completed",
        state="finished",
        error="\tTabbed",
        duration=42,
    )
    bulk_calls(
        1,
        broadcast=broadcast,
        user=user,
        destination="79991234563",
        status="completed",
        state="finished",
        error="\rReturn",
    )
    return broadcast


def test_csv_export_streams_the_filtered_calls_with_formulas_neutralised(operator_page_client, hostile_calls):
    bulk_calls(4, broadcast=make_broadcast(name="Other"))
    response = operator_page_client.get(reverse(CSV), {"broadcast": hostile_calls.pk})
    assert response["Content-Type"].startswith("text/csv")
    assert f"broadcast-{hostile_calls.pk}-calls" in response["Content-Disposition"]
    rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["call no.", "queued", "number", "voice message"]
    assert len(body) == 3
    by_number = {row[2]: dict(zip(header, row, strict=True)) for row in body}
    first = by_number["'+79991234561"]
    assert first["voice message"] == '\'=HYPERLINK("http://evil.example","click")'
    assert first["Exolve status"] == "'@SUM(A1)"
    assert first["last error"] == "'-2+3"
    assert first["sent by"] == "'=cmd|' /C calc'!A0"
    assert by_number["79991234562"]["last error"] == "'\tTabbed"
    assert by_number["79991234562"]["duration (s)"] == "42"
    assert by_number["79991234562"]["outcome"] == "completed"
    assert by_number["79991234562"]["Exolve status"] == "completed"  # the staff's word (the same in English)
    assert by_number["79991234563"]["last error"] == "'\rReturn"
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_xlsx_export_has_the_same_rows_and_no_formulas(operator_page_client, hostile_calls):
    response = operator_page_client.get(reverse(XLSX), {"broadcast": hostile_calls.pk})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert ".xlsx" in response["Content-Disposition"] and "attachment" in response["Content-Disposition"]
    rows = xlsx_rows(response)
    header, body = rows[0], rows[1:]
    assert header[2] == "number" and len(body) == 3
    by_number = {row[2]: dict(zip(header, row, strict=True)) for row in body}
    first = by_number["'+79991234561"]
    assert first["voice message"].startswith("'=HYPERLINK")
    assert first["sent by"].startswith("'=cmd")
    assert by_number["79991234562"]["duration (s)"] == 42  # numbers stay numbers
    assert by_number["79991234562"]["queued"].tzinfo is None  # local time, as spreadsheets expect


def test_export_applies_the_page_filters(operator_page_client):
    bulk_calls(len(OUTCOME_CASES) * 2, broadcast=make_broadcast())
    body = csv_rows(operator_page_client.get(reverse(CSV), {"outcome": "pending"}))[1:]
    expected = Call.objects.filter(pk__in=[int(row[0]) for row in body])
    assert len(body) == sum(1 for case in OUTCOME_CASES if case[3] == "pending") * 2
    assert {row[7] for row in body} == {"pending"}
    assert expected.count() == len(body)


def test_export_reads_rows_in_chunks(operator_page_client, monkeypatch):
    """Rows come from a chunked iterator, so a large export is never all in memory."""
    calls = []
    real_iterator = type(Call.objects.all().values_list("pk")).iterator

    def spy(self, chunk_size=None):
        calls.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(type(Call.objects.all().values_list("pk")), "iterator", spy)
    monkeypatch.setattr(exports, "CHUNK_SIZE", 7)
    bulk_calls(30, broadcast=make_broadcast())
    assert len(csv_rows(operator_page_client.get(reverse(CSV)))) == 31
    assert len(xlsx_rows(operator_page_client.get(reverse(XLSX)))) == 31
    assert calls == [7, 7]


def test_csv_response_is_lazy(operator_page_client):
    """Nothing is read until the response is iterated (it streams to the client)."""
    bulk_calls(3, broadcast=make_broadcast())
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = operator_page_client.get(reverse(CSV))
    with CaptureQueriesContext(connection) as context:
        rows = csv_rows(response)
    assert len(rows) == 4
    assert len(context.captured_queries) == 1  # the one chunked read, during streaming


def test_export_queries_do_not_grow_with_rows(operator_page_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(fmt):
        with CaptureQueriesContext(connection) as context:
            response = operator_page_client.get(reverse(fmt))
            content = b"".join(response.streaming_content)
        return len(context.captured_queries), content

    bulk_calls(10, broadcast=make_broadcast())
    small_csv, _ = queries(CSV)
    small_xlsx, _ = queries(XLSX)
    bulk_calls(300, broadcast=make_broadcast())
    large_csv, content = queries(CSV)
    large_xlsx, _ = queries(XLSX)
    assert content.count(b"\n") == 311
    assert (large_csv, large_xlsx) == (small_csv, small_xlsx)


def test_neutralise():
    assert exports.neutralise("=1+1") == "'=1+1"
    assert exports.neutralise("+7 999") == "'+7 999"
    assert exports.neutralise("-x") == "'-x"
    assert exports.neutralise("@x") == "'@x"
    assert exports.neutralise("\tx") == "'\tx"
    assert exports.neutralise("\rx") == "'\rx"
    assert exports.neutralise("79991234567") == "79991234567"
    assert exports.neutralise("Приглашение") == "Приглашение"
    assert exports.neutralise(-5) == -5  # a number is not a formula
    assert exports.neutralise(None) is None


# --- Fitting a 1280 px screen: few columns, short headers --------------------------------------


def column_headers(page: str, table_id: str) -> list[str]:
    import re

    table = re.search(rf'<table[^>]*id="{table_id}".*?</thead>', page, re.S).group(0)
    cells = re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in cells]


def test_calls_tables_show_few_columns_with_short_headers_in_both_languages(operator_page_client, settings):
    broadcast = make_broadcast()
    bulk_calls(3, broadcast=broadcast)
    for language in ("en", "ru"):
        settings.LANGUAGE_CODE = language
        calls = column_headers(operator_page_client.get(reverse(CALLS)).content.decode(), "calls-table")
        on_broadcast = column_headers(
            operator_page_client.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode(), "calls-table"
        )
        assert len(calls) == 8 and len(on_broadcast) == 6, (calls, on_broadcast)
        assert all(len(header) <= 14 for header in calls), calls
    assert calls == ["в очереди", "номер", "сообщение", "рассылка", "итог", "статус Exolve", "сек.", "ошибка"]


def test_the_admin_calls_list_leaves_the_rest_to_the_calls_own_page(admin_client):
    broadcast = make_broadcast()
    (call,) = bulk_calls(1, broadcast=broadcast, duration=42)
    listing = admin_client.get(reverse("admin:calls_call_changelist"))
    detail = admin_client.get(reverse("admin:calls_call_change", args=[call.pk])).content.decode()
    assert list(listing.context["cl"].list_display) == [
        "action_checkbox", "destination", "message", "state", "status_shown", "duration", "requested_by", "queued_at",
    ]  # fmt: skip
    assert "field-started" in detail and "field-ended" in detail and "field-source" in detail
