"""The portal's URLs plus the floor of bench/bench_api.py: a bare view that only inserts a row.

It goes through the same middleware as the API (sessions, locale, CSRF exemption, the staff
middleware's exemption) and writes one row, in autocommit, as a Django view at its simplest.
"""

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


urlpatterns = [path("bench/insert", insert_row), *portal_urlpatterns]
