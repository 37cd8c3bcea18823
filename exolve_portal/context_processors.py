from django.conf import settings

from exolve_portal.exolve import sandbox_account


def exolve(request):
    """Tell every template whether the sandbox stands in for Exolve (for the banner)."""
    return {
        "exolve_sandbox": settings.EXOLVE_SANDBOX,
        "exolve_sandbox_media_ids": sandbox_account.DEFAULT_MEDIA_IDS if settings.EXOLVE_SANDBOX else (),
    }
