"""People, not only numbers (issue 21): names kept with each call, numbers as people write them,
a sheet with a title row above its header, "preview again" keeping the file."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from audiences.models import StopListEntry
from audiences.uploads import read_list
from calls.models import Broadcast, Call
from tests.factories_calls import IMMEDIATE_TASKS, xlsx_bytes
from tests.pages_helpers import confirmation, send_preview
from voicemessages.models import VoiceMessage

pytestmark = pytest.mark.django_db

# As offices make them: a title row, then the header, then the people.
OFFICE_ROWS = [
    ["Клиенты для обзвона, декабрь", None, None],
    ["ФИО", "Город", "Моб. телефон"],
    ["Иванова Анна Петровна", "Москва", "8 (916) 123-00-16"],
    ["Петров Пётр", "Тверь", "+7 916 123-00-21"],
    ["Сидорова Мария", "", "89161230031"],
]


def office_file():
    return SimpleUploadedFile("клиенты.xlsx", xlsx_bytes(OFFICE_ROWS))


def test_the_header_below_a_title_is_found_and_each_row_keeps_its_name():
    table = read_list(office_file())
    assert table.values == ["8 (916) 123-00-16", "+7 916 123-00-21", "89161230031"]
    assert (table.read.header, table.read.letter, table.read.first_row, table.read.last_row) == (
        "Моб. телефон",
        "C",
        3,
        5,
    )
    assert table.read.title_rows == 1
    assert table.details["8 (916) 123-00-16"] == {"name": "Иванова Анна Петровна", "Город": "Москва"}
    assert table.details["89161230031"] == {"name": "Сидорова Мария"}  # empty cells left out


@pytest.mark.parametrize("header", ["моб.", "Тел.", "СОТОВЫЙ", "Контактный телефон", "Phone Number", "Телефон клиента"])
def test_phone_columns_by_the_names_offices_give_them(header):
    data = xlsx_bytes([["Имя", header], ["Анна", "79161230016"]])
    table = read_list(SimpleUploadedFile("list.xlsx", data))
    assert table.values == ["79161230016"] and table.details["79161230016"] == {"name": "Анна"}


def test_the_preview_names_the_column_and_rows_and_shows_people_as_written(operator_page_client, voice_message):
    response = send_preview(operator_page_client, voice_message, file=office_file())
    page = response.content.decode()
    read = page[page.index('id="columns-read"') :][:600]
    assert "Моб. телефон" in read and "(C)" in read and "3–5" in read
    assert 'id="title-rows-skipped"' in read
    shown = page[page.index('id="valid-numbers"') :][:2000]
    assert "+7 916 123-00-16" in shown and "Иванова Анна Петровна" in shown
    assert "79161230016" not in shown


def test_calls_carry_the_names_to_the_table_and_the_export(
    operator_page_client, voice_message, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE_TASKS
    response = send_preview(operator_page_client, voice_message, file=office_file())
    with django_capture_on_commit_callbacks(execute=True):
        operator_page_client.post(reverse("portal:send"), confirmation(response))
    broadcast = Broadcast.objects.get()
    names = dict(Call.objects.filter(attempt=1).values_list("destination", "details__name"))
    assert names == {
        "79161230016": "Иванова Анна Петровна",
        "79161230021": "Петров Пётр",
        "79161230031": "Сидорова Мария",
    }

    page = operator_page_client.get(reverse("portal:calls")).content.decode()
    table = page[page.index('id="calls-table"') :]
    assert "Петров Пётр" in table and "+7 916 123-00-21" in table
    on_broadcast = operator_page_client.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert "Иванова Анна Петровна" in on_broadcast

    export = operator_page_client.get(reverse("portal:calls_export_xlsx"), {"broadcast": broadcast.pk})
    rows = list(load_workbook(io.BytesIO(b"".join(export.streaming_content)), read_only=True).active.values)
    header = list(rows[0])
    people = {row[header.index("name")]: row for row in rows[1:]}
    assert set(people) == {"Иванова Анна Петровна", "Петров Пётр", "Сидорова Мария"}
    anna = people["Иванова Анна Петровна"]
    # As the office's list writes it (a leading "+" would read as a formula in a spreadsheet).
    assert anna[header.index("number as written")] == "8 (916) 123-00-16"
    assert anna[header.index("number")] == "79161230016"  # Exolve's form, as stored
    assert anna[header.index("from the list")] == "Город: Москва"

    call = Call.objects.get(destination="79161230016", attempt=1)
    admin_page = operator_page_client.get(reverse("admin:calls_call_change", args=[call.pk])).content.decode()
    assert "Иванова Анна Петровна" in admin_page and "+7 916 123-00-16" in admin_page


def test_preview_again_without_choosing_the_file_uses_the_one_uploaded(operator_page_client, voice_message):
    first = send_preview(operator_page_client, voice_message, file=office_file())
    token = first.context["form"].data["token"]
    again = send_preview(operator_page_client, voice_message, token=token, numbers="79161230041")
    form = again.context["form"]
    assert form.kept_file_name == "клиенты.xlsx" and form.file_reused
    assert not first.context["form"].file_reused
    assert form.calls_to_make == 4  # the file's three and the one typed
    assert "Using the file you uploaded: клиенты.xlsx" in again.content.decode()

    without = send_preview(operator_page_client, voice_message, token=token, numbers="79161230041", forget_file="on")
    assert without.context["form"].calls_to_make == 1


def test_another_persons_form_token_does_not_reach_the_file(client, operator_page_client, voice_message, manager_user):
    first = send_preview(operator_page_client, voice_message, file=office_file())
    token = first.context["form"].data["token"]
    client.force_login(manager_user)
    theirs = send_preview(client, voice_message, token=token)
    assert theirs.context["form"].kept_file_name == ""
    assert theirs.context["preview"] is None


def test_the_preview_counts_agree_with_stop_listed_numbers(operator_page_client, voice_message):
    StopListEntry.objects.create(number="79161230021")
    StopListEntry.objects.create(number="79161230031")
    response = send_preview(operator_page_client, voice_message, file=office_file())
    page = response.content.decode()
    assert "1 number will be called" in page
    assert "Show the 1 number to call" in page
    shown = page[page.index('id="valid-numbers"') :]
    shown = shown[: shown.index("</details>")]
    assert shown.count('class="number-to-call"') == 1 and "+7 916 123-00-16" in shown


def test_a_redirect_number_typed_with_8_is_stored_as_the_called_numbers_are(sandbox_unthrottled):
    message = VoiceMessage.objects.create(name="Promo", media_id=1967, redirect_number="8 (495) 123-45-67")
    assert VoiceMessage.objects.get(pk=message.pk).redirect_number == "74951234567"


def test_a_column_no_name_tells_is_chosen_from_the_columns_found(operator_page_client, voice_message):
    rows = [["Клиент", "Куда звонить"], ["Анна", "79161230016"], ["Пётр", "79161230021"]]
    upload = SimpleUploadedFile("list.xlsx", xlsx_bytes(rows))
    refused = send_preview(operator_page_client, voice_message, file=upload)
    page = refused.content.decode()
    assert refused.context["preview"] is None and "“Куда звонить”" in page
    choices = page[page.index('id="id_phone_column"') :][:600]
    assert '<option value="Куда звонить">' in choices

    token = refused.context["form"].data["token"]
    chosen = send_preview(operator_page_client, voice_message, token=token, phone_column="Куда звонить")
    form = chosen.context["form"]
    assert form.calls_to_make == 2 and form.kept_file_name == "list.xlsx"
    assert form.details["79161230021"] == {"name": "Пётр"}


def test_the_send_command_keeps_the_names_of_its_file_too(voice_message, dummy_tasks, tmp_path):
    from django.core.management import call_command

    from tests.factories_calls import SOURCE

    path = tmp_path / "clients.xlsx"
    path.write_bytes(xlsx_bytes(OFFICE_ROWS))
    call_command(
        "send_voicemessage",
        "--basis",
        "contract",
        "--message",
        str(voice_message.pk),
        "--source",
        SOURCE,
        "--file",
        str(path),
    )
    assert Call.objects.get(destination="79161230021").details == {"name": "Петров Пётр", "Город": "Тверь"}
