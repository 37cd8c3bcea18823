"""The send page and the broadcast pages with purposes and basis as the law sees them (issue 22).

Advertising is not offered and a crafted POST of it is refused with the law named, nothing
typed lost; the basis is required and shown on the page, the resend confirmation and the export.
"""

import pytest
from django.urls import reverse

from calls.models import Basis, Broadcast, CallState, Purpose
from tests.factories_calls import NO_ANSWER, queue
from tests.pages_helpers import confirmation, send_preview

pytestmark = pytest.mark.django_db


def test_a_crafted_advertising_post_is_refused_and_keeps_what_was_typed(operator_page_client, voice_message):
    response = send_preview(
        operator_page_client, voice_message, f"{NO_ANSWER}\n79991234561", purpose="advertising", name="Autumn sale"
    )
    assert response.context["preview"] is None
    said = " ".join(response.context["form"].errors["purpose"])
    assert "38-FZ" in said and "article 18 part 2" in said and "person to person" in said
    page = response.content.decode()
    assert "Autumn sale" in page and "79991234561" in page  # nothing typed is lost
    assert 'value="advertising"' not in page  # not offered among the purposes
    assert not Broadcast.objects.exists()


def test_the_basis_is_required_with_no_choice_made_for_the_sender(operator_page_client, voice_message):
    response = send_preview(operator_page_client, voice_message, NO_ANSWER, basis="")
    assert response.context["preview"] is None
    assert "Choose why these people may be called" in " ".join(response.context["form"].errors["basis"])
    assert (
        'name="basis" value="consent" checked' not in operator_page_client.get(reverse("portal:send")).content.decode()
    )


def test_the_basis_goes_from_the_preview_to_the_broadcast_page_and_the_export(
    operator_page_client, voice_message, dummy_tasks
):
    response = send_preview(
        operator_page_client, voice_message, NO_ANSWER, purpose="debt_reminder", basis="debt", name="Debt"
    )
    assert "a debt owed" in response.content.decode()
    assert operator_page_client.post(reverse("portal:send"), confirmation(response)).status_code == 302
    broadcast = Broadcast.objects.get()
    assert (broadcast.purpose, broadcast.basis) == (Purpose.DEBT_REMINDER, Basis.DEBT)

    page = operator_page_client.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    assert "A debt owed" in page[page.index('id="broadcast-basis"') :][:200]
    export = operator_page_client.get(reverse("portal:calls_export_csv"), {"broadcast": broadcast.pk})
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert lines[1].split(",")[header.index("basis")] == "a debt owed"


def test_an_old_advertising_broadcast_reads_as_such_and_is_not_sent_again(
    operator_page_client, operator_user, voice_message, dummy_tasks
):
    broadcast = queue(voice_message, [NO_ANSWER], user=operator_user)
    Broadcast.objects.filter(pk=broadcast.pk).update(purpose=Purpose.ADVERTISING, consent_confirmed=True)
    broadcast.calls.update(state=CallState.FINISHED, status="no_answer")

    page = operator_page_client.get(reverse("portal:broadcast", args=[broadcast.pk])).content.decode()
    shown = page[page.index('id="broadcast-purpose"') :][:300]
    assert "Advertising (no longer sent)" in shown and "prior consent" in shown
    assert "Not recorded" in page[page.index('id="broadcast-basis"') :][:200]

    url = reverse("portal:broadcast_resend", args=[broadcast.pk])
    asked = operator_page_client.get(url).content.decode()
    assert "38-FZ" in asked[asked.index('class="resend-refused') :][:800]
    operator_page_client.post(url, {"confirmed": "yes"})
    assert Broadcast.objects.count() == 1
