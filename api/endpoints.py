"""The endpoints of /api/v1/: send, read, steer, stop list. Each names the scope it needs."""

from __future__ import annotations

from datetime import datetime

from django.contrib.admin.models import ADDITION
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext
from ninja import Header, Query, Router
from ninja.security import HttpBearer

from audiences import stop_list
from audiences.models import StopListEntry, StopListReason
from audiences.phones import InvalidNumber, normalize
from calls import steering
from calls.lifecycle import TransitionRefused

from . import accepting, reading, tokens
from .audit import audit
from .models import ApiSend, Scope
from .problems import conflict, forbidden, invalid, not_found
from .schemas import ProblemOut, SendIn, SendOut, StopListIn
from .sends import send_out


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>` with `scope`; refusals are problem+json (api/tokens.py)."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def __call__(self, request: HttpRequest):
        request.api_token = tokens.check(request.headers.get("Authorization", ""), self.scope)
        return request.api_token

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return None


router = Router()
SINCE = Query(None, description="Calls sent at or after this moment (ISO 8601).")
UNTIL = Query(None, description="Calls sent before this moment (ISO 8601).")


# One URL name for the path's two methods: Django gets one pattern for it, django-ninja picks the method.
@router.post(
    "/broadcasts",
    auth=TokenAuth(Scope.SEND),
    url_name="broadcasts",
    response={200: SendOut, 202: SendOut, 422: ProblemOut, 429: ProblemOut},
    summary="Send a voice message (once per Idempotency-Key)",
    description=(
        "Answers 202 with the accepted send: a worker records its broadcast within seconds. "
        "GET the send's `url` (or repeat this request with the same key and body) for the broadcast "
        "and a verdict per number, or the problem that refused it."
    ),
)
def send(request, body: SendIn, idempotency_key: str = Header("", alias="Idempotency-Key")):
    status, answer = accepting.accept(request.api_token, idempotency_key, body.model_dump(mode="json"))
    response = JsonResponse(answer, status=status, json_dumps_params={"ensure_ascii": False})
    response["Location"] = answer["url"]
    return response


@router.get(
    "/sends/{int:pk}",
    auth=TokenAuth(Scope.SEND),
    url_name="send",
    response={200: SendOut, 404: ProblemOut},
    summary="One send of this token: accepted, recorded (its broadcast and verdicts) or refused",
)
def send_state(request, pk: int):
    found = ApiSend.objects.filter(pk=pk, token_id=request.api_token.pk).first()
    if found is None:
        raise not_found()
    return JsonResponse(send_out(found), json_dumps_params={"ensure_ascii": False})


@router.get(
    "/broadcasts",
    auth=TokenAuth(Scope.READ),
    url_name="broadcasts",
    summary="Broadcasts, newest first, with counts by outcome",
)
def broadcasts(request, cursor: str | None = None, limit: int | None = None):
    return reading.broadcasts_page(cursor, limit)


@router.get("/broadcasts/{int:pk}", auth=TokenAuth(Scope.READ), summary="One broadcast")
def broadcast(request, pk: int):
    return reading.broadcast_out(reading.one_broadcast(pk))


@router.get("/broadcasts/{int:pk}/calls", auth=TokenAuth(Scope.READ), summary="A broadcast's calls (cursor pages)")
def broadcast_calls(
    request,
    pk: int,
    outcome: str | None = None,
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    cursor: str | None = None,
    limit: int | None = None,
):
    reading.one_broadcast(pk)
    return reading.calls_page(pk, outcome=outcome, since=since, until=until, cursor=cursor, limit=limit)


@router.get("/calls/{int:pk}", auth=TokenAuth(Scope.READ), summary="One call")
def call(request, pk: int):
    return reading.one_call(pk)


@router.get("/voice-messages", auth=TokenAuth(Scope.READ), summary="Voice messages that may be sent")
def voice_messages(request):
    return {"items": reading.voice_messages()}


@router.get("/caller-numbers", auth=TokenAuth(Scope.READ), summary="Caller numbers that may be sent from")
def caller_numbers(request):
    return {"items": reading.caller_numbers()}


def _steer(request, pk: int, action: str):
    token = request.api_token
    found = reading.one_broadcast(pk)
    if not steering.may_steer(token.created_by, found):
        raise forbidden(gettext("The owner of this token may not steer this broadcast."))
    try:
        count = getattr(steering, action)(found, token.created_by)
    except TransitionRefused as exc:
        raise conflict(str(exc)) from exc
    audit(token, found, steering.summary(action, count))
    return {"broadcast": reading.broadcast_out(found), "summary": steering.summary(action, count)}


@router.post("/broadcasts/{int:pk}/stop", auth=TokenAuth(Scope.STEER), summary="Stop a broadcast")
def stop(request, pk: int):
    return _steer(request, pk, "stop")


@router.post("/broadcasts/{int:pk}/pause", auth=TokenAuth(Scope.STEER), summary="Pause a broadcast")
def pause(request, pk: int):
    return _steer(request, pk, "pause")


@router.post("/broadcasts/{int:pk}/resume", auth=TokenAuth(Scope.STEER), summary="Resume a paused broadcast")
def resume(request, pk: int):
    return _steer(request, pk, "resume")


def _number(raw: str) -> str:
    try:
        return normalize(raw)
    except InvalidNumber as exc:
        raise invalid(gettext("%(number)s: %(reason)s") % {"number": raw, "reason": exc}) from exc


@router.post("/stop-list", auth=TokenAuth(Scope.STOP_LIST), summary="Put a number on the stop list")
def stop_list_add(request, body: StopListIn):
    number = _number(body.number)
    if body.reason not in StopListReason.values:
        raise invalid(gettext("“reason” is one of: %(values)s.") % {"values": ", ".join(StopListReason.values)})
    token = request.api_token
    added = stop_list.add([number], reason=body.reason, note=body.note, user=token.created_by)
    entry = StopListEntry.objects.get(number=number)
    if added:
        audit(token, entry, gettext("put on the stop list"), ADDITION)
    return JsonResponse({"number": number, "on_stop_list": True, "added": bool(added)}, status=201 if added else 200)


@router.get("/stop-list/{number}", auth=TokenAuth(Scope.STOP_LIST), summary="Whether a number is on the stop list")
def stop_list_check(request, number: str):
    normalized = _number(number)
    entry = StopListEntry.objects.filter(number=normalized).first()
    return {
        "number": normalized,
        "on_stop_list": entry is not None,
        "reason": entry.reason if entry else None,
        "since": entry.added_at.isoformat() if entry and getattr(entry, "added_at", None) else None,
    }
