"""Phone numbers as typed or uploaded become the 11-digit form; bad input is explained."""

import pytest

from calls.forms import compute_preview
from calls.phones import InvalidNumber, normalize, parse_numbers, source_numbers, split_lines
from calls.uploads import UploadError, read_numbers_file
from tests.factories_calls import csv_upload, xlsx_upload


@pytest.mark.parametrize(
    "typed",
    ["+7 (999) 123-45-67", "8 999 1234567", "79991234567", "8-999-123-45-67", " +7 999 123 45 67 ", "9991234567"],
)
def test_usual_forms_become_eleven_digits(typed):
    assert normalize(typed) == "79991234567"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("123", "few digits"),
        ("+7 999 123 45 6", "few digits"),
        ("abc", "not a phone number"),
        ("+1 202 555 0123", "+7"),
        ("+7 999 123 45 67 89 01 23", "many digits"),
        ("", "empty"),
    ],
)
def test_invalid_numbers_say_why(typed, reason):
    with pytest.raises(InvalidNumber) as info:
        normalize(typed)
    assert reason in str(info.value)


def test_parse_lists_invalid_and_duplicates_and_keeps_each_valid_number_once():
    parsed = parse_numbers(["+7 (999) 123-45-67", "8 999 1234567", "nonsense", "79991234568", "79991234567"])
    assert parsed.valid == ["79991234567", "79991234568"]
    assert parsed.duplicates == ["79991234567", "79991234567"]
    assert [raw for raw, _reason in parsed.invalid] == ["nonsense"]
    assert parsed.counts == {"valid": 2, "invalid": 1, "duplicates": 2}


def test_empty_list_has_nothing_valid():
    assert parse_numbers(split_lines("\n  \n")).counts == {"valid": 0, "invalid": 0, "duplicates": 0}


def test_source_numbers_are_the_sandbox_ones_in_sandbox_mode(settings):
    settings.EXOLVE_SOURCE_NUMBERS = []
    settings.EXOLVE_SANDBOX = True
    assert source_numbers() == ["74951234567", "74957654321"]
    settings.EXOLVE_SOURCE_NUMBERS = ["74990000000"]
    assert source_numbers() == ["74990000000"]
    settings.EXOLVE_SOURCE_NUMBERS = []
    settings.EXOLVE_SANDBOX = False
    assert source_numbers() == []


# --- Uploads ----------------------------------------------------------------------


def test_csv_with_a_phone_header_among_other_columns():
    upload = csv_upload("name;Телефон;city\nAnna;+7 999 123-45-67;Moscow\nBoris;8 999 765 43 21;Tver\n")
    assert read_numbers_file(upload) == ["+7 999 123-45-67", "8 999 765 43 21"]


def test_single_column_csv_needs_no_header():
    assert read_numbers_file(csv_upload("79991234567\n79991234568\n")) == ["79991234567", "79991234568"]


def test_xlsx_phone_column_with_numbers_stored_as_numbers():
    upload = xlsx_upload([("Name", "Phone"), ("Anna", 79991234567), ("Boris", "8 999 765-43-21")])
    assert read_numbers_file(upload) == ["79991234567", "8 999 765-43-21"]


def test_file_without_a_phone_column_is_refused():
    with pytest.raises(UploadError, match="No phone column"):
        read_numbers_file(csv_upload("name,city\nAnna,Moscow\n"))


def test_file_that_is_not_csv_or_xlsx_is_refused():
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(UploadError, match="Only CSV and XLSX"):
        read_numbers_file(SimpleUploadedFile("numbers.pdf", b"%PDF-1.4 binary"))


def test_broken_xlsx_is_refused():
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(UploadError, match="XLSX"):
        read_numbers_file(SimpleUploadedFile("numbers.xlsx", b"PK\x03\x04 not really a zip"))


def test_empty_file_is_refused():
    with pytest.raises(UploadError, match="empty"):
        read_numbers_file(csv_upload(""))


def test_header_only_file_has_no_numbers():
    with pytest.raises(UploadError, match="no phone numbers"):
        read_numbers_file(csv_upload("phone\n"))


def test_hundred_thousand_rows_are_refused_with_the_limit(settings):
    settings.EXOLVE_UPLOAD_MAX_ROWS = 10_000
    settings.EXOLVE_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    text = "phone\n" + "".join(f"7999{n:07d}\n" for n in range(100_000))
    with pytest.raises(UploadError) as info:
        read_numbers_file(csv_upload(text))
    assert "10000" in str(info.value)


def test_oversize_file_is_refused_by_size(settings):
    settings.EXOLVE_UPLOAD_MAX_BYTES = 100
    with pytest.raises(UploadError, match="too large"):
        read_numbers_file(csv_upload("phone\n" + "79991234567\n" * 20))


def test_preview_combines_pasted_numbers_and_file():
    parsed = compute_preview("79991234567\nbad", csv_upload("phone\n8 999 123 45 67\n79991234568\n"))
    assert parsed.valid == ["79991234567", "79991234568"]
    assert parsed.duplicates == ["79991234567"]
    assert len(parsed.invalid) == 1
