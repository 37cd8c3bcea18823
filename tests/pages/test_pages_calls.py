"""The calls table (sort, pages, filters) and its exports (streamed, formulas neutralised, large ones as jobs)."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from calls.models import Call
from exolve_portal.roles import MANAGERS, OPERATORS
from jobs.models import Job, JobState
from jobs.tasks import run_job
from pages import exports
from tests.factories import make_staff
from tests.pages_helpers import OUTCOME_CASES, bulk_calls, count_queries, make_broadcast

pytestmark = pytest.mark.django_db

CALLS = "portal:calls"
CSV = "portal:calls_export_csv"
XLSX = "portal:calls_export_xlsx"
CSV_EXCEL = "portal:calls_export_csv_excel"


def csv_rows(response, delimiter=",") -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    return csv_text_rows(b"".join(response.streaming_content), delimiter)


def csv_text_rows(data: bytes, delimiter=",") -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheet programs then read the Cyrillic right
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


def xlsx_sheet(response):
    from openpyxl import load_workbook

    assert isinstance(response, FileResponse)
    return load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]


def xlsx_rows(response) -> list[tuple]:
    sheet = xlsx_sheet(response)
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


def test_csv_for_excel_has_the_same_rows_separated_by_semicolons(operator_page_client, hostile_calls):
    comma = csv_rows(operator_page_client.get(reverse(CSV), {"broadcast": hostile_calls.pk}))
    response = operator_page_client.get(reverse(CSV_EXCEL), {"broadcast": hostile_calls.pk})
    assert response["Content-Type"].startswith("text/csv")
    assert "-excel.csv" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    first_line = data.decode("utf-8").splitlines()[0]
    assert first_line == "\ufeff" + ";".join(comma[0])  # a Russian Excel splits on ";"
    assert csv_text_rows(data, delimiter=";") == comma


def test_the_pages_offer_the_csv_for_excel(operator_page_client):
    broadcast = make_broadcast()
    calls_page = operator_page_client.get(reverse(CALLS), {"outcome": "busy"}).content.decode()
    assert f'{reverse(CSV_EXCEL)}?outcome=busy"' in calls_page
    broadcast_page = operator_page_client.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert f"{reverse(CSV_EXCEL)}?broadcast={broadcast.pk}" in broadcast_page


def test_xlsx_columns_are_sized_to_their_contents_under_a_bold_frozen_header(operator_page_client):
    broadcast = make_broadcast(name="A voice message with a rather long name for its column")
    bulk_calls(3, broadcast=broadcast, error="")
    sheet = xlsx_sheet(operator_page_client.get(reverse(XLSX)))
    width = {cell.value: sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]}
    assert width["voice message"] >= len("A voice message with a rather long name for its column")
    assert width["queued"] >= len("2026-12-01 17:24:15")  # a date and time, shown whole
    assert len("attempt") <= width["attempt"] < width["queued"]  # a short header and small numbers: narrow
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet["A2"].font.b


def test_xlsx_keeps_dates_texts_and_numbers_as_they_are(operator_page_client):
    when = timezone.now().replace(microsecond=0)
    bulk_calls(1, broadcast=make_broadcast(), state="finished", status="completed", duration=42, error="a\rb <&>")
    Call.objects.update(queued_at=when)
    row = dict(zip(*xlsx_rows(operator_page_client.get(reverse(XLSX))), strict=True))
    assert row["queued"] == timezone.localtime(when).replace(tzinfo=None)
    assert row["duration (s)"] == 42
    assert row["last error"] == "a\rb <&>"


# --- Export in the background -----------------------------------------------------


@pytest.fixture
def two_rows_in_request(settings):
    settings.EXOLVE_EXPORT_IN_REQUEST = 2
    return settings


def job_of(response) -> Job:
    assert response.status_code == 302, response.status_code
    job = Job.objects.get()
    assert response["Location"] == reverse("jobs:job", args=[job.pk])
    return job


def test_an_export_within_the_threshold_is_the_file_itself(operator_page_client, two_rows_in_request):
    bulk_calls(2, broadcast=make_broadcast())
    assert len(csv_rows(operator_page_client.get(reverse(CSV)))) == 3
    assert not Job.objects.exists()


@pytest.mark.parametrize(("url", "read"), [(XLSX, xlsx_rows), (CSV_EXCEL, None)])
def test_a_large_export_runs_in_the_background_and_its_page_offers_the_same_file(
    operator_page_client, operator_user, two_rows_in_request, url, read
):
    broadcast = make_broadcast()
    bulk_calls(5, broadcast=broadcast)
    bulk_calls(4, broadcast=make_broadcast(name="Other"))
    two_rows_in_request.EXOLVE_EXPORT_IN_REQUEST = 100
    in_request = operator_page_client.get(reverse(url), {"broadcast": broadcast.pk})
    expected = read(in_request) if read else csv_rows(in_request, delimiter=";")
    two_rows_in_request.EXOLVE_EXPORT_IN_REQUEST = 2

    job = job_of(operator_page_client.get(reverse(url), {"broadcast": broadcast.pk}))
    assert (job.kind, job.total, job.started_by, job.state) == ("calls.export", 5, operator_user, JobState.WAITING)
    page = operator_page_client.get(reverse("jobs:job", args=[job.pk])).content.decode()
    assert 'id="job-progress"' in page and 'id="job-download"' not in page

    run_job.call(job.pk)

    page = operator_page_client.get(reverse("jobs:job", args=[job.pk])).content.decode()
    download = reverse("portal:calls_export_download", args=[job.pk])
    assert f'<a href="{download}" id="job-download">' in page and "Exported 5 calls." in page
    assert f'href="{reverse(CALLS)}?broadcast={broadcast.pk}"' in page  # back to the same calls
    response = operator_page_client.get(download)
    assert f"broadcast-{broadcast.pk}-calls" in response["Content-Disposition"]
    if read:
        assert read(response) == expected
    else:
        assert csv_text_rows(b"".join(response.streaming_content), delimiter=";") == expected


def test_only_the_one_who_asked_or_a_manager_may_download_a_background_export(client, two_rows_in_request):
    bulk_calls(3, broadcast=make_broadcast())
    asker, other, manager = (make_staff(name, role) for name, role in [
        ("asker", OPERATORS), ("other-operator", OPERATORS), ("manager", MANAGERS)
    ])  # fmt: skip
    client.force_login(asker)
    job = job_of(client.get(reverse(CSV)))
    run_job.call(job.pk)
    download = reverse("portal:calls_export_download", args=[job.pk])

    client.force_login(other)
    assert client.get(download).status_code == 403
    assert client.get(reverse("jobs:job", args=[job.pk])).status_code == 403
    client.force_login(manager)
    assert len(csv_rows_of_file(client.get(download))) == 4
    client.force_login(asker)
    assert len(csv_rows_of_file(client.get(download))) == 4


def csv_rows_of_file(response) -> list[list[str]]:
    assert response.status_code == 200 and isinstance(response, FileResponse)
    return csv_text_rows(b"".join(response.streaming_content))


def test_background_exports_are_deleted_after_a_day(operator_page_client, two_rows_in_request):
    import os
    import time

    bulk_calls(3, broadcast=make_broadcast())
    job = job_of(operator_page_client.get(reverse(CSV)))
    run_job.call(job.pk)
    path = exports.saved_export(Job.objects.get(pk=job.pk).result["file"])
    assert path is not None and path.parent == two_rows_in_request.EXOLVE_EXPORT_DIR
    day_ago = time.time() - 25 * 3600
    os.utime(path, (day_ago, day_ago))

    assert exports.remove_expired_exports() == 1
    assert not path.exists()
    page = operator_page_client.get(reverse("jobs:job", args=[job.pk])).content.decode()
    assert 'id="job-download"' not in page and "export again" in page
    response = operator_page_client.get(reverse("portal:calls_export_download", args=[job.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("jobs:job", args=[job.pk])


def test_a_background_export_speaks_the_language_of_the_one_who_asked(operator_page_client, two_rows_in_request):
    bulk_calls(3, broadcast=make_broadcast())
    job = job_of(operator_page_client.get(reverse(CSV), HTTP_ACCEPT_LANGUAGE="ru"))
    run_job.call(job.pk)  # the worker has no language of its own
    rows = csv_rows_of_file(operator_page_client.get(reverse("portal:calls_export_download", args=[job.pk])))
    assert rows[0][:3] == ["№ звонка", "в очереди", "номер"]


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
        assert len(calls) == 9 and len(on_broadcast) == 7, (calls, on_broadcast)
        assert all(len(header) <= 14 for header in calls), calls
    assert calls == ["В очереди", "Номер", "Имя", "Сообщение", "Рассылка", "Итог", "Статус Exolve", "Сек.", "Ошибка"]


def test_the_admin_calls_list_leaves_the_rest_to_the_calls_own_page(admin_client):
    broadcast = make_broadcast()
    (call,) = bulk_calls(1, broadcast=broadcast, duration=42)
    listing = admin_client.get(reverse("admin:calls_call_changelist"))
    detail = admin_client.get(reverse("admin:calls_call_change", args=[call.pk])).content.decode()
    assert list(listing.context["cl"].list_display) == [
        "action_checkbox", "number", "message", "state", "status_shown", "seconds", "requested_by", "queued",
    ]  # fmt: skip
    assert "field-started" in detail and "field-ended" in detail and "field-source" in detail
