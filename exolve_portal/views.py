from pathlib import Path

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@login_not_required  # load balancers and monitoring have no session
@never_cache
@require_GET
def healthz(request):
    """Liveness for load balancers: the database answers. Never calls Exolve."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


FAVICON = Path(__file__).resolve().parent.parent / "static" / "portal" / "favicon.svg"


@login_not_required  # browsers ask for it before anyone logs in
@require_GET
def favicon(request):
    """/favicon.ico, which browsers ask for on their own: the portal's icon (an SVG)."""
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
