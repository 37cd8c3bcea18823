"""One decision of what a failed Delete at Exolve means (voicemessages/provisioning.py: delete_exolve_id).

Only Delete's documented not-found answer counts as "already deleted"; an HTML 404 (a
proxy, a wrong base URL), a proxy's 502 or a transport failure keep the message, in
every place that deletes at Exolve.
"""

import pytest
from django.urls import reverse

from exolve_portal.exolve import endpoints, errors
from tests.factories import DELETE, VoiceMessageFactory, synced_voice_message
from voicemessages.exceptions import VoiceMessageDeleteError
from voicemessages.models import OrphanedVoiceMessage, VoiceMessage
from voicemessages.provisioning import delete_exolve_id, delete_or_record

HTML_404 = "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>nginx</body></html>"


class ClientThatRaises:
    """Answers every Delete with ``error`` (None: deleted), and remembers what it was asked."""

    def __init__(self, error=None):
        self.error = error
        self.deleted = []

    def delete_voice_message(self, exolve_id):
        self.deleted.append(exolve_id)
        if self.error is not None:
            raise self.error


def answer(status, body):
    """The error the client raises for this HTTP answer to Delete."""
    return errors.error_for_response(status, errors.message_from_body(body), body, endpoints.DELETE)


def test_a_delete_that_succeeds_is_deleted():
    client = ClientThatRaises()

    result = delete_exolve_id(client, "vm-1")

    assert (result.deleted, result.already_gone, result.error) == (True, False, None)
    assert client.deleted == ["vm-1"]


def test_deletes_documented_not_found_counts_as_deleted():
    result = delete_exolve_id(ClientThatRaises(answer(404, '{"error": "error getting application"}')), "vm-1")

    assert (result.deleted, result.already_gone, result.error) == (True, True, None)


@pytest.mark.parametrize(
    "error",
    [
        answer(404, HTML_404),  # a proxy's or a wrong base URL's page
        answer(404, '{"error": "something else"}'),  # a 404 with an undocumented message
        answer(404, '{"error": "Scenario not found"}'),  # GetInfo's not-found, not Delete's
        answer(502, HTML_404.replace("404 Not Found", "502 Bad Gateway")),  # a proxy error
        answer(403, '{"error": "Customer is not in correct status"}'),
        errors.ExolveTimeout("read timed out", endpoint=endpoints.DELETE),
        errors.ExolveConnectionError("refused", endpoint=endpoints.DELETE),
    ],
    ids=["html-404", "other-404", "getinfo-404", "proxy-502", "account-403", "timeout", "refused"],
)
def test_any_other_failure_is_not_deleted_and_says_why(error):
    result = delete_exolve_id(ClientThatRaises(error), "vm-1")

    assert (result.deleted, result.already_gone, result.error) == (False, False, error)


# --- Every place that deletes at Exolve follows the same decision --------------------


def test_a_message_deleted_here_keeps_its_row_on_an_html_404(sandbox_unthrottled):
    message = VoiceMessageFactory(name="Keep me")
    sandbox_unthrottled.add_fault("http_error", DELETE, times=None, status=404)

    with pytest.raises(VoiceMessageDeleteError):
        message.delete()

    assert VoiceMessage.objects.filter(pk=message.pk).exists()


def test_a_message_already_gone_at_exolve_is_deleted_here(sandbox_unthrottled):
    message = synced_voice_message(sandbox_unthrottled)
    sandbox_unthrottled.reset()

    message.delete()

    assert not VoiceMessage.objects.filter(pk=message.pk).exists()


def test_a_leftover_is_recorded_on_an_html_404_and_not_on_deletes_not_found(sandbox_unthrottled):
    exolve_id = sandbox_unthrottled.add_voice_message("Left over")
    sandbox_unthrottled.add_fault("http_error", DELETE, times=1, status=404)

    assert delete_or_record(exolve_id, "Left over", reason=OrphanedVoiceMessage.NOT_STORED) is False
    assert OrphanedVoiceMessage.objects.get().exolve_id == exolve_id

    sandbox_unthrottled.reset()  # now Exolve answers its documented "error getting application"
    assert delete_or_record("gone-already", "Gone", reason=OrphanedVoiceMessage.NOT_STORED) is True
    assert OrphanedVoiceMessage.objects.count() == 1


def test_retrying_a_leftover_keeps_it_on_an_html_404_and_drops_it_once_gone(sandbox_unthrottled, manager_client):
    orphan = OrphanedVoiceMessage.objects.create(
        exolve_id=sandbox_unthrottled.add_voice_message("Left over"),
        name="Left over",
        reason=OrphanedVoiceMessage.REPLACED,
    )
    orphans = reverse("admin:voicemessages_orphanedvoicemessage_changelist")
    retry = {"action": "retry_delete_at_exolve", "_selected_action": [orphan.pk]}
    sandbox_unthrottled.add_fault("http_error", DELETE, times=1, status=404)

    manager_client.post(orphans, retry)
    assert "404" in OrphanedVoiceMessage.objects.get().error

    sandbox_unthrottled.reset()  # deleted meanwhile: Exolve answers its documented not-found
    manager_client.post(orphans, retry)
    assert not OrphanedVoiceMessage.objects.exists()
