"""A call's page reads in staff's words: raw payloads and internal ids only in the collapsed block for engineers."""

import html
import re

import pytest
from django.urls import reverse

from calls.models import CallState
from tests.factories_calls import make_call

pytestmark = pytest.mark.django_db

ENGINEERS = '<fieldset class="module aligned collapse engineer-details"'
RAW_WORDS = re.compile(r"(?<![\w-])(null|None|\{\})(?![\w-])")


def parts(client, call) -> tuple[str, str]:
    """(the page's content without the engineers' block, that block)."""
    page = client.get(reverse("admin:calls_call_change", args=[call.pk])).content.decode()
    content = page[page.index('<div id="content"') :]
    content = re.sub(r"<script.*?</script>", "", content, flags=re.S)
    start = content.index(ENGINEERS)
    end = content.index("</fieldset>", start) + len("</fieldset>")
    return content[:start] + content[end:], html.unescape(content[start:end])


@pytest.mark.parametrize(
    "fields",
    [
        {"state": CallState.QUEUED},  # nothing from Exolve yet: no "null", no "{}"
        {
            "state": CallState.FINISHED,
            "status": "completed",
            "call_id": "cal-7781",
            "claimed_by": "worker-host:4242:9f1c",
            "duration": 31,
            "raw": {"call_id": "cal-7781", "status": "completed", "ended": None, "extra": {}},
        },
    ],
    ids=["queued", "finished"],
)
def test_the_call_page_shows_no_raw_words_outside_the_engineers_block(admin_client, voice_message, fields):
    call = make_call(voice_message, "79991234561", **fields)
    staff, engineers = parts(admin_client, call)

    assert not RAW_WORDS.search(re.sub(r"<[^>]+>", " ", staff)), RAW_WORDS.findall(staff)
    assert "+7 999 123-45-61" in staff and 'class="outcome outcome-' in staff
    for internal in (call.service_id, "cal-7781", "worker-host:4242:9f1c", "79991234561"):
        assert internal not in staff
    assert "<details>" in engineers and "<details open" not in engineers  # folded away
    assert call.service_id in engineers and "79991234561" in engineers


def test_the_engineers_block_holds_exolves_raw_answer(admin_client, voice_message):
    raw = {"call_id": "cal-7781", "status": "completed", "ended": None}
    call = make_call(voice_message, state=CallState.FINISHED, status="completed", call_id="cal-7781", raw=raw)
    staff, engineers = parts(admin_client, call)
    assert '"ended": null' in engineers and "cal-7781" in engineers and "worker" not in staff
    never_answered = make_call(voice_message, "79991234562")
    assert "Exolve has not answered about this call yet." in parts(admin_client, never_answered)[1]
