"""Phone numbers as typed or uploaded become the 11-digit form; bad input is explained."""

import pytest

from audiences.phones import InvalidNumber, normalize, parse_numbers, split_lines
from audiences.uploads import UploadError, read_numbers_file
from calls.forms import compute_preview
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


# --- Several numbers in one value, extensions, formulas, damaged files ------------------------


def bad_files():
    """(name, bytes, what the person is told) for each kind of file that cannot be read."""
    import zipfile
    from io import BytesIO

    from tests.factories_calls import xlsx_bytes

    good = xlsx_bytes([["phone"], ["79991234561"]])
    broken_sheet = BytesIO()
    with zipfile.ZipFile(BytesIO(good)) as source, zipfile.ZipFile(broken_sheet, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2] + b"<row><c r=broken"  # cut in the middle of the XML
            target.writestr(item, data)
    plain_zip = BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("notes.txt", "79991234561")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4
    jpeg_with_0x98 = b"\xff\xd8\xff\xe0\x98\x98 JFIF" + b"\x98" * 100
    # Bytes that decode as Windows-1251 text with no control character: only the magic number tells.
    jpeg_as_text = b"\xff\xd8\xff\xe1 Exif MM " + bytes(range(0xC0, 0x100)) * 8
    pdf = b"%PDF-1.7\n79991234561\n"
    return [
        ("numbers.xlsx", broken_sheet.getvalue(), "damaged"),
        ("numbers.xlsx", plain_zip.getvalue(), "not a table"),
        ("photo.xlsx", png, "not a table"),
        ("photo.csv", png, "not a table"),
        ("photo.csv", jpeg_with_0x98, "not a table"),
        ("photo.csv", jpeg_as_text, "not a table"),
        ("scan.csv", pdf, "not a table"),
        ("photo.jpg", jpeg_as_text, "Only CSV and XLSX"),
        ("numbers.xlsx", good[:300], "damaged"),  # a truncated download
        ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old Excel"),
        ("numbers.csv", b'phone\n"79991234561\n' + (b"x" * 5_000 + b"\n") * 40, "damaged"),  # an unclosed quote
    ]


@pytest.mark.parametrize(("name", "data", "message"), bad_files(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_bad_file_is_refused_in_plain_words(name, data, message, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.EXOLVE_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    with pytest.raises(UploadError) as info:
        read_numbers_file(SimpleUploadedFile(name, data))
    assert message in str(info.value)
    assert "encoding" not in str(info.value)


@pytest.mark.parametrize(
    "cell",
    ["79991234571;79991234572", "79991234571, 79991234572", "79991234571 79991234572", "79991234571 / 79991234572"],
)
def test_a_cell_with_two_numbers_gives_both(cell):
    parsed = parse_numbers(read_numbers_file(xlsx_upload([["phone"], [cell], ["79991234573"]])))
    assert parsed.valid == ["79991234571", "79991234572", "79991234573"]
    assert parsed.invalid == []


def test_a_value_that_cannot_be_told_apart_is_refused_whole():
    parsed = parse_numbers(["79991234571, 12", "79991234571 и 79991234572", "8 999 123 45 67 8 999 123 45 68"])
    assert parsed.valid == []
    reasons = [reason for _raw, reason in parsed.invalid]
    assert "Cannot tell the numbers apart" in reasons[0] and "Cannot tell the numbers apart" in reasons[1]
    assert "Several numbers?" in reasons[2]


@pytest.mark.parametrize(
    "typed",
    ["+7 999 123-45-67 доб. 12", "79991234567 ext. 12", "79991234567#12", "79991234567 x12", "8 999 1234567, доб.12"],
)
def test_a_number_with_an_extension_is_not_called(typed):
    parsed = parse_numbers([typed])
    assert parsed.valid == []  # never the main number instead
    assert parsed.invalid == [(typed, "The number has an extension (12): an automatic call cannot dial it.")]
    with pytest.raises(InvalidNumber, match="extension"):
        normalize(typed)


def test_a_formula_without_a_saved_result_is_listed_with_the_reason():
    upload = xlsx_upload([["phone"], ["79991234561"], ['=CONCATENATE("7999", "1234562")'], ["79991234563"]])
    parsed = parse_numbers(read_numbers_file(upload))
    assert parsed.valid == ["79991234561", "79991234563"]
    assert len(parsed.invalid) == 1
    raw, reason = parsed.invalid[0]
    assert raw.startswith("=CONCATENATE") and "formula" in reason


def test_pasted_lines_may_hold_several_numbers():
    parsed = compute_preview("79991234571;79991234572\n79991234573, bad")
    assert parsed.valid == ["79991234571", "79991234572", "79991234573"]
    assert [raw for raw, _reason in parsed.invalid] == ["bad"]


def test_the_whole_list_is_limited_even_when_cells_hold_several_numbers(settings):
    from audiences.phones import TooManyNumbers

    settings.EXOLVE_UPLOAD_MAX_ROWS = 10
    with pytest.raises(TooManyNumbers, match="more than 10"):
        compute_preview("", xlsx_upload([["phone"]] + [[f"7999123{n:04d};7999124{n:04d}"] for n in range(6)]))


def test_a_huge_xlsx_is_refused_at_the_row_limit_without_reading_it_all(settings):
    """A million rows under the size limit: refused after the first rows, in well under a second."""
    import io
    import time

    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    settings.EXOLVE_UPLOAD_MAX_ROWS = 100
    settings.EXOLVE_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    rows = 120_000  # enough that reading the whole sheet (openpyxl's read_only load does) takes seconds
    workbook = Workbook(write_only=True)  # like generated files: no <dimension>, so openpyxl would scan it all
    sheet = workbook.create_sheet()
    sheet.append(["phone"])
    for n in range(rows):
        sheet.append([79990000000 + n])
    buffer = io.BytesIO()
    workbook.save(buffer)
    started = time.monotonic()
    with pytest.raises(UploadError, match="more than 100 numbers"):
        read_numbers_file(SimpleUploadedFile("big.xlsx", buffer.getvalue()))
    assert time.monotonic() - started < 0.5
