"""Queued calls whose send task was lost (the process stopped before the on-commit
enqueue) are picked up again, without sending anything twice."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from calls.models import Call
from calls.sending import send_queued_calls
from calls.tasks import resume_stalled_sending, send_broadcast
from tests.factories_calls import MAKE, queue

pytestmark = pytest.mark.django_db

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def send_tasks_for(broadcast_id):
    return [
        result
        for result in DBTaskResult.objects.filter(task_path=send_broadcast.module_path)
        if result.args_kwargs["args"] == [broadcast_id]
    ]


def lost_broadcast(voice_message, minutes_ago=5):
    """A broadcast recorded without its tasks, as if the process stopped right after the commit."""
    broadcast = queue(voice_message, ["79991234561", "79991234562"])  # on_commit never fires in a test
    Call.objects.filter(broadcast=broadcast).update(queued_at=timezone.now() - timedelta(minutes=minutes_ago))
    return broadcast


def test_a_broadcast_whose_send_task_was_lost_is_enqueued_again_once(voice_message, settings):
    settings.TASKS = DATABASE_TASKS
    broadcast = lost_broadcast(voice_message)

    assert resume_stalled_sending() == [broadcast.pk]
    assert resume_stalled_sending() == []  # a send task is waiting now: nothing more

    assert len(send_tasks_for(broadcast.pk)) == 1
    assert send_tasks_for(broadcast.pk)[0].status == TaskResultStatus.READY


def test_recent_queued_calls_are_left_to_their_own_task(voice_message, settings):
    settings.TASKS = DATABASE_TASKS
    lost_broadcast(voice_message, minutes_ago=0)

    assert resume_stalled_sending() == []
    assert DBTaskResult.objects.count() == 0


def test_resumed_sending_rings_each_number_once(voice_message, settings, sandbox):
    settings.TASKS = DATABASE_TASKS
    broadcast = lost_broadcast(voice_message)
    resume_stalled_sending()

    send_queued_calls(broadcast.pk)
    send_queued_calls(broadcast.pk)  # the resumed task and a late original both run

    assert sandbox.count(MAKE) == 2
    assert set(Call.objects.filter(broadcast=broadcast).values_list("state", flat=True)) == {"sent"}


def test_refresh_calls_command_resumes_lost_sending(voice_message, settings, capsys):
    settings.TASKS = DATABASE_TASKS
    broadcast = lost_broadcast(voice_message)

    call_command("refresh_calls")

    assert len(send_tasks_for(broadcast.pk)) == 1
    assert str(broadcast.pk) in capsys.readouterr().err
