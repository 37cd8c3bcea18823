"""A colleague's first day: invited by a Manager, a password set from the e-mail's link, a login
that says plainly why it is refused, a forgotten password, the media id explained, a favicon."""

import re
import socket

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from exolve_portal.login_form import NOT_ACTIVE, NOT_STAFF
from exolve_portal.role_names import MANAGERS, OPERATORS
from exolve_portal.roles import setup_roles
from tests.factories import ADD, FAST_PASSWORD_HASHERS, PASSWORD, make_staff

User = get_user_model()
INVITE = "invite_colleague"
NEW_PASSWORD = "a-long-new-password-77"


@pytest.fixture
def roles(db, settings):
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS
    setup_roles()


@pytest.fixture
def group_manager(roles):
    """A Manager as the roles make one: in the group, nothing granted by hand."""
    user = make_staff(password=PASSWORD, username="boss", email="boss@example.com", first_name="Ольга")
    user.groups.add(Group.objects.get(name=MANAGERS))
    return user


def _link_in(message) -> str:
    return re.search(r"https?://\S+/admin/reset/\S+/", message.body).group(0)


def _generic_error(response) -> bool:
    return "Please enter the correct username and password for a staff account" in response.content.decode()


def test_a_manager_invites_an_operator_who_sets_a_password_and_logs_in(client, group_manager):
    client.force_login(group_manager)
    assert "Invite a colleague" in client.get(reverse("admin:index")).content.decode()

    response = client.post(
        reverse(INVITE), {"name": "Анна Петрова", "email": "Anna@Example.com", "role": OPERATORS}, follow=True
    )

    anna = User.objects.get(email="anna@example.com")
    assert (anna.username, anna.first_name, anna.last_name) == ("anna@example.com", "Анна", "Петрова")
    assert anna.is_staff and anna.is_active and not anna.is_superuser
    assert not anna.has_usable_password()
    assert list(anna.groups.values_list("name", flat=True)) == [OPERATORS]
    assert "The invitation was sent to anna@example.com" in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["anna@example.com"]
    assert "anna@example.com" in mail.outbox[0].body  # the user name to log in with

    anna_browser = Client()
    form = anna_browser.get(_link_in(mail.outbox[0]), follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = anna_browser.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert done.status_code == 200

    login = anna_browser.post(reverse("admin:login"), {"username": "anna@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert anna_browser.get(reverse("portal:send")).status_code == 200  # an operator's page
    # The link works once.
    assert "new_password1" not in Client().get(_link_in(mail.outbox[0]), follow=True).content.decode()


def test_inviting_an_existing_non_staff_account_gives_it_staff_access_and_the_role(client, group_manager):
    colleague = make_staff(password=PASSWORD, username="vera", email="vera@example.com", is_staff=False)
    client.force_login(group_manager)

    client.post(reverse(INVITE), {"name": "Вера", "email": "vera@example.com", "role": MANAGERS})

    colleague.refresh_from_db()
    assert colleague.is_staff and colleague.username == "vera"
    assert list(colleague.groups.values_list("name", flat=True)) == [MANAGERS]
    assert "vera" in mail.outbox[0].body


def test_a_manager_cannot_invite_or_change_a_superuser(client, group_manager):
    make_staff(password=PASSWORD, is_superuser=True, username="root", email="root@example.com")
    client.force_login(group_manager)

    response = client.post(reverse(INVITE), {"name": "Root", "email": "root@example.com", "role": OPERATORS})
    # Only the two roles are offered: anything else is refused by the form.
    other = client.post(reverse(INVITE), {"name": "X", "email": "x@example.com", "role": "Superusers"})

    assert "administrator" in response.content.decode()
    assert "Select a valid choice" in other.content.decode()
    assert not User.objects.filter(email="x@example.com").exists()
    assert User.objects.get(username="root").groups.count() == 0
    assert mail.outbox == []
    # Django's "Add user" (which needs the change permission Managers lack) leads to the invitation.
    assert client.get(reverse("admin:auth_user_add"))["Location"] == reverse(INVITE)
    assert client.get(reverse("admin:auth_user_change", args=[group_manager.pk])).status_code == 403
    assert (
        client.post(reverse("admin:auth_user_change", args=[group_manager.pk]), {"is_superuser": "on"}).status_code
        == 403
    )


def test_an_operator_may_not_invite(client, roles):
    operator = make_staff(password=PASSWORD, username="op")
    operator.groups.add(Group.objects.get(name=OPERATORS))
    client.force_login(operator)

    assert client.get(reverse(INVITE)).status_code == 403
    assert "Invite a colleague" not in client.get(reverse("admin:index")).content.decode()


def _login(username, password):
    return Client().post(reverse("admin:login"), {"username": username, "password": password})


def test_a_right_password_on_an_account_without_staff_access_is_told_so_plainly(roles):
    make_staff(password=PASSWORD, username="new", is_staff=False)
    make_staff(password=PASSWORD, username="gone", is_active=False)

    not_staff = _login("new", PASSWORD)
    inactive = _login("gone", PASSWORD)

    assert str(NOT_STAFF) in not_staff.content.decode() and not _generic_error(not_staff)
    assert str(NOT_ACTIVE) in inactive.content.decode() and not _generic_error(inactive)


def test_a_wrong_password_gets_the_same_generic_refusal_whoever_the_user_is(roles):
    make_staff(password=PASSWORD, username="new", is_staff=False)
    make_staff(password=PASSWORD, username="gone", is_active=False)
    make_staff(password=PASSWORD, username="staff")

    for username in ("new", "gone", "staff", "nobody-by-this-name"):
        response = _login(username, "wrong-password")
        text = response.content.decode()
        assert response.status_code == 200 and _generic_error(response), username
        assert str(NOT_STAFF) not in text and str(NOT_ACTIVE) not in text, username


def test_wrong_passwords_on_an_account_without_staff_access_still_count_towards_the_lockout(roles, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_staff(password=PASSWORD, username="gone", is_active=False)
    browser = Client()
    for _ in range(2):
        browser.post(reverse("admin:login"), {"username": "gone", "password": "wrong"})

    locked = browser.post(reverse("admin:login"), {"username": "gone", "password": PASSWORD})

    assert locked.status_code == 429
    assert str(NOT_ACTIVE) not in locked.content.decode()


def test_a_forgotten_password_is_reset_by_e_mail_in_russian(roles, settings):
    settings.LANGUAGE_CODE = "ru"
    make_staff(password=PASSWORD, username="anna", email="anna@example.com")
    browser = Client(headers={"accept-language": "ru"})
    with translation.override("ru"):
        login_page = browser.get(reverse("admin:login")).content.decode()
        form_page = browser.get(reverse("admin_password_reset")).content.decode()
        sent = browser.post(reverse("admin_password_reset"), {"email": "anna@example.com"}, follow=True)
        nobody = browser.post(reverse("admin_password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert reverse("admin_password_reset") in login_page
    assert "Забыли пароль?" in login_page
    assert "<h1>Восстановление пароля</h1>" in form_page
    assert sent.status_code == nobody.status_code == 200  # the same answer: who has an account stays unsaid
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Новый пароль для Голосового портала Exolve"
    assert "введите новый пароль" in mail.outbox[0].body and "anna" in mail.outbox[0].body
    link = _link_in(mail.outbox[0])
    form = browser.get(link, follow=True)
    browser.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert _login("anna", NEW_PASSWORD).status_code == 302


def test_the_voice_message_form_says_where_the_media_id_comes_from_and_shows_no_raw_json(
    sandbox_unthrottled, manager_client
):
    add_page = manager_client.get(reverse(ADD)).content.decode()

    assert "audio library" in add_page and "Exolve personal account" in add_page
    assert 'href="https://docs.exolve.ru/docs/ru/api-reference/voice-api/"' in add_page
    assert "{}" not in add_page
    assert "last answer from Exolve" not in add_page


def test_favicon_answers_and_the_admin_links_it_and_open_site_leads_to_the_staff_pages(client, roles):
    staff = make_staff(password=PASSWORD, username="op")
    staff.groups.add(Group.objects.get(name=OPERATORS))

    icon = client.get("/favicon.ico")
    client.force_login(staff)
    index = client.get(reverse("admin:index")).content.decode()

    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in icon.content
    assert 'rel="icon"' in index
    assert f'<a href="{reverse("portal:dashboard")}">View site</a>' in index


def test_a_superuser_finds_the_invitation_on_the_users_list(client, roles):
    client.force_login(make_staff(password=PASSWORD, is_superuser=True, username="admin"))

    users = client.get(reverse("admin:auth_user_changelist")).content.decode()

    assert 'id="invite-colleague-link"' in users
    assert reverse("admin:auth_user_add") in users  # Django's own form stays theirs
    assert client.get(reverse("admin:auth_user_add")).status_code == 200


def test_an_invitation_the_mail_server_refuses_says_so_and_can_be_sent_again(client, group_manager, settings):
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port, "timeout": 5},
        }
    }
    client.force_login(group_manager)

    response = client.post(
        reverse(INVITE), {"name": "Анна", "email": "anna@example.com", "role": OPERATORS}, follow=True
    )

    assert response.status_code == 200
    assert "the e-mail could not be sent" in response.content.decode()
    assert User.objects.get(email="anna@example.com").is_staff


def test_exolve_s_last_answer_is_folded_away_for_engineers(sandbox_unthrottled, manager_client):
    from voicemessages.models import VoiceMessage

    answered = VoiceMessage.objects.create(name="С ответом", media_id=1967)
    VoiceMessage.objects.filter(pk=answered.pk).update(raw={"id": "vm-1", "media_id": 1967})
    silent = VoiceMessage.objects.create(name="Без ответа", media_id=1967)
    VoiceMessage.objects.filter(pk=silent.pk).update(raw={})

    with_answer = manager_client.get(reverse("admin:voicemessages_voicemessage_change", args=[answered.pk]))
    without = manager_client.get(reverse("admin:voicemessages_voicemessage_change", args=[silent.pk]))

    assert re.search(r'<details class="exolve-raw"><summary>[^<]+</summary><pre><code>\{', with_answer.content.decode())
    assert "Exolve has not answered about this message yet." in without.content.decode()
    assert "<code>{}</code>" not in without.content.decode()
