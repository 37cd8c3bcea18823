"""A broadcast to a contact list sent by a real `manage.py db_worker`, counted at the sandbox: a contact whose
consent was withdrawn, or who was deleted, between the recording and the claim is not called."""

from collections import Counter

import pytest

from tests.calls.test_broadcast_workers import NO_REFRESH, made, shared_site, wait_for
from tests.factories_calls import postgres_only

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECORD = """
import datetime, json
from audiences import stop_list
from audiences.consent import record_consent, withdraw_consent
from audiences.contact_models import Contact, ContactList, Membership
from audiences.models import StopListEntry
from calls.audience_recipients import list_recipients
from calls.plan_form import SendPlan
from calls.recording import create_broadcast, new_token
from voicemessages.models import VoiceMessage
club = ContactList.objects.create(name="Club")
people = {}
for number, name in [("79990000001", "Anna"), ("79990000002", "Boris"), ("79990000003", "Vera"),
                     ("79990000004", "Gleb")]:
    people[name] = Contact.objects.create(number=number, name=name)
    record_consent(people[name], purpose="reminder", kind="written", given_at=datetime.date(2026, 11, 1))
    Membership.objects.create(contact_list=club, contact=people[name])
found = list_recipients([club], "reminder")
vm = VoiceMessage.objects.create(name="W", media_id=1967)
plan = SendPlan(calling_hours="any", purpose="reminder", basis="consent", start_at=None)
b = create_broadcast(vm, "SOURCE_NUMBER", [*found.to_call, "79990000050"], None, new_token(), plan=plan,
                     contacts=found.to_call, audiences=found.record())
# After the recording, before any worker runs:
withdraw_consent(people["Boris"].consents.get(), channel="phone_call")  # and onto the stop list
withdraw_consent(people["Vera"].consents.get(), channel="letter")
StopListEntry.objects.filter(number="79990000003").delete()  # taken off the stop list; her consent stays withdrawn
people["Gleb"].delete()  # the call keeps its number, and has no consent any more
print(json.dumps({"pk": b.pk, "queued": b.calls.filter(state="queued").count()}))
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=postgres_only)])
def site(request, tmp_path):
    yield from shared_site(request, tmp_path, EXOLVE_MAX_IN_FLIGHT=4, **NO_REFRESH)


def test_a_consent_withdrawn_after_recording_is_not_called_by_the_worker(site, workers):
    from tests.factories_calls import SOURCE

    recorded = site.python(RECORD.replace("SOURCE_NUMBER", SOURCE))
    assert recorded["queued"] == 5  # everyone was callable when recorded
    workers.start(site.env)
    wait_for(lambda: "queued" not in site.states().values() and "sending" not in site.states().values(), 60,
             "every call to be taken or skipped", 0.2)  # fmt: skip
    workers.stop()

    reached = Counter(destination for _at, destination, _status in made(site.sandbox))
    assert reached == {"79990000001": 1, "79990000050": 1}
    states = site.states()
    assert {states[n] for n in ("79990000002", "79990000003", "79990000004")} == {"skipped"}
    errors = dict(site.rows("SELECT destination, error FROM calls_call WHERE state = 'skipped'"))
    assert "withdrawn after the broadcast was recorded" in errors["79990000003"]  # the consent, not the stop list
    assert site.rows("SELECT contact_id FROM calls_call WHERE destination = '79990000004'") == [(None,)]
