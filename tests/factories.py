"""factory-boy factories shared by the test suite.

``VoiceMessageFactory`` saves through the model, so it calls Create at Exolve: use it
with the ``sandbox`` fixture. ``SyncedVoiceMessageFactory`` seeds the sandbox directly
and stores the row from its GetInfo answer, as a sync would (no Create request).
"""

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from exolve_portal.exolve.endpoints import CREATE, DELETE, GET_INFO, GET_LIST  # noqa: F401 (for the tests)
from exolve_portal.exolve.sandbox import DEFAULT_MEDIA_IDS
from exolve_portal.exolve_connection import get_client
from exolve_portal.roles import MANAGER_PERMISSIONS, setup_roles
from voicemessages.models import VoiceMessage

PASSWORD = "correct horse battery staple"


# The Managers role's share that concerns voice messages (no calls, no broadcasts).
VOICE_MESSAGE_MANAGER_PERMISSIONS = [code for code in MANAGER_PERMISSIONS if code.startswith("voicemessages.")]


# What a sender may do when a test needs one without a role: send, see calls and
# broadcasts, refresh a call, see voice messages.
SENDER_PERMS = (
    "calls.send_voicemessage",
    "calls.view_call",
    "calls.refresh_call",
    "calls.view_broadcast",
    "voicemessages.view_voicemessage",
)


def grant(user, codes):
    """Give ``user`` the permissions ``codes`` ("app_label.codename")."""
    for code in codes:
        app_label, codename = code.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def make_staff(username="operator", role=None, *, perms=(), is_staff=True, password="pw", **fields):
    """The one way tests make a person: a staff member in ``role`` (OPERATORS, MANAGERS or
    None) with the extra permissions ``perms`` ("app_label.codename"); password "pw".
    ``fields`` are the user's other fields (email, first_name, is_active, is_superuser).

    Read back from the database, so no permission cache is stale.
    """
    user = get_user_model().objects.create_user(username, password=password, is_staff=is_staff, **fields)
    if role:
        setup_roles()
        user.groups.add(Group.objects.get(name=role))
    grant(user, perms)
    return get_user_model().objects.get(pk=user.pk)


class VoiceMessageFactory(factory.django.DjangoModelFactory):
    """A voice message created through the model: saving calls Create at the sandbox."""

    class Meta:
        model = VoiceMessage

    name = factory.Sequence(lambda n: f"Voice message {n}")
    media_id = DEFAULT_MEDIA_IDS[0]
    redirect_digit = 0
    redirect_number = ""


def synced_voice_message(sandbox, name="Synced message", **fields):
    """Seed ``sandbox`` with a voice message and store it as a sync would (no Create)."""
    exolve_id = sandbox.add_voice_message(name, **fields)
    rows, _outcomes = VoiceMessage.bulk_update_or_create_from_exolve(
        [get_client().get_voice_message(exolve_id)], existing={}
    )
    return rows[0]


# --- Fixtures for the voice-message tests (import the ones a module uses) ------------

# Tests create many users: hashing their passwords properly would dominate the run.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def in_english_without_rate_limit(settings, sandbox):
    settings.EXOLVE_MAX_RPS = 0
    settings.LANGUAGE_CODE = "en"
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS
    with translation.override("en"):
        yield sandbox


@pytest.fixture
def sandbox_unthrottled(sandbox, settings, db):
    """The in-process sandbox with no client-side rate limit (tests send bursts).

    Messages are in English (the portal's default is Russian), in code and test client.
    """
    yield from in_english_without_rate_limit(settings, sandbox)


@pytest.fixture
def manager(db, settings):
    """A staff member with every voice-message permission (not a superuser)."""
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS
    return make_staff("manager", perms=VOICE_MESSAGE_MANAGER_PERMISSIONS)


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


# --- The voice messages' admin pages ---------------------------------------------------

ADD = "admin:voicemessages_voicemessage_add"


def change_url(message):
    return reverse("admin:voicemessages_voicemessage_change", args=[message.pk])


def delete_url(message):
    return reverse("admin:voicemessages_voicemessage_delete", args=[message.pk])


def form_data(**overrides):
    """What the add or change form posts, with ``overrides``."""
    return {"name": "Promo", "media_id": "1967", "redirect_digit": "0", "redirect_number": "", **overrides}


def texts(response):
    """The messages the admin showed with ``response``, as text."""
    return [str(message) for message in get_messages(response.wsgi_request)]
