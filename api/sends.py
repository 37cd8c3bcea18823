"""What the API shows of a send (api/models.ApiSend): the same shape wherever it is answered."""

from __future__ import annotations

from functools import cache

from django.urls import reverse

from .models import ApiSend, SendState


def send_out(send: ApiSend) -> dict:
    """The send: its state, and once recorded its broadcast and verdicts, or once refused the problem."""
    answer = send.answer or {}
    return {
        "id": send.pk,
        "key": send.key,
        "state": send.state,
        "url": send_url(send.pk),
        "broadcast": answer.get("broadcast"),
        "numbers": answer.get("numbers", []),
        "problem": answer.get("problem"),
    }


def accepted_out(pk: int, key: str, verdicts: list[dict]) -> dict:
    """A send just accepted: its numbers as given (checked against the stop list and consent when recorded)."""
    return {
        "id": pk,
        "key": key,
        "state": SendState.ACCEPTED.value,
        "url": send_url(pk),
        "broadcast": None,
        "numbers": verdicts,
        "problem": None,
    }


def send_url(pk: int) -> str:
    return _sends_prefix() + str(pk)


@cache
def _sends_prefix() -> str:
    return reverse("api:send", args=[0]).removesuffix("0")
