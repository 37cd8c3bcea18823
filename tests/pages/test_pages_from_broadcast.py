"""A new broadcast to the people of a previous one, by outcome: broadcast page, send page, preview, one broadcast."""

from collections import Counter

import pytest
from django.urls import reverse

from audiences import stop_list
from calls.models import Broadcast, Call
from calls.sending import send_queued_calls
from tests.calls.test_previous_people import build_history
from tests.factories import make_staff
from tests.factories_calls import MAKE, SOURCE
from tests.pages_helpers import confirmation

pytestmark = pytest.mark.django_db

SEND = reverse("portal:send")


def _preview(client, voice_message, query, token="from-token-1", **extra):
    data = {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "token": token,
        "basis": "contract",
        "_preview": "1",
        **extra,
    }
    return client.post(f"{SEND}?{query}", data)


def test_broadcast_page_offers_the_people_by_outcome_with_counts(operator_page_client, voice_message):
    x, expected = build_history(voice_message)
    page = operator_page_client.get(reverse("portal:broadcast", args=[x.pk])).content.decode()
    form = page[page.index('id="new-broadcast-from"') :]
    assert f'action="{SEND}" class="module portal-module" id="new-broadcast-from"' in page
    assert f'name="from_broadcast" value="{x.pk}"' in form
    for outcome, numbers in expected.items():
        assert f'id="from-count-{outcome}">{len(numbers)}<' in form


def test_from_the_send_page_to_one_broadcast_of_those_people(
    operator_page_client, operator_user, voice_message, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.EXOLVE_CALLING_HOURS = "any"
    x, expected = build_history(voice_message)
    chosen = expected["no_answer"] | expected["busy"]
    stop_list.add(["79990000001"])  # busy in X, but asked not to be called since
    query = f"from_broadcast={x.pk}&outcome=no_answer&outcome=busy"

    opened = operator_page_client.get(f"{SEND}?{query}").content.decode()
    assert f"From broadcast #{x.pk}: did not answer, busy — 4 people" in opened
    assert 'id="id_numbers"' not in opened and 'id="id_file"' not in opened

    response = _preview(operator_page_client, voice_message, query)
    page = response.content.decode()
    assert response.status_code == 200, response.context["form"].errors
    assert response.context["form"].stop_listed == ["79990000001"]
    assert "3 numbers will be called" in page and 'id="count-stop-listed"' in page
    assert "Kate" in page  # the names the first list gave
    assert f'action="{SEND}?from_broadcast={x.pk}&amp;outcome=no_answer%2Cbusy"' in page  # the choice stays

    data = confirmation(response)
    with django_capture_on_commit_callbacks(execute=True):
        first = operator_page_client.post(f"{SEND}?{query}", data)
        second = operator_page_client.post(f"{SEND}?{query}", data)  # a double submit
    new = Broadcast.objects.exclude(pk__in=[x.pk]).filter(created_by=operator_user).get()
    assert first.url == second.url == reverse("portal:broadcast", args=[new.pk])
    assert new.name == f"From broadcast #{x.pk}: did not answer, busy"
    assert set(new.calls.values_list("destination", flat=True)) == chosen
    kate = new.calls.get(destination="79990000011")
    assert kate.details == {"name": "Kate", "flat": "12"} and kate.time_zone == "Asia/Vladivostok"
    send_queued_calls(new.pk)
    sent = Counter(e["body"]["destination"] for e in sandbox.requests_log(MAKE) if e["status"] == 200)
    assert sent == dict.fromkeys(chosen - {"79990000001"}, 1)  # each once; the stop-listed one never


def test_the_people_are_fixed_at_the_preview(operator_page_client, voice_message, sandbox, settings):
    settings.EXOLVE_CALLING_HOURS = "any"
    x, expected = build_history(voice_message)
    query = f"from_broadcast={x.pk}&outcome=no_answer"
    data = confirmation(_preview(operator_page_client, voice_message, query))
    x.calls.filter(destination="79990000008").update(status="completed")  # answered a late retry meanwhile
    operator_page_client.post(f"{SEND}?{query}", data)
    new = Broadcast.objects.exclude(pk=x.pk).get(token=data["token"])
    assert set(new.calls.values_list("destination", flat=True)) == expected["no_answer"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from_broadcast=999999&outcome=busy", "There is no broadcast #999999"),
        ("from_broadcast=X&outcome=nobody_home", "is not an outcome"),
        ("from_broadcast=X", "Choose at least one outcome"),
        ("from_broadcast=X&outcome=answered", "Nobody matches"),
    ],
)
def test_a_choice_that_gives_nobody_is_said_in_plain_words(operator_page_client, voice_message, query, words):
    x, _expected = build_history(voice_message)
    Call.objects.filter(status="completed").update(status="busy")  # nobody answered, not even when sent again
    query = query.replace("X", str(x.pk))
    assert operator_page_client.get(f"{SEND}?{query}").status_code == 200
    response = _preview(operator_page_client, voice_message, query)
    assert response.status_code == 200 and words in response.content.decode()
    assert Broadcast.objects.count() == 3  # X and its two resends: nothing recorded


def test_only_those_who_may_send_see_and_use_it(client, nobody_client, voice_message):
    x, _expected = build_history(voice_message)
    query = f"from_broadcast={x.pk}&outcome=busy"
    assert nobody_client.get(f"{SEND}?{query}").status_code == 403
    assert _preview(nobody_client, voice_message, query).status_code == 403
    viewer = make_staff("viewer", perms=("calls.view_call", "calls.view_broadcast"))
    client.force_login(viewer)
    page = client.get(reverse("portal:broadcast", args=[x.pk])).content.decode()
    assert 'id="new-broadcast-from"' not in page
    assert client.get(f"{SEND}?{query}").status_code == 403
    sender_blind = make_staff("blind", perms=("calls.send_voicemessage", "voicemessages.view_voicemessage"))
    client.force_login(sender_blind)  # may send to numbers, not see the people of a broadcast
    assert client.get(SEND).status_code == 200
    assert client.get(f"{SEND}?{query}").status_code == 403
