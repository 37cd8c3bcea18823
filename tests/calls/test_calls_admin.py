"""The admin: refresh actions, list pages; and the send form the admin's "Send…" leads to.

How the action reaches the one send page is in tests/calls/test_send_entry_points.py.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Broadcast, Call, CallState
from calls.sending import send_queued_calls
from tests.factories import make_staff
from tests.factories_calls import MAKE, SOURCE, csv_upload, make_call, queue
from tests.pages_helpers import confirmation, send_preview
from voicemessages.models import VoiceMessage

pytestmark = pytest.mark.django_db

SEND_URL = "portal:send"  # the one send page


def test_preview_counts_then_confirm_creates_one_broadcast_and_redirects(
    voice_message, operator_client, operator, dummy_tasks, sandbox
):
    response = send_preview(
        operator_client, voice_message, "+7 (999) 123-45-61\n8 999 123 45 61\nnonsense\n79991234562"
    )
    assert response.status_code == 200
    counts = response.context["preview"].counts
    assert counts == {"valid": 2, "invalid": 1, "duplicates": 1}
    assert b"nonsense" in response.content
    assert not Broadcast.objects.exists()  # a preview records nothing
    assert sandbox.count(MAKE) == 0

    data = confirmation(response)
    response = operator_client.post(reverse(SEND_URL), data)
    broadcast = Broadcast.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("portal:broadcast", args=[broadcast.pk])
    assert sorted(broadcast.calls.values_list("destination", flat=True)) == ["79991234561", "79991234562"]
    assert broadcast.created_by == operator
    assert broadcast.invalid_numbers[0][0] == "nonsense"

    # The same confirmation submitted again (double click, back + resubmit): still one.
    again = operator_client.post(reverse(SEND_URL), data)
    assert again.status_code == 302 and again.url == response.url
    assert Broadcast.objects.count() == 1 and Call.objects.count() == 2


def test_empty_list_is_refused_and_the_form_is_kept(voice_message, operator_client):
    response = send_preview(operator_client, voice_message, "   \n")
    assert response.status_code == 200 and response.context["preview"] is None
    assert "Paste at least one number" in str(response.context["form"].non_field_errors())


def test_only_invalid_numbers_are_refused_with_reasons_kept(voice_message, operator_client):
    response = send_preview(operator_client, voice_message, "123\nabc")
    assert "None of the numbers can be called" in str(response.context["form"].non_field_errors())
    assert "123\nabc" in response.content.decode()  # nothing typed is lost


def test_upload_errors_keep_the_pasted_text(voice_message, operator_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = send_preview(
        operator_client, voice_message, "79991234561", file=SimpleUploadedFile("list.docx", b"binary stuff")
    )
    assert "Only CSV and XLSX" in str(response.context["form"].errors["file"])
    assert "79991234561" in response.content.decode()
    response = send_preview(operator_client, voice_message, "79991234561", file=csv_upload("name,city\nA,B\n"))
    assert "No phone column" in str(response.context["form"].errors["file"])


def test_upload_is_previewed(voice_message, operator_client):
    response = send_preview(operator_client, voice_message, "", file=csv_upload("phone\n79991234561\n79991234561\nx\n"))
    assert response.context["preview"].counts == {"valid": 1, "invalid": 1, "duplicates": 1}


def test_missing_at_exolve_message_is_not_offered(voice_message, operator_client):
    type(voice_message).objects.filter(pk=voice_message.pk).update(missing_since=timezone.now())
    response = send_preview(operator_client, voice_message, "79991234561")
    assert "voice_message" in response.context["form"].errors


def test_message_deleted_between_preview_and_confirm(voice_message, operator_client, dummy_tasks):
    response = send_preview(operator_client, voice_message, "79991234561")
    data = confirmation(response)
    voice_message.delete()
    response = operator_client.post(reverse(SEND_URL), data)
    assert response.status_code == 200 and not Broadcast.objects.exists()
    assert response.context["confirm"].errors


def test_sending_needs_the_permission_on_every_request(voice_message, client, dummy_tasks):
    user = make_staff("viewer", perms=("calls.view_call", "calls.view_broadcast"))
    client.force_login(user)
    assert client.get(reverse(SEND_URL)).status_code == 403
    data = {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "token": "t",
        "destinations": "79991234561",
        "_confirm": "1",
    }
    assert client.post(reverse(SEND_URL), data).status_code == 403
    assert not Broadcast.objects.exists()


def test_refresh_statistics_action(voice_message, operator_client, dummy_tasks, sandbox):
    broadcast = queue(voice_message, ["79991234561", "79991234566"])
    send_queued_calls(broadcast.pk)
    sandbox.advance(60)
    response = operator_client.post(
        reverse("admin:calls_call_changelist"),
        {"action": "refresh_statistics", "_selected_action": list(broadcast.calls.values_list("pk", flat=True))},
    )
    assert response.status_code == 302
    assert dict(broadcast.calls.values_list("destination", "status")) == {
        "79991234561": "completed",
        "79991234566": "no_answer",
    }


def test_refresh_button_on_a_call(voice_message, operator_client, dummy_tasks, sandbox):
    broadcast = queue(voice_message, ["79991234561"])
    send_queued_calls(broadcast.pk)
    call = broadcast.calls.get()
    page = operator_client.get(reverse("admin:calls_call_change", args=[call.pk]))
    refresh_url = reverse("admin:calls_call_refresh", args=[call.pk])
    assert refresh_url in page.content.decode()
    assert operator_client.get(refresh_url).status_code == 405
    sandbox.advance(60)
    response = operator_client.post(refresh_url)
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.state == "finished" and call.status == "completed"


def test_refresh_button_needs_the_permission(voice_message, client, dummy_tasks):
    call = make_call(voice_message, state=CallState.SENT, call_id="cal-1")
    client.force_login(make_staff("viewer", perms=("calls.view_call",)))
    assert client.post(reverse("admin:calls_call_refresh", args=[call.pk])).status_code == 403


def test_resend_action_asks_first_then_creates_new_calls(
    voice_message, operator_client, operator, dummy_tasks, sandbox
):
    broadcast = queue(voice_message, ["79991234561", "79991234562"], user=operator)  # their own broadcast
    sandbox.add_fault("lost_response", endpoint=MAKE, times=1)
    send_queued_calls(broadcast.pk, max_in_flight=1)
    unknown = Call.objects.get(state="unknown")
    selected = list(broadcast.calls.values_list("pk", flat=True))
    url = reverse("admin:calls_call_changelist")
    page = operator_client.post(url, {"action": "resend", "_selected_action": selected})
    assert page.status_code == 200 and unknown.destination in page.content.decode()
    assert Call.objects.count() == 2  # nothing yet
    response = operator_client.post(url, {"action": "resend", "_selected_action": selected, "post": "yes"})
    assert response.status_code == 302
    new = Call.objects.get(resend_of=unknown)
    assert new.state == "queued" and new.destination == unknown.destination
    assert Call.objects.count() == 3  # the sent one was not resent


def test_call_search_finds_a_number_typed_the_way_people_write_it(voice_message, operator_client):
    to_them = make_call(voice_message, "79991234567")
    make_call(voice_message, "79991234568")
    from_them = make_call(voice_message, "79991234569", source="79991234567")

    searched = operator_client.get(reverse("admin:calls_call_changelist"), {"q": "+7 (999) 123-45-67"})

    assert set(searched.context["cl"].result_list) == {to_them, from_them}


def test_list_pages_do_not_query_per_row(voice_message, operator_client, dummy_tasks, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(url, **params):
        with CaptureQueriesContext(connection) as ctx:
            assert operator_client.get(url, params).status_code == 200
        return len(ctx.captured_queries)

    queue(voice_message, ["79991234561"])
    calls_small = count(reverse("admin:calls_call_changelist"))
    broadcasts_small = count(reverse("admin:calls_broadcast_changelist"))
    for n in range(5):
        queue(voice_message, [f"7999123{n:02d}{m:02d}" for m in range(10)])
    assert count(reverse("admin:calls_call_changelist")) == calls_small
    assert count(reverse("admin:calls_broadcast_changelist")) == broadcasts_small
    assert count(reverse("admin:calls_call_changelist"), q="+7 (999) 123-00-01") == calls_small


def test_broadcast_page_shows_counts_and_link_to_calls(voice_message, operator_client, dummy_tasks, sandbox):
    broadcast = queue(voice_message, ["79991234561", "79991234562"])
    send_queued_calls(broadcast.pk)
    page = operator_client.get(reverse("admin:calls_broadcast_change", args=[broadcast.pk])).content.decode()
    assert f"?broadcast={broadcast.pk}" in page
    calls_page = operator_client.get(reverse("admin:calls_call_changelist"), {"broadcast": broadcast.pk})
    assert calls_page.context["cl"].result_count == 2


def test_status_filter_offers_final_statuses_and_strings_exolve_sent_as_received(admin_client, voice_message):
    make_call(voice_message, "79991234561", state=CallState.SENT, status="play_audio_stop", call_id="c1")
    make_call(voice_message, "79991234562", state=CallState.FINISHED, status="busy", call_id="c2")
    make_call(voice_message, "79991234563", state=CallState.SENT, status="never_seen", call_id="c3")

    response = admin_client.get(reverse("admin:calls_call_changelist"))
    offered = {
        choice["display"]
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", "") == "status"
        for choice in spec.choices(response.context["cl"])
    }
    only_odd = admin_client.get(reverse("admin:calls_call_changelist") + "?status=play_audio_stop")

    # Known statuses in the staff's words, an unknown one as Exolve sent it.
    assert {"message played", "completed", "no answer", "busy", "failed"} <= offered
    assert '<code class="exolve-status">never_seen</code>' in offered  # set apart, as in the tables
    assert "no_answer" not in offered
    assert [call.destination for call in only_odd.context["cl"].result_list] == ["79991234561"]


# --- list filters: choices from a short query, never from the whole table ----------


def _messages_with_broadcasts(count):
    """`count` voice messages (oldest first), each with one broadcast, stored without Exolve."""
    VoiceMessage.objects.bulk_create(
        VoiceMessage(name=f"Message {n:02d}", media_id=1967, exolve_id=f"vm-{n:02d}") for n in range(count)
    )
    messages = list(VoiceMessage.objects.order_by("pk"))
    Broadcast.objects.bulk_create(
        Broadcast(voice_message=m, voice_message_name=m.name, service_id=m.exolve_id, source=SOURCE, token=m.exolve_id)
        for m in messages
    )
    return messages


def _add_calls(broadcast, count, start=0):
    Call.objects.bulk_create(
        Call(
            broadcast=broadcast,
            voice_message=broadcast.voice_message,
            service_id=broadcast.service_id,
            source=SOURCE,
            destination=f"7999{start + n:07d}",
            state=CallState.QUEUED,
        )
        for n in range(count)
    )


def _filter_choices(response, parameter_name):
    changelist = response.context["cl"]
    (spec,) = [s for s in changelist.filter_specs if getattr(s, "parameter_name", "") == parameter_name]
    return [(choice["display"], choice["selected"]) for choice in spec.choices(changelist)][1:]  # after "All"


def test_call_list_with_its_filters_costs_the_same_queries_for_10_and_200_calls(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    messages = _messages_with_broadcasts(3)
    broadcast = Broadcast.objects.get(voice_message=messages[0])
    url = reverse("admin:calls_call_changelist")

    def count(**params):
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url, params).status_code == 200
        return len(ctx.captured_queries)

    _add_calls(broadcast, 10)
    with_10 = [count(), count(voice_message=messages[0].pk), count(broadcast=broadcast.pk)]
    _add_calls(broadcast, 190, start=10)
    with_200 = [count(), count(voice_message=messages[0].pk), count(broadcast=broadcast.pk)]

    assert with_200 == with_10


def test_voice_message_filter_offers_the_messages_of_recent_broadcasts_not_every_message(admin_client):
    _messages_with_broadcasts(30)
    url = reverse("admin:calls_call_changelist")

    offered = [name for name, _selected in _filter_choices(admin_client.get(url), "voice_message")]

    assert offered == [f"Message {n:02d}" for n in range(29, 19, -1)]  # the ten newest broadcasts' messages


def test_voice_message_filter_shows_and_applies_an_older_chosen_message(admin_client):
    messages = _messages_with_broadcasts(30)
    oldest, newest = messages[0], messages[-1]
    _add_calls(Broadcast.objects.get(voice_message=oldest), 2)
    _add_calls(Broadcast.objects.get(voice_message=newest), 3, start=100)
    url = reverse("admin:calls_call_changelist")

    response = admin_client.get(url, {"voice_message": oldest.pk})

    assert ("Message 00", True) in _filter_choices(response, "voice_message")
    assert {call.voice_message_id for call in response.context["cl"].result_list} == {oldest.pk}
    assert response.context["cl"].result_count == 2


def test_broadcast_list_filters_by_voice_message(admin_client):
    messages = _messages_with_broadcasts(3)
    url = reverse("admin:calls_broadcast_changelist")

    response = admin_client.get(url, {"voice_message": messages[1].pk})

    assert [b.voice_message_id for b in response.context["cl"].result_list] == [messages[1].pk]
    assert ("Message 01", True) in _filter_choices(response, "voice_message")


def test_voice_message_list_offers_recent_authors_and_the_chosen_one(admin_client):
    authors = [make_staff(f"author{n:02d}", perms=()) for n in range(12)]
    VoiceMessage.objects.bulk_create(
        VoiceMessage(name=f"By {user.username}", media_id=1967, exolve_id=f"vm-{user.pk}", created_by=user)
        for user in authors
    )
    url = reverse("admin:voicemessages_voicemessage_changelist")

    offered = [name for name, _selected in _filter_choices(admin_client.get(url), "created_by")]
    chosen = admin_client.get(url, {"created_by": authors[0].pk})

    assert offered == [f"author{n:02d}" for n in range(11, 1, -1)]
    assert ("author00", True) in _filter_choices(chosen, "created_by")
    assert [m.name for m in chosen.context["cl"].result_list] == ["By author00"]


def test_call_lists_show_exolve_statuses_in_the_staffs_words_with_the_raw_string_kept(
    admin_client, voice_message, settings
):
    make_call(voice_message, "79991234561", state=CallState.FINISHED, status="no_answer", call_id="c1")
    unknown = make_call(voice_message, "79991234562", state=CallState.SENT, status="never_seen", call_id="c2")
    settings.LANGUAGE_CODE = "ru"

    page = admin_client.get(reverse("admin:calls_call_changelist"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    detail = admin_client.get(reverse("admin:calls_call_change", args=[unknown.pk]), HTTP_ACCEPT_LANGUAGE="ru")

    assert 'title="no_answer" data-exolve-status="no_answer">нет ответа</span>' in page
    assert '<code class="exolve-status">never_seen</code>' in page
    assert "never_seen" in detail.content.decode()
