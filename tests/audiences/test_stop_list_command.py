"""`manage.py stop_list import|add|export`: what it prints and its exit status (0, 1 refused, 2 bad file/use)."""

import csv
import io
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from audiences.models import StopListEntry
from tests.factories import SENDER_PERMS, make_staff
from tests.factories_calls import xlsx_bytes

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("stop_list", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args) -> tuple[int, str]:
    with pytest.raises(CommandError) as info:
        run(*args)
    return info.value.returncode, str(info.value)


def test_import_of_a_csv_adds_the_numbers_with_the_reason_note_and_user(tmp_path):
    make_staff("ops-lead", perms=SENDER_PERMS)
    StopListEntry.objects.create(number="79991234563")
    path = tmp_path / "complaints.csv"
    path.write_text("phone\n+7 999 123-45-61\n89991234562\n79991234563\n", encoding="utf-8")

    out, err = run("import", str(path), "--reason", "complaint", "--note", "ticket 12", "--user", "ops-lead")

    assert "Added 2 numbers to the stop list." in out
    assert "1 number was already on the stop list." in out
    assert err == ""
    entry = StopListEntry.objects.get(number="79991234561")
    assert (entry.reason, entry.note, entry.added_by.username) == ("complaint", "ticket 12", "ops-lead")
    assert LogEntry.objects.filter(action_flag=ADDITION, user__username="ops-lead").count() == 2


def test_import_of_an_xlsx_lists_the_refused_numbers_and_exits_1(tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_bytes(xlsx_bytes([("номер",), (79991234561,), ("12345",), ("hello",)]))

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:
        call_command("stop_list", "import", str(path), stdout=out, stderr=err)

    assert info.value.returncode == 1
    assert "2 numbers could not be read and were not added." in str(info.value)
    assert "Added 1 number to the stop list." in out.getvalue()
    assert "12345: Too few digits for a phone number." in err.getvalue()
    assert "hello: This is not a phone number." in err.getvalue()
    assert StopListEntry.objects.get().number == "79991234561"


def test_a_file_that_cannot_be_read_exits_2_and_adds_nothing(tmp_path):
    missing = refused("import", str(tmp_path / "nowhere.csv"))
    picture = tmp_path / "list.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    not_a_table = refused("import", str(picture))

    assert missing[0] == 2 and "Cannot read" in missing[1]
    assert not_a_table[0] == 2 and "This file is not a table" in not_a_table[1]
    assert not StopListEntry.objects.exists()


def test_an_unknown_user_exits_2(tmp_path):
    assert refused("add", "79991234561", "--user", "nobody")[0] == 2
    assert not StopListEntry.objects.exists()


def test_add_takes_numbers_as_people_type_them():
    out, _err = run("add", "8 (999) 123-45-61", "79991234562", "--reason", "wrong_person")
    assert "Added 2 numbers to the stop list." in out
    assert set(StopListEntry.objects.values_list("number", "reason")) == {
        ("79991234561", "wrong_person"),
        ("79991234562", "wrong_person"),
    }
    out, _err = run("add", "79991234561")
    assert "Added 0 numbers" in out and "1 number was already on the stop list." in out


def test_export_writes_csv_and_xlsx(tmp_path):
    StopListEntry.objects.create(
        number="79991234561", reason="complaint", note="@once", added_by=make_staff("lead", perms=SENDER_PERMS)
    )
    StopListEntry.objects.create(number="79991234562")

    out, _err = run("export", str(tmp_path / "list.csv"))
    run("export", str(tmp_path / "list.xlsx"))

    assert f"Wrote 2 numbers to {tmp_path / 'list.csv'}." in out
    rows = list(csv.reader(io.StringIO((tmp_path / "list.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["number", "reason", "note", "added by", "added at"]
    assert [row[:4] for row in rows[1:]] == [
        ["79991234561", "complaint", "'@once", "lead"],
        ["79991234562", "asked not to be called", "", ""],
    ]
    sheet = load_workbook(tmp_path / "list.xlsx").active
    assert [cell.value for cell in next(sheet.iter_rows())] == ["number", "reason", "note", "added by", "added at"]
    assert sheet.max_row == 3


def test_export_to_a_name_without_csv_or_xlsx_exits_2(tmp_path):
    code, message = refused("export", str(tmp_path / "list.txt"))
    assert code == 2 and ".csv or .xlsx" in message
    assert not (tmp_path / "list.txt").exists()


def test_at_the_command_line_a_wrong_use_exits_2(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "LANGUAGE_CODE": "en"}
    for args in (["stop_list"], ["stop_list", "export", str(tmp_path / "list.txt")]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, (args, result.stderr)
