"""Fixtures of the send engine's tests (sending, workers, steering, plan rules)."""

import signal
import subprocess

import pytest

from exolve_portal.roles import OPERATORS
from tests.factories import make_staff
from tests.factories_calls import start_worker


@pytest.fixture
def operator_client(client, operator):
    """The test client logged in as ``operator`` (a sender without a role)."""
    client.force_login(operator)
    return client


@pytest.fixture
def http_voice_message(sandbox_http, db):
    """A voice message created at ``sandbox_http`` (over real HTTP)."""
    from voicemessages.models import VoiceMessage

    return VoiceMessage.objects.create(name="Greeting", media_id=1967)


@pytest.fixture
def colleague(db, english):
    """Another operator (in the Operators role), not the one who sent."""
    return make_staff("colleague", OPERATORS)


@pytest.fixture
def portal_hours(settings):
    """Calling hours 09:00-21:00 (the suite's default is "any": CI runs at any hour)."""
    settings.EXOLVE_CALLING_HOURS = "09:00-21:00"


@pytest.fixture
def workers():
    """Start worker processes through `workers.start(env)`; any still running are killed afterwards."""

    class Workers(list):
        def start(self, env, *args):
            process = start_worker(env, *args)
            self.append(process)
            return process

        def stop(self, process=None, sig=signal.SIGTERM, timeout=30):
            for proc in [process] if process else list(self):
                if proc.poll() is None:
                    proc.send_signal(sig)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
                    raise AssertionError("a worker did not stop in time") from None

    started = Workers()
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
