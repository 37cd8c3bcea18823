"""Voice messages through the admin with the Django test client, against the sandbox."""

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.urls import reverse

from tests.factories import (
    ADD,
    CREATE,
    DELETE,
    GET_INFO,
    GET_LIST,
    VoiceMessageFactory,
    change_url,
    delete_url,
    form_data,
    make_staff,
    synced_voice_message,
    texts,
)
from voicemessages.models import OrphanedVoiceMessage, VoiceMessage
from voicemessages.provisioning import delete_at_exolve

CHANGELIST = "admin:voicemessages_voicemessage_changelist"
SYNC = "admin:voicemessages_voicemessage_sync"
EVIL_NAME = '<script>alert("x")</script><b>bold</b>'


# Fixtures shared by the voice-message tests.


# --- Add -------------------------------------------------------------------------


def test_admin_add_creates_the_message_at_exolve(sandbox_unthrottled, manager_client, manager):
    data = form_data(name="Promo", media_id=" 1979 ", redirect_digit="5", redirect_number="8 (999) 123-45-67")

    response = manager_client.post(reverse(ADD), data)

    assert response.status_code == 302
    message = VoiceMessage.objects.get()
    assert (message.name, message.media_id, message.redirect_digit, message.redirect_number) == (
        "Promo",
        1979,
        5,
        "79991234567",  # "8 (999) ..." stored as the called numbers are
    )
    assert message.created_by == manager
    assert sandbox_unthrottled.requests_log(CREATE)[0]["body"] == {
        "name": "Promo",
        "media_id": "1979",
        "redirect_info": {"digit": 5, "redirect_number": "79991234567"},
    }
    assert set(sandbox_unthrottled.voice_messages()) == {message.exolve_id}


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "x" * 256}, "name", "at most 255"),
        ({"media_id": "-5"}, "media_id", "1 or more"),
        ({"media_id": "0"}, "media_id", "1 or more"),
        ({"media_id": "abc"}, "media_id", "whole number"),
        ({"media_id": "1.5"}, "media_id", "whole number"),
        ({"media_id": str(2**63)}, "media_id", "too large"),
        ({"media_id": str(2**64 + 1)}, "media_id", "too large"),
        ({"media_id": "9" * 5000}, "media_id", "too large"),
        ({"redirect_digit": "10"}, "redirect_digit", "0 to 9"),
        ({"redirect_digit": "-1"}, "redirect_digit", "0 to 9"),
        ({"redirect_digit": "x"}, "redirect_digit", "0 to 9"),
        ({"redirect_number": "1234-5678"}, "redirect_number", "too short"),
        ({"redirect_number": "+1234 5678 9012 345"}, "redirect_number", "too long"),
        ({"redirect_number": "7999abc4567"}, "redirect_number", "only digits"),
    ],
)
def test_admin_add_bad_input_is_shown_next_to_the_field_and_nothing_is_sent(
    sandbox_unthrottled, manager_client, overrides, field, words
):
    response = manager_client.post(reverse(ADD), form_data(**overrides))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors[field])
    assert sandbox_unthrottled.count(CREATE) == 0
    assert not VoiceMessage.objects.exists()


def test_admin_redirect_digit_without_number_is_refused_next_to_the_number_and_nothing_is_sent(
    sandbox_unthrottled, manager_client
):
    response = manager_client.post(reverse(ADD), form_data(redirect_digit="5", redirect_number=""))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["redirect_number"] == [
        "A redirect digit needs a redirect number: give the number, or leave the digit empty (or 0)."
    ]
    assert sandbox_unthrottled.count(CREATE) == 0
    assert not VoiceMessage.objects.exists()


def test_admin_redirect_digit_with_an_unreadable_number_says_only_what_is_wrong_with_the_number(
    sandbox_unthrottled, manager_client
):
    response = manager_client.post(reverse(ADD), form_data(redirect_digit="5", redirect_number="1234"))

    errors = response.context["adminform"].form.errors
    assert len(errors["redirect_number"]) == 1 and "too short" in errors["redirect_number"][0]
    assert sandbox_unthrottled.count(CREATE) == 0


@pytest.mark.parametrize("digit", ["", "0"])
def test_admin_no_redirect_is_an_empty_digit_or_0_and_no_number(sandbox_unthrottled, manager_client, digit):
    form = manager_client.get(reverse(ADD)).context["adminform"].form
    assert form["redirect_digit"].value() is None  # the add form starts with no redirect

    response = manager_client.post(reverse(ADD), form_data(redirect_digit=digit, redirect_number=""))

    assert response.status_code == 302
    message = VoiceMessage.objects.get()
    assert (message.redirect_digit, message.redirect_number) == (0, "")
    assert sandbox_unthrottled.count(CREATE) == 1


def test_admin_empty_digit_with_a_number_redirects_on_0(sandbox_unthrottled, manager_client):
    response = manager_client.post(reverse(ADD), form_data(redirect_digit="", redirect_number="79991234567"))

    assert response.status_code == 302
    assert sandbox_unthrottled.requests_log(CREATE)[0]["body"]["redirect_info"] == {
        "digit": 0,
        "redirect_number": "79991234567",
    }


def test_admin_add_unknown_media_id_is_shown_under_media_id(sandbox_unthrottled, manager_client):
    response = manager_client.post(reverse(ADD), form_data(media_id="42"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "no audio file with this media id" in " ".join(errors["media_id"])
    assert sandbox_unthrottled.count(CREATE) == 1
    assert sandbox_unthrottled.voice_messages() == {} and not VoiceMessage.objects.exists()


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda sandbox: sandbox.set_blocked(True), "account is not active"),
        (lambda sandbox: sandbox.add_fault("http_error", CREATE, status=500), "could not check the account"),
        (lambda sandbox: sandbox.add_fault("http_error", CREATE, status=503), "cannot tell whether it was created"),
        (lambda sandbox: sandbox.add_fault("connect_refused", CREATE, times=None), "could not reach Exolve"),
        (
            lambda sandbox: sandbox.add_fault("rate_limited", CREATE, seconds=7),
            "Exolve is busy: nothing was created. Try again in 7 seconds.",
        ),
    ],
    ids=["403", "500", "503", "refused", "429"],
)
def test_admin_add_refusal_is_a_form_error_not_an_error_page(
    sandbox_unthrottled, manager_client, error_shape, setup, words
):
    setup(sandbox_unthrottled)

    response = manager_client.post(reverse(ADD), form_data())

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert words in " ".join(form.non_field_errors())
    assert words in response.content.decode()
    assert sandbox_unthrottled.voice_messages() == {} and not VoiceMessage.objects.exists()


def test_admin_add_timeout_says_it_is_unclear_and_the_sync_button_picks_it_up(
    sandbox_unthrottled, manager_client, worker
):
    sandbox_unthrottled.add_fault("timeout", CREATE)

    response = manager_client.post(reverse(ADD), form_data(name="Maybe"))

    assert response.status_code == 200
    assert "cannot tell whether it was created" in " ".join(response.context["adminform"].form.non_field_errors())
    assert sandbox_unthrottled.count(CREATE) == 1
    assert not VoiceMessage.objects.exists()
    [remote_id] = sandbox_unthrottled.voice_messages()

    manager_client.post(reverse(SYNC))
    worker()

    assert VoiceMessage.objects.get().exolve_id == remote_id
    assert sandbox_unthrottled.count(CREATE) == 1


def test_admin_add_rolled_back_after_create_deletes_it_at_exolve(sandbox_unthrottled, manager_client, monkeypatch):
    def broken_log(*args, **kwargs):
        raise RuntimeError("the admin log could not be written")

    monkeypatch.setattr(type(LogEntry.objects), "log_actions", broken_log)

    with pytest.raises(RuntimeError):
        manager_client.post(reverse(ADD), form_data())

    assert sandbox_unthrottled.count(CREATE) == 1
    assert sandbox_unthrottled.count(DELETE) == 1
    assert sandbox_unthrottled.voice_messages() == {}
    assert not VoiceMessage.objects.exists()


def test_admin_add_form_shows_no_reprovision_warning(sandbox_unthrottled, manager_client):
    response = manager_client.get(reverse(ADD))

    assert response.status_code == 200
    assert "exolve-reprovision-warning" not in response.content.decode()


# --- HTML in names -----------------------------------------------------------------


def test_html_in_names_is_escaped_in_the_changelist_and_change_form(sandbox_unthrottled, manager_client):
    message = VoiceMessageFactory(name=EVIL_NAME)

    for url in (reverse(CHANGELIST), change_url(message), delete_url(message)):
        content = manager_client.get(url).content.decode()
        assert "<script>alert" not in content
        assert "<b>bold</b>" not in content
        assert "&lt;script&gt;" in content

    assert sandbox_unthrottled.voice_messages()[message.exolve_id]["name"] == EVIL_NAME


def test_html_in_names_is_escaped_in_messages(sandbox_unthrottled, manager_client):
    message = VoiceMessageFactory(name=EVIL_NAME)
    sandbox_unthrottled.set_blocked(True)

    response = manager_client.post(delete_url(message), {"post": "yes"}, follow=True)

    content = response.content.decode()
    assert "<script>alert" not in content
    assert "&lt;script&gt;" in content


# --- Change ------------------------------------------------------------------------


def test_change_form_warns_that_saving_creates_a_new_message_at_exolve(sandbox_unthrottled, manager_client):
    message = synced_voice_message(sandbox_unthrottled)

    content = manager_client.get(change_url(message)).content.decode()

    assert "exolve-reprovision-warning" in content
    assert "creates a new voice message at Exolve" in content


def test_admin_change_reprovisions_at_exolve(sandbox_unthrottled, manager_client, django_capture_on_commit_callbacks):
    message = synced_voice_message(sandbox_unthrottled, "Old", media_id=1967)
    old_id = message.exolve_id

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            change_url(message), form_data(name="New", media_id="1979", version=message.version), follow=True
        )

    message.refresh_from_db()
    assert message.exolve_id != old_id
    assert (message.name, message.media_id) == ("New", 1979)
    assert sandbox_unthrottled.requests_log(DELETE)[0]["body"] == {"id": old_id}
    assert set(sandbox_unthrottled.voice_messages()) == {message.exolve_id}
    assert sandbox_unthrottled.voice_messages()[message.exolve_id]["name"] == "New"
    assert any("a new one was created there" in text for text in texts(response))


def test_admin_change_without_changes_sends_nothing(sandbox_unthrottled, manager_client):
    message = synced_voice_message(sandbox_unthrottled, "Same", media_id=1967)
    before = sandbox_unthrottled.count()

    response = manager_client.post(
        change_url(message), form_data(name="Same", media_id="1967", version=message.version)
    )

    assert response.status_code == 302
    assert sandbox_unthrottled.count() == before


def test_admin_change_refused_keeps_everything_as_it_was(sandbox_unthrottled, manager_client):
    message = synced_voice_message(sandbox_unthrottled, "Old", media_id=1967)

    response = manager_client.post(change_url(message), form_data(name="New", media_id="42", version=message.version))

    assert response.status_code == 200
    assert "media id" in " ".join(response.context["adminform"].form.errors["media_id"])
    stored = VoiceMessage.objects.get()
    assert (stored.name, stored.exolve_id) == ("Old", message.exolve_id)
    assert set(sandbox_unthrottled.voice_messages()) == {message.exolve_id}


def test_admin_change_whose_old_copy_cannot_be_deleted_shows_the_leftover(
    sandbox_unthrottled, manager_client, django_capture_on_commit_callbacks
):
    message = synced_voice_message(sandbox_unthrottled, "Old")
    sandbox_unthrottled.add_fault("http_error", DELETE, times=None, status=503)

    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(change_url(message), form_data(name="New", version=message.version))

    sandbox_unthrottled.clear_faults()
    assert OrphanedVoiceMessage.objects.get().exolve_id == message.exolve_id
    assert len(sandbox_unthrottled.voice_messages()) == 2
    content = manager_client.get(reverse(CHANGELIST)).content.decode()
    assert "1 voice message is still at Exolve although the portal meant to delete it" in content

    orphans = reverse("admin:voicemessages_orphanedvoicemessage_changelist")
    orphan = OrphanedVoiceMessage.objects.get()
    manager_client.post(orphans, {"action": "retry_delete_at_exolve", "_selected_action": [orphan.pk]})

    assert not OrphanedVoiceMessage.objects.exists()
    assert set(sandbox_unthrottled.voice_messages()) == {VoiceMessage.objects.get().exolve_id}


# --- Delete ------------------------------------------------------------------------


def test_admin_delete_deletes_at_exolve_then_here(sandbox_unthrottled, manager_client):
    message = VoiceMessageFactory()

    response = manager_client.post(delete_url(message), {"post": "yes"})

    assert response.status_code == 302
    assert sandbox_unthrottled.requests_log(DELETE)[0]["body"] == {"id": message.exolve_id}
    assert sandbox_unthrottled.voice_messages() == {} and not VoiceMessage.objects.exists()


def test_admin_delete_failure_keeps_the_row_and_says_why(sandbox_unthrottled, manager_client):
    message = VoiceMessageFactory(name="Keep")
    sandbox_unthrottled.set_blocked(True)

    response = manager_client.post(delete_url(message), {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == change_url(message)
    assert any("“Keep” was not deleted" in text and "not active" in text for text in texts(response))
    assert VoiceMessage.objects.filter(pk=message.pk).exists()
    assert message.exolve_id in sandbox_unthrottled.voice_messages()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_admin_delete_of_message_gone_at_exolve_deletes_it_here(sandbox_unthrottled, manager_client):
    message = synced_voice_message(sandbox_unthrottled)
    sandbox_unthrottled.reset()

    response = manager_client.post(delete_url(message), {"post": "yes"})

    assert response.status_code == 302
    assert not VoiceMessage.objects.exists()


def test_bulk_delete_asks_for_confirmation_first(sandbox_unthrottled, manager_client):
    messages = VoiceMessageFactory.create_batch(2)

    response = manager_client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [m.pk for m in messages]}
    )

    assert response.status_code == 200
    assert "Are you sure" in response.content.decode()
    assert sandbox_unthrottled.count(DELETE) == 0


def test_bulk_delete_deletes_each_message_at_exolve(sandbox_unthrottled, manager_client):
    messages = VoiceMessageFactory.create_batch(3)
    keep = VoiceMessageFactory()

    response = manager_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "post": "yes", "_selected_action": [m.pk for m in messages]},
        follow=True,
    )

    assert {entry["body"]["id"] for entry in sandbox_unthrottled.requests_log(DELETE)} == {
        m.exolve_id for m in messages
    }
    assert set(sandbox_unthrottled.voice_messages()) == {keep.exolve_id}
    assert set(VoiceMessage.objects.values_list("pk", flat=True)) == {keep.pk}
    assert any("Deleted 3 voice messages at Exolve and here" in text for text in texts(response))
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 3


def test_bulk_delete_reports_per_message_and_keeps_the_failed(sandbox_unthrottled, manager_client, settings):
    settings.EXOLVE_MAX_IN_FLIGHT = 1  # in order, so the fault hits the first message
    first = VoiceMessageFactory(name="First")
    others = VoiceMessageFactory.create_batch(2)
    sandbox_unthrottled.add_fault("http_error", DELETE, times=1, status=403)

    response = manager_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "post": "yes", "_selected_action": [first.pk, *[m.pk for m in others]]},
        follow=True,
    )

    shown = texts(response)
    assert any("Deleted 2 voice messages" in text for text in shown)
    assert any("“First” was not deleted" in text for text in shown)
    assert set(VoiceMessage.objects.values_list("pk", flat=True)) == {first.pk}
    assert set(sandbox_unthrottled.voice_messages()) == {first.exolve_id}
    logged = set(LogEntry.objects.filter(action_flag=DELETION).values_list("object_id", flat=True))
    assert logged == {str(m.pk) for m in others}


# --- Sync button and refresh action -----------------------------------------------


def test_sync_button_is_shown_to_those_who_may_sync(sandbox_unthrottled, client, manager_client):
    assert "exolve-sync-button" in manager_client.get(reverse(CHANGELIST)).content.decode()

    viewer = make_staff("viewer", perms=["voicemessages.view_voicemessage"])
    client.force_login(viewer)
    assert "exolve-sync-button" not in client.get(reverse(CHANGELIST)).content.decode()


def test_sync_button_syncs_from_exolve_in_the_background(sandbox_unthrottled, manager_client, worker):
    remote_id = sandbox_unthrottled.add_voice_message("From Exolve", media_id=1979)
    gone = synced_voice_message(sandbox_unthrottled, "Will vanish")
    sandbox_unthrottled.reset()
    sandbox_unthrottled.add_voice_message("From Exolve", media_id=1979)
    remote_id = next(iter(sandbox_unthrottled.voice_messages()))

    response = manager_client.post(reverse(SYNC))
    job_page = response["Location"]
    assert sandbox_unthrottled.count(GET_LIST) == 0  # the request only started the job
    worker()
    page = manager_client.get(job_page).content.decode()

    assert VoiceMessage.objects.get(exolve_id=remote_id).name == "From Exolve"
    assert VoiceMessage.objects.get(pk=gone.pk).missing_since is not None
    assert "created 1, updated 0, unchanged 0, missing 1, failed 0" in page
    assert "1 voice message is no longer at Exolve" in page
    assert f'href="{reverse(CHANGELIST)}"' in page  # the way back
    assert sandbox_unthrottled.count(CREATE) == 0
    assert "missing at Exolve since" in manager_client.get(reverse(CHANGELIST)).content.decode()


def test_sync_button_accepts_post_only(sandbox_unthrottled, manager_client):
    assert manager_client.get(reverse(SYNC)).status_code == 405
    assert sandbox_unthrottled.count(GET_LIST) == 0


def test_sync_button_needs_the_sync_permission(sandbox_unthrottled, client):
    user = make_staff("editor", perms=["voicemessages.view_voicemessage", "voicemessages.change_voicemessage"])
    client.force_login(user)

    assert client.post(reverse(SYNC)).status_code == 403
    assert sandbox_unthrottled.count(GET_LIST) == 0


def test_sync_button_when_exolve_is_unreachable_says_so(sandbox_unthrottled, manager_client, worker):
    message = VoiceMessageFactory()
    sandbox_unthrottled.add_fault("connect_refused", GET_LIST, times=None)

    job_page = manager_client.post(reverse(SYNC))["Location"]
    worker()
    response = manager_client.get(job_page)

    assert response.context["job"].state == "failed"
    assert "Could not get the list of voice messages from Exolve" in response.content.decode()
    assert VoiceMessage.objects.get().missing_since is None
    assert VoiceMessage.objects.get().exolve_id == message.exolve_id


def test_refresh_action_updates_selected_and_marks_missing(sandbox_unthrottled, manager_client):
    present = synced_voice_message(sandbox_unthrottled, "Present")
    gone = synced_voice_message(sandbox_unthrottled, "Gone")
    VoiceMessage.objects.filter(pk=present.pk).update(name="Stale here")
    delete_at_exolve(gone)

    response = manager_client.post(
        reverse(CHANGELIST),
        {"action": "refresh_from_exolve", "_selected_action": [present.pk, gone.pk]},
        follow=True,
    )

    assert VoiceMessage.objects.get(pk=present.pk).name == "Present"
    assert VoiceMessage.objects.get(pk=gone.pk).missing_since is not None
    assert {entry["body"]["id"] for entry in sandbox_unthrottled.requests_log(GET_INFO)} >= {
        present.exolve_id,
        gone.exolve_id,
    }
    shown = texts(response)
    assert any("1 changed" in text for text in shown)
    assert any("no longer has “Gone”" in text for text in shown)


def test_refresh_action_reports_failures_and_changes_nothing(sandbox_unthrottled, manager_client):
    message = synced_voice_message(sandbox_unthrottled, "Present")
    VoiceMessage.objects.filter(pk=message.pk).update(name="Here")
    sandbox_unthrottled.set_blocked(True)

    response = manager_client.post(
        reverse(CHANGELIST), {"action": "refresh_from_exolve", "_selected_action": [message.pk]}, follow=True
    )

    assert any("Could not refresh “Here”" in text for text in texts(response))
    assert VoiceMessage.objects.get().name == "Here"


def test_refresh_action_is_hidden_without_the_sync_permission(sandbox_unthrottled, client):
    VoiceMessageFactory()
    client.force_login(make_staff("viewer", perms=["voicemessages.view_voicemessage"]))

    content = client.get(reverse(CHANGELIST)).content.decode()

    assert "refresh_from_exolve" not in content


def test_list_columns_filters_and_search(sandbox_unthrottled, manager_client):
    VoiceMessageFactory(name="Alpha", redirect_digit=3, redirect_number="79991234567")
    beta = VoiceMessageFactory(name="Beta")
    VoiceMessage.objects.filter(pk=beta.pk).update(missing_since="2024-01-01T00:00:00Z")

    content = manager_client.get(reverse(CHANGELIST)).content.decode()
    assert "3 → 79991234567" in content
    assert "missing at Exolve since" in content

    missing_only = manager_client.get(reverse(CHANGELIST), {"exolve_state": "missing"})
    assert [m.name for m in missing_only.context["cl"].result_list] == ["Beta"]

    by_name = manager_client.get(reverse(CHANGELIST), {"q": "alph"})
    assert [m.name for m in by_name.context["cl"].result_list] == ["Alpha"]

    by_id = manager_client.get(reverse(CHANGELIST), {"q": beta.exolve_id})
    assert [m.name for m in by_id.context["cl"].result_list] == ["Beta"]


def test_changelist_queries_do_not_grow_with_rows(sandbox_unthrottled, manager_client, django_assert_max_num_queries):
    VoiceMessageFactory.create_batch(2)
    manager_client.get(reverse(CHANGELIST))  # warm caches (content types, permissions)
    with django_assert_max_num_queries(20) as few:
        manager_client.get(reverse(CHANGELIST))
    VoiceMessageFactory.create_batch(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager_client.get(reverse(CHANGELIST))


@pytest.mark.parametrize(
    ("default_language", "reader", "expected", "other"),
    [
        ("ru", "en", "“First” was not deleted", "не удалено"),
        ("en", "ru", "«First» не удалено", "was not deleted"),
    ],
)
def test_bulk_delete_errors_built_in_pool_threads_speak_the_readers_language(
    sandbox_unthrottled, manager_client, settings, default_language, reader, expected, other
):
    # A pool thread has no active language of its own: without care it writes LANGUAGE_CODE's.
    settings.LANGUAGE_CODE = default_language
    settings.EXOLVE_MAX_IN_FLIGHT = 1  # still a pool thread; in order, so the fault hits "First"
    first = VoiceMessageFactory(name="First")
    other_message = VoiceMessageFactory()
    sandbox_unthrottled.add_fault("http_error", DELETE, times=1, status=403)

    response = manager_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "post": "yes", "_selected_action": [first.pk, other_message.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=reader,
    )

    failure = [text for text in texts(response) if "First" in text]
    assert len(failure) == 1 and expected in failure[0] and other not in failure[0], failure


def test_add_change_and_delete_messages_agree_with_the_russian_name_of_the_model(
    sandbox_unthrottled, manager_client, settings
):
    settings.LANGUAGE_CODE = "ru"  # Django's own reads "Голосовое сообщение «…» был успешно добавлен"
    added = manager_client.post(reverse(ADD), {**form_data(name="Промо"), "_continue": "1"}, follow=True)
    message = VoiceMessage.objects.get()
    change_url = reverse("admin:voicemessages_voicemessage_change", args=[message.pk])
    changed = manager_client.post(change_url, form_data(name="Промо 2", version=str(message.version)), follow=True)
    delete_url = reverse("admin:voicemessages_voicemessage_delete", args=[message.pk])
    confirm = manager_client.get(delete_url).content.decode()
    deleted = manager_client.post(delete_url, {"post": "yes"}, follow=True)

    assert texts(added) == ["Голосовое сообщение «Промо» добавлено. Ниже его можно изменить снова."]
    assert texts(changed)[-1] == "Голосовое сообщение «Промо 2» изменено."  # after "Exolve cannot change…"
    assert "Удалить «Промо 2» (голосовое сообщение)?" in confirm and "Да, удалить" in confirm
    assert "типаголосовое" not in confirm and "уверен" not in confirm
    assert texts(deleted) == ["Голосовое сообщение «Промо 2» удалено."]
    assert not VoiceMessage.objects.exists()
