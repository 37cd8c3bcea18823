"""The request bodies of the API (pydantic, through django-ninja): the OpenAPI schema shows them."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema


class PlanIn(Schema):
    """The send page's plan (calls/plan_form.py), checked by the same form and rules."""

    start_at: datetime | None = Field(None, description="When to start (ISO 8601 with an offset); empty: now.")
    calling_hours: str | None = Field(None, description='Working days, callee\'s local time: "09:00-21:00".')
    calling_hours_rest: str | None = Field(None, description="Weekends and public holidays, as calling_hours.")
    time_zone: str | None = Field(None, description="For numbers whose zone the number does not tell.")
    pace_per_minute: int | None = None
    retries: int | None = None
    retry_after_minutes: int | None = None
    retry_failed: bool = False
    purpose: str | None = Field(None, description="information, reminder or debt_reminder.")
    sms_text: str | None = Field(None, description="A follow-up SMS to those the calls did not reach; empty: none.")
    sms_sender: str | None = Field(None, description="A registered sender name or an enabled mobile caller number.")
    sms_on: list[str] | None = Field(None, description="Outcomes that trigger it: no_answer (default), busy, failed.")
    basis: str = Field(..., description="Why these people may be called: consent, contract or debt.")


class SendIn(Schema):
    voice_message: int = Field(..., description="The voice message's id (GET /voice-messages).")
    source: str = Field(..., max_length=20, description="An enabled caller number (GET /caller-numbers).")
    numbers: list[str] = Field(
        [], description="The numbers to call (at most EXOLVE_UPLOAD_MAX_ROWS; the body at most 5 MB)."
    )
    lists: list[str] = Field(
        [],
        max_length=20,
        description="Contact lists by name: their contacts with a consent in force for the purpose are called.",
    )
    name: str = Field("", max_length=200)
    plan: PlanIn


class StopListIn(Schema):
    number: str = Field(..., max_length=100)
    reason: str = Field("asked", description="asked, complaint, wrong_person or other.")
    note: str = Field("", max_length=255)


class ProblemOut(Schema):
    """RFC 9457 problem details (application/problem+json), in the language of Accept-Language."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict] | None = Field(None, description="Per field or number refused: {field, message} or a verdict.")
    retry_after: int | None = Field(None, description="429: seconds until the token may send again.")


class VerdictOut(Schema):
    number: str
    verdict: str = Field(
        ...,
        description=(
            "Accepted: accepted (checked when recorded), invalid, duplicate. Recorded: valid, stop_list, "
            "no_consent, over_limit, invalid, duplicate."
        ),
    )
    reason: str = ""


class SendOut(Schema):
    """A send: accepted (to be recorded by a worker), recorded (its broadcast) or refused (its problem)."""

    id: int
    key: str = Field(..., description="The Idempotency-Key it was sent with.")
    state: str = Field(..., description="accepted, recorded or refused.")
    url: str = Field(..., description="Where to read it again: GET this address.")
    broadcast: dict | None = Field(None, description="Once recorded: the broadcast, as GET /broadcasts/{id} shows it.")
    numbers: list[VerdictOut]
    problem: ProblemOut | None = Field(None, description="Once refused: why.")
