"""Caller numbers mirrored from Exolve: the sync (command, admin job, first start) and what Managers decide."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from caller_numbers.models import CallerNumber
from caller_numbers.sync import sync_caller_numbers
from exolve_portal.exolve.endpoints import NUMBERS_GET_LIST
from exolve_portal.exolve.sandbox import SANDBOX_SOURCE_NUMBERS
from exolve_portal.roles import MANAGERS, OPERATORS
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

CITY, OTHER_CITY = SANDBOX_SOURCE_NUMBERS
TOLL_FREE = "78001234567"
CHANGELIST = "admin:caller_numbers_callernumber_changelist"
SYNC = "admin:caller_numbers_callernumber_sync"


def change_url(number):
    return reverse("admin:caller_numbers_callernumber_change", args=[CallerNumber.objects.get(number=number).pk])


def labelled(number, **fields):
    row = CallerNumber.objects.get(number=number)
    values = {"enabled": True, "label_name": "ООО Ромашка", "label_category": "Доставка"}
    values["labelled_since"] = datetime.date(2025, 9, 1)
    for name, value in {**values, **fields}.items():
        setattr(row, name, value)
    row.save()
    return row


# --- the sync ----------------------------------------------------------------------------


def test_sync_creates_updates_marks_gone_and_disables_what_may_no_longer_be_used(sandbox):
    result = sync_caller_numbers()
    assert result.counts()["created"] == 5
    mobile = CallerNumber.objects.get(number="79991234501")
    assert (mobile.kind, mobile.region, mobile.can_call_out, mobile.can_send_sms) == ("mobile", "Moscow", True, True)
    assert CallerNumber.objects.get(number=TOLL_FREE).kind == "8-800"
    labelled(CITY)
    labelled(OTHER_CITY)

    numbers = sandbox.owned_numbers()
    numbers[1] = {**numbers[1], "description": "New desk", "number_options": {"outgoing_calls": False}}
    sandbox.set_numbers([n for n in numbers if n["number_name"] != CITY])
    result = sync_caller_numbers()

    gone = CallerNumber.objects.get(number=CITY)
    assert result.gone == [CITY] and gone.gone_since is not None and not gone.enabled
    assert gone.label_name == "ООО Ромашка"  # kept for the history, label and all
    changed = CallerNumber.objects.get(number=OTHER_CITY)
    assert changed.description == "New desk" and not changed.can_call_out and not changed.enabled
    assert sorted(result.disabled) == sorted([CITY, OTHER_CITY]) and result.updated == [OTHER_CITY]

    sandbox.set_numbers(numbers)  # it is back at Exolve: listed again, still disabled until a Manager says
    sync_caller_numbers()
    assert CallerNumber.objects.get(number=CITY).gone_since is None
    assert not CallerNumber.objects.get(number=CITY).enabled


@pytest.mark.usefixtures("error_shape")
def test_sync_over_http_in_each_error_shape_changes_nothing_on_a_refusal(sandbox_http, settings):
    sync_caller_numbers()
    assert CallerNumber.objects.count() == 5
    settings.EXOLVE_API_KEY = "not-ours"
    sandbox_http.sandbox.set_numbers([])

    with pytest.raises(CommandError) as excinfo:
        call_command("sync_caller_numbers")

    assert excinfo.value.returncode == 2 and "API key" in str(excinfo.value)
    assert CallerNumber.objects.filter(gone_since__isnull=True).count() == 5


def test_first_start_syncs_once_and_a_failure_only_warns(sandbox, capsys):
    sandbox.add_fault("connect_refused", NUMBERS_GET_LIST, times=None)
    call_command("sync_caller_numbers", "--if-never-synced")  # no CommandError: the start goes on
    assert "could not be read from Exolve" in capsys.readouterr().err
    assert not CallerNumber.objects.exists()

    sandbox.clear_faults()
    call_command("sync_caller_numbers", "--if-never-synced")
    assert CallerNumber.objects.count() == 5
    asked = sandbox.count(NUMBERS_GET_LIST)
    call_command("sync_caller_numbers", "--if-never-synced")
    assert sandbox.count(NUMBERS_GET_LIST) == asked  # synced before: nothing asked


def test_admin_sync_button_runs_in_the_background(sandbox_unthrottled, client, worker):
    client.force_login(make_staff("boss", MANAGERS))
    job_page = client.post(reverse(SYNC))["Location"]
    assert sandbox_unthrottled.count(NUMBERS_GET_LIST) == 0  # the request only started the job
    worker()
    assert "5 new, 0 changed" in client.get(job_page).content.decode()
    assert CallerNumber.objects.count() == 5

    client.force_login(make_staff("reader", OPERATORS))
    assert client.post(reverse(SYNC)).status_code == 403
    assert "caller-numbers-sync-button" not in client.get(reverse(CHANGELIST)).content.decode()


# --- enabling, in the admin --------------------------------------------------------------


def _post(client, number, **fields):
    data = {"enabled": "on", "label_name": "", "label_category": "", "labelled_since": "", **fields}
    return client.post(change_url(number), data)


def test_enabling_needs_the_operator_label_and_outgoing_calls(sandbox, client):
    sync_caller_numbers()
    client.force_login(make_staff("boss", MANAGERS))

    page = _post(client, CITY, label_name="ООО Ромашка").content.decode()
    assert "Record the label the operator registered" in page
    label = {"label_name": "ООО Ромашка", "label_category": "Доставка", "labelled_since": "2025-09-01"}
    page = _post(client, TOLL_FREE, **label).content.decode()
    assert "does not allow outgoing calls" in page
    assert not CallerNumber.objects.filter(enabled=True).exists()

    assert _post(client, CITY, **label).status_code == 302
    row = CallerNumber.objects.get(number=CITY)
    assert row.enabled and row.label == "ООО Ромашка, Доставка" and row.changed_by.username == "boss"


def test_operators_read_caller_numbers_and_change_nothing(sandbox, client):
    sync_caller_numbers()
    client.force_login(make_staff("reader", OPERATORS))
    assert client.get(reverse(CHANGELIST)).status_code == 200
    _post(client, CITY, label_name="X", label_category="Y", labelled_since="2025-09-01")
    assert not CallerNumber.objects.get(number=CITY).enabled
