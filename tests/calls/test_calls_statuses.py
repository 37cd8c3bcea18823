"""Exolve's call statuses in the staff's words: on pages, in exports; unknown ones as received."""

import pytest
from django.utils import translation

from calls.statuses import STATUS_LABELS, status_html, status_label


@pytest.mark.parametrize(
    ("raw", "english", "russian"),
    [
        ("ringing", "ringing", "идёт вызов"),
        ("talk", "talking", "разговор"),
        ("completed", "completed", "состоялся"),
        ("no_answer", "no answer", "нет ответа"),
        ("busy", "busy", "занято"),
        ("failed", "failed", "не удался"),
    ],
)
def test_known_statuses_read_in_the_readers_language(raw, english, russian):
    with translation.override("en"):
        assert status_label(raw) == english
    with translation.override("ru"):
        assert status_label(raw) == russian


def test_every_final_status_has_a_label():
    from calls.models import FINAL_STATUSES

    assert set(FINAL_STATUSES) <= set(STATUS_LABELS)


def test_an_unknown_status_is_shown_as_exolve_sent_it_set_apart_as_code():
    assert status_label("hold_on") == "hold_on"
    assert status_html("hold_on") == '<code class="exolve-status">hold_on</code>'
    assert status_label("") == "" and status_html("") == "—"


def test_a_known_status_keeps_the_raw_string_in_a_tooltip():
    with translation.override("ru"):
        shown = status_html("no_answer")
    assert shown == '<span class="exolve-status" title="no_answer" data-exolve-status="no_answer">нет ответа</span>'


def test_exports_write_the_label_in_the_status_column(db, settings):
    from calls.models import Call
    from pages import exports
    from tests.pages_helpers import bulk_calls, make_broadcast

    bulk_calls(1, broadcast=make_broadcast(), state="finished", status="no_answer")
    status_column = exports.headers().index("Exolve status")
    with translation.override("ru"):
        (row,) = list(exports.export_rows(Call.objects.all()))
    assert row[status_column] == "нет ответа"
