"""Accepted sends and their recording, without a live server or threads: when a recording task
is asked for, what a fault leaves, and a token's state read once a second per process."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from api import accepting, recording, tasks, tokens
from api.models import ApiSend, ApiToken
from calls.models import Broadcast
from tests.calls.test_broadcast_workers import DB_TASKS
from tests.factories_calls import SOURCE

SECOND = 1_800_000_000


def waiting_recordings() -> list[datetime]:
    from django_tasks_db.models import DBTaskResult

    return list(
        DBTaskResult.objects.filter(task_path=tasks.record_sends.module_path, status="READY").values_list(
            "run_after", flat=True
        )
    )


@pytest.fixture
def clock(monkeypatch):
    now = SimpleNamespace(time=lambda: SECOND + 0.2)
    monkeypatch.setattr(tasks, "time", now)
    monkeypatch.setattr(tasks._Asked, "second", None)
    return now


def test_a_recording_task_runs_after_the_second_of_the_sends_it_records(db, settings, clock):
    settings.TASKS = DB_TASKS
    tasks.record_soon()
    tasks.record_soon()  # the same second, the same process: nothing more
    assert waiting_recordings() == [datetime.fromtimestamp(SECOND + 1 + tasks.CLOCK_MARGIN, tz=UTC)]
    # Another process, the same second: the waiting task runs after this second too.
    tasks._Asked.second = None
    tasks.record_soon()
    assert len(waiting_recordings()) == 1
    # A task due before the end of the next second might run before this process's last send of
    # it: a new one is asked for.
    clock.time = lambda: SECOND + 1.1
    tasks.record_soon()
    assert sorted(waiting_recordings())[-1] == datetime.fromtimestamp(SECOND + 2 + tasks.CLOCK_MARGIN, tz=UTC)
    assert len(waiting_recordings()) == 2


def make_token(owner) -> ApiToken:
    raw, prefix, digest = tokens.new_token()
    return ApiToken.objects.create(name=prefix, prefix=prefix, digest=digest, scopes=["send"], created_by=owner)


def body(voice_message, *numbers):
    return {
        "voice_message": voice_message.pk,
        "source": SOURCE,
        "numbers": list(numbers),
        "plan": {"basis": "contract"},
    }


def test_a_fault_while_recording_refuses_the_send_once_and_records_the_others(
    db, settings, sandbox, voice_message, monkeypatch
):
    from exolve_portal.role_names import MANAGERS
    from tests.factories import make_staff

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    token = make_token(make_staff("manager", role=MANAGERS))
    for key, number in (("a", "79991234561"), ("b", "79991234562")):
        assert accepting.accept(token, key, body(voice_message, number))[0] == 202
    real_record = recording.record

    def broken_for_a(token, key, body):
        if key == "a":
            raise RuntimeError("a bug")
        return real_record(token, key, body)

    monkeypatch.setattr(recording, "record", broken_for_a)
    assert recording.record_waiting() == 2
    assert recording.record_waiting() == 0  # nothing left: the refused one is not tried again
    states = dict(ApiSend.objects.values_list("key", "state"))
    assert states == {"a": "refused", "b": "recorded"}
    refused = ApiSend.objects.get(key="a").answer["problem"]
    assert refused["status"] == 500 and "nobody will be called" in refused["detail"]
    assert list(Broadcast.objects.values_list("calls__destination", flat=True)) == ["79991234562"]
    # The repeat of a refused send answers the refusal (200: nothing more will happen to it).
    status, answer = accepting.accept(token, "a", body(voice_message, "79991234561"))
    assert status == 200 and answer["state"] == "refused" and answer["problem"] == refused


def test_a_token_is_read_again_after_a_second_and_at_once_when_changed_here(db, monkeypatch):
    from tests.factories import make_staff

    raw, prefix, digest = tokens.new_token()
    token = ApiToken.objects.create(name="crm", prefix=prefix, digest=digest, scopes=["send"],
                                    created_by=make_staff("m"))  # fmt: skip
    clock = SimpleNamespace(monotonic=lambda: 100.0)
    monkeypatch.setattr(tokens, "time", clock)
    tokens.forget()
    assert tokens.authenticate(f"Bearer {raw}").token.pk == token.pk
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())  # another process revokes it
    assert tokens.authenticate(f"Bearer {raw}").token.revoked_at is None  # trusted within the second
    clock.monotonic = lambda: 101.0
    with pytest.raises(tokens.Problem, match="revoked"):
        tokens.authenticate(f"Bearer {raw}")
    token.refresh_from_db()
    token.revoked_at = None
    token.save()  # a change in this process (the admin): applies at once
    assert tokens.authenticate(f"Bearer {raw}").token.revoked_at is None
    token.revoked_at = timezone.now()
    token.save()
    with pytest.raises(tokens.Problem, match="revoked"):
        tokens.authenticate(f"Bearer {raw}")


def test_sends_are_forgotten_after_the_kept_days_and_their_key_sends_again(db, settings, sandbox, voice_message):
    from datetime import timedelta

    from exolve_portal.role_names import MANAGERS
    from tests.factories import make_staff

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.EXOLVE_API_SENDS_KEPT_DAYS = 30
    token = make_token(make_staff("manager", role=MANAGERS))
    accepting.accept(token, "old", body(voice_message, "79991234561"))
    recording.record_waiting()
    accepting.accept(token, "waiting", body(voice_message, "79991234562"))  # not recorded yet
    ApiSend.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert recording.forget_old_sends() == 1
    assert list(ApiSend.objects.values_list("key", flat=True)) == ["waiting"]  # never before it is recorded
    status, again = accepting.accept(token, "old", body(voice_message, "79991234561"))
    assert status == 202 and again["state"] == "accepted"
