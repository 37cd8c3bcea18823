"""One send page: the voice messages' "Send…" action and the old admin URL both lead to /portal/send/.

The message comes preselected; from the action, the change list with its filters is the
way back, and only a change list of this admin is ever offered as one.
"""

from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.factories import make_staff
from tests.factories_calls import SOURCE

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:voicemessages_voicemessage_changelist"
FILTERS = "exolve_state=present&has_redirect=no"
ACTION = "send_voice_message"


def filtered_changelist() -> str:
    return f"{reverse(CHANGELIST)}?{FILTERS}"


def run_send_action(client, *messages):
    return client.post(filtered_changelist(), {"action": ACTION, "_selected_action": [m.pk for m in messages]})


def return_link(page: str) -> str | None:
    """The href of the page's link back to the list, if it shows one."""
    marker = 'id="return-to-list" href="'
    if marker not in page:
        return None
    start = page.index(marker) + len(marker)
    return unescape(page[start : page.index('"', start)])


def test_the_action_leads_to_the_send_page_with_the_message_and_the_filters(operator_page_client, voice_message):
    response = run_send_action(operator_page_client, voice_message)

    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == reverse("portal:send")
    query = parse_qs(target.query)
    assert query["voice_message"] == [str(voice_message.pk)]
    assert query["return"] == [filtered_changelist()]

    page = operator_page_client.get(response.url)
    assert page.status_code == 200
    assert page.context["form"].initial["voice_message"] == str(voice_message.pk)
    assert return_link(page.content.decode()) == filtered_changelist()
    # The way back opens the list with the same filters, and the message is in it.
    back = operator_page_client.get(return_link(page.content.decode()))
    assert back.status_code == 200 and voice_message in back.context["cl"].result_list
    assert back.context["cl"].get_filters_params() == {"exolve_state": ["present"], "has_redirect": ["no"]}


def test_the_way_back_survives_the_preview(operator_page_client, voice_message):
    send_page = operator_page_client.get(run_send_action(operator_page_client, voice_message).url)
    send_url = send_page.context["send_url"]
    assert parse_qs(urlsplit(send_url).query)["return"] == [filtered_changelist()]

    typed = {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "numbers": "79991234561",
        "token": "t-1",
        "basis": "contract",
    }
    preview = operator_page_client.post(send_url, {**typed, "_preview": "1"})

    page = preview.content.decode()
    assert 'id="send-preview"' in page
    assert return_link(page) == filtered_changelist()


def test_the_old_admin_send_url_leads_to_the_send_page_with_the_message(operator_page_client, voice_message):
    old = reverse("admin:calls_broadcast_send") + f"?voice_message={voice_message.pk}"

    response = operator_page_client.get(old)

    assert response.status_code == 301
    assert response.url == reverse("portal:send") + f"?voice_message={voice_message.pk}"
    page = operator_page_client.get(response.url)
    assert page.status_code == 200
    assert page.context["form"].initial["voice_message"] == str(voice_message.pk)
    assert return_link(page.content.decode()) is None  # nowhere to go back to


def test_the_action_is_offered_only_to_those_who_may_send(client, english, voice_message):
    viewer = make_staff("viewer", perms=("voicemessages.view_voicemessage",))
    client.force_login(viewer)

    page = client.get(reverse(CHANGELIST)).content.decode()
    assert f'value="{ACTION}"' not in page
    response = run_send_action(client, voice_message)
    assert not (response.status_code == 302 and reverse("portal:send") in response.url)

    client.force_login(make_staff("sender", perms=("voicemessages.view_voicemessage", "calls.send_voicemessage")))
    assert f'value="{ACTION}"' in client.get(reverse(CHANGELIST)).content.decode()


def test_the_action_wants_exactly_one_message(operator_page_client, voice_message):
    other = type(voice_message).objects.create(name="Other", media_id=voice_message.media_id)

    response = run_send_action(operator_page_client, voice_message, other)

    assert response.status_code == 302 and urlsplit(response.url).path == reverse(CHANGELIST)
    page = operator_page_client.get(response.url).content.decode()
    assert "Select exactly one voice message to send." in page


@pytest.mark.parametrize(
    "value",
    [
        "https://elsewhere.example/admin/voicemessages/voicemessage/",
        "//elsewhere.example/admin/voicemessages/voicemessage/",
        "javascript:alert(1)",
        "/portal/calls/",  # on this site, but not an admin list
        "/admin/voicemessages/voicemessage/1/change/",  # an admin page, but not a list
        "/nowhere/",
        "admin/voicemessages/voicemessage/",  # not a path from the site's root
    ],
)
def test_a_way_back_elsewhere_is_not_offered(operator_page_client, voice_message, value):
    page = operator_page_client.get(reverse("portal:send"), {"voice_message": voice_message.pk, "return": value})

    assert page.status_code == 200
    assert return_link(page.content.decode()) is None
    assert page.context["send_url"] == reverse("portal:send")


def test_any_admin_change_list_with_its_filters_is_a_way_back(operator_page_client, voice_message):
    calls = reverse("admin:calls_call_changelist") + "?state__exact=queued"

    page = operator_page_client.get(reverse("portal:send"), {"return": calls}).content.decode()

    assert return_link(page) == calls
    assert "Back to the list: calls" in page
