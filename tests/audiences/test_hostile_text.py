"""Hostile pasted text and CSV: refused in plain words or read correctly, in bounded time, on every path.

Each text goes through the real entry points: the send page and the stop-list import
with the test client, `send_voicemessage` and `stop_list` with call_command. The CPU
time of each request (``time.process_time`` around the client call) stays under
CPU_BOUND; before the fix a 5 MB line took 63 s and 10,001 lines of 500 characters
66 s. The peak memory of reading the worst text is measured in a child process.
"""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from audiences.models import StopListEntry
from jobs.models import Job, JobState
from tests.factories_calls import SOURCE
from tests.pages_helpers import send_preview

pytestmark = pytest.mark.django_db

CPU_BOUND = 3.0  # seconds of CPU for one request, whatever was pasted
FIVE_MB = 5_000_000  # under the 5 MiB upload and request limits
IMPORT = "admin:audiences_stoplistentry_import"


def cpu(call):
    """(what `call()` returned, the CPU seconds it took in this process)."""
    started = time.process_time()
    result = call()
    return result, time.process_time() - started


def numbers_error(response) -> str:
    return str(response.context["form"].errors.get("numbers", ""))


def file_error(response) -> str:
    return str(response.context["form"].errors.get("file", ""))


# --- the send page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("7999 1234567 " * (FIVE_MB // 13), "The pasted text is too long", id="5 MB single line"),
        pytest.param("\n".join(["+7 999 123-45-67 " * 30] * 10_001), "The pasted text is too long", id="10001x500"),
        pytest.param("79991234561\n" + "7" * 300_000, "Line 2 is 300000 characters long", id="300 KB line"),
        pytest.param("\n".join(f"7999{i:07d}" for i in range(10_001)), "more than 10000 numbers", id="10001 numbers"),
        pytest.param("79991234561\x00\n79991234562", "Null characters are not allowed", id="NUL"),
    ],
)
def test_send_page_refuses_hostile_pasted_text_in_plain_words_at_once(
    operator_page_client, voice_message, text, message
):
    response, took = cpu(lambda: send_preview(operator_page_client, voice_message, text))

    assert response.status_code == 200
    assert message in numbers_error(response)
    assert response.context["preview"] is None
    assert took < CPU_BOUND, f"{took:.1f} s of CPU"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"phone\n" + b"7" * FIVE_MB, "Line 2 of the file is 5000000 characters long", id="5 MB cell"),
        pytest.param(b"phone\n79991234561\n" + b"\n" * FIVE_MB, "more than 11000 rows", id="5 MB of empty rows"),
        pytest.param(b"phone" + b"," * FIVE_MB, "Line 1 of the file is 5000005", id="5 MB of columns"),
        pytest.param(b"\n".join([b"7" * 500] * 10_001), "Row 1: the phone cell is 500 characters long", id="10001x500"),
        pytest.param(b"phone\n7999\x001234561\n", "not a table", id="NUL"),
    ],
)
def test_send_page_refuses_a_hostile_csv_in_plain_words_at_once(operator_page_client, voice_message, data, message):
    upload = SimpleUploadedFile("numbers.csv", data)

    response, took = cpu(lambda: send_preview(operator_page_client, voice_message, "", file=upload))

    assert response.status_code == 200
    assert message in file_error(response)
    assert took < CPU_BOUND, f"{took:.1f} s of CPU"


def test_send_page_reads_a_utf16_csv_as_excel_saves_unicode_text(operator_page_client, voice_message):
    data = "Телефон\tИмя\n+7 (999) 123-45-61\tАнна\n8 999 123 45 62\tПётр\n".encode("utf-16")

    response = send_preview(operator_page_client, voice_message, "", file=SimpleUploadedFile("list.txt", data))

    assert response.context["preview"].valid == ["79991234561", "79991234562"]


# --- the stop-list import -----------------------------------------------------------------


def import_post(client, numbers="", **extra):
    return client.post(reverse(IMPORT), {"numbers": numbers, "reason": "asked", "note": "", **extra})


def test_stop_list_paste_of_350000_numbers_becomes_a_job_that_puts_them_on_the_list(operator_role_client, worker):
    # 1,000 numbers 350 times over: the request reads as many lines as 350,000 different
    # numbers would, and the job stays short enough for a test (each number is added once).
    numbers = [f"7999{i % 1000:07d}" for i in range(350_000)]

    response, took = cpu(lambda: import_post(operator_role_client, "\n".join(numbers)))

    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("jobs:job", args=[job.pk])
    assert (job.kind, job.state, job.total) == ("calls.stop_list_import", JobState.WAITING, 350_000)
    assert took < CPU_BOUND, f"{took:.1f} s of CPU"
    assert not StopListEntry.objects.exists()  # the request only recorded the job

    worker()

    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error
    assert StopListEntry.objects.count() == 1_000
    page = operator_role_client.get(reverse("jobs:job", args=[job.pk])).content.decode()
    assert "Added 1000 numbers to the stop list." in page
    assert "349000 numbers were given more than once and counted once." in page
    assert "values" not in job.params  # the numbers are not kept once on the list


def test_stop_list_file_of_more_than_5000_numbers_becomes_a_job_too(operator_role_client, worker):
    rows = "\n".join(f"+7 999 {i % 1000:07d}" for i in range(6_000))
    upload = SimpleUploadedFile("numbers.csv", f"phone\n{rows}\nnot a number\n".encode())

    response = import_post(operator_role_client, file=upload)

    job = Job.objects.get()
    assert response["Location"] == reverse("jobs:job", args=[job.pk]) and job.total == 6_001
    worker()
    page = operator_role_client.get(reverse("jobs:job", args=[job.pk])).content.decode()
    assert StopListEntry.objects.count() == 1_000
    assert "1 number could not be read and was not added." in page and "not a number: " in page


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("7999 1234567 " * (FIVE_MB // 13), "Line 1 is 4999994 characters long", id="5 MB single line"),
        pytest.param("\n".join(["7" * 500] * 10_001), "Line 1 is 500 characters long", id="10001x500"),
        pytest.param("79991234561\x00\n", "Null characters are not allowed", id="NUL"),
    ],
)
def test_stop_list_paste_refuses_hostile_text_in_plain_words_at_once(operator_role_client, text, message):
    response, took = cpu(lambda: import_post(operator_role_client, text))

    assert response.status_code == 200
    assert message in str(response.context["form"].errors["numbers"])
    assert not Job.objects.exists() and not StopListEntry.objects.exists()
    assert took < CPU_BOUND, f"{took:.1f} s of CPU"


def test_stop_list_file_with_a_5_mb_cell_is_refused_at_once(operator_role_client):
    upload = SimpleUploadedFile("numbers.csv", b"phone\n79991234561\n" + b"7" * FIVE_MB)

    response, took = cpu(lambda: import_post(operator_role_client, file=upload))

    assert "Line 3 of the file is 5000000 characters long" in str(response.context["form"].errors["file"])
    assert took < CPU_BOUND, f"{took:.1f} s of CPU"


# --- the commands -------------------------------------------------------------------------


def test_send_command_refuses_a_number_of_5_mb(voice_message):
    with pytest.raises(CommandError, match="Number 2 of the list is 5000000 characters long"):
        call_command(
            "send_voicemessage",
            message=str(voice_message.pk),
            source=SOURCE,
            basis="contract",
            to=["79991234562", "7" * FIVE_MB],
        )


def test_send_command_refuses_a_file_with_a_5_mb_cell(voice_message, tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_bytes(b"phone\n" + b"7" * FIVE_MB)

    (error, took) = cpu(
        lambda: pytest.raises(
            CommandError,
            call_command,
            "send_voicemessage",
            basis="contract",
            message=str(voice_message.pk),
            source=SOURCE,
            file=str(path),
        )
    )

    assert "Line 2 of the file is 5000000 characters long" in str(error.value)
    assert took < CPU_BOUND


def test_stop_list_command_reads_utf16_and_refuses_a_5_mb_number(tmp_path, capsys):
    path = tmp_path / "numbers.csv"
    path.write_bytes("номер\n+7 999 123-45-61\n".encode("utf-16"))

    call_command("stop_list", "import", str(path))
    assert list(StopListEntry.objects.values_list("number", flat=True)) == ["79991234561"]

    with pytest.raises(CommandError, match="Number 1 of the list is 5000000 characters long"):
        call_command("stop_list", "add", "7" * FIVE_MB)


# --- peak memory ---------------------------------------------------------------------------

CHILD = """
import os, resource, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "exolve_portal.settings"
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from audiences.phones import ListRefused, parse_numbers, split_lines
from audiences.uploads import UploadError, read_numbers_file

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

small = "\\n".join(f"7999{i:07d}" for i in range(10_000))
parse_numbers(split_lines(small, limit=10_000), limit=10_000)
read_numbers_file(SimpleUploadedFile("n.csv", small.encode()))
before = peak()
for text in ("7999 1234567 " * 384_615, "\\n".join(["7" * 500] * 10_001), "\\n" * 5_000_000):
    try:
        parse_numbers(split_lines(text, limit=10_000), limit=10_000)
    except ListRefused:
        pass
    for data in (text.encode(), b"phone\\n" + text.encode()):
        try:
            read_numbers_file(SimpleUploadedFile("n.csv", data))
        except UploadError:
            pass
print(before, peak())
"""


def test_reading_the_worst_text_takes_little_more_memory_than_a_normal_list():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    before, after = (int(kib) for kib in done.stdout.split())

    # Each text is 5 MB; reading it (bytes, text, the CSV rows) may hold a few copies, never hundreds.
    assert after - before < 64 * 1024, f"peak grew by {(after - before) // 1024} MiB"
