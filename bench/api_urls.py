"""The portal's URLs plus the floor of bench/bench_api.py: a bare view that only inserts a row.

It goes through the same middleware as the API (sessions, locale, CSRF exemption, the staff
middleware's exemption) and writes one row, in autocommit, as a Django view at its simplest.
"""

import json

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from exolve_portal.urls import urlpatterns as portal_urlpatterns


@login_not_required
@csrf_exempt
def insert_row(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_api_row (body) VALUES (%s)", [request.body.decode()])
    return JsonResponse({"ok": True}, status=201)


@login_not_required
@csrf_exempt
def record_only(request):
    """The send page's recording alone (`create_broadcast`, as the command calls it): what a send
    costs before any API work (no token, no key, no checks of the body, no verdicts, no audit)."""
    from calls.recording import SendPlan, create_broadcast, new_token
    from voicemessages.models import VoiceMessage

    body = json.loads(request.body)
    voice_message = VoiceMessage.objects.get(pk=body["voice_message"])
    plan = SendPlan(basis="contract", calling_hours="any")
    broadcast = create_broadcast(voice_message, body["source"], body["numbers"], None, new_token(), plan=plan)
    return JsonResponse({"broadcast": broadcast.pk}, status=201)


urlpatterns = [path("bench/insert", insert_row), path("bench/record", record_only), *portal_urlpatterns]
