"""The file of a send preview, kept under the form's token so "check again" reads it again.

Bounded like any upload (the reader refuses a file over EXOLVE_UPLOAD_MAX_BYTES before it
is kept); kept for the person who uploaded it only, and deleted with old drafts.
"""

from datetime import timedelta

from django.utils import timezone

from .models import KeptUpload


def keep(token: str, user, name: str, data: bytes) -> str:
    """Keep the uploaded file under the form's token, for the next preview of the same form; its name ("" if not)."""
    if not token or not getattr(user, "pk", None):
        return ""
    KeptUpload.objects.update_or_create(
        token=token,
        created_by=user,
        defaults={"name": (name or "")[:255], "data": data, "created_at": timezone.now()},
    )
    return (name or "")[:255]


def kept(token: str, user, *, max_age: timedelta) -> KeptUpload | None:
    """The file kept under `token` for `user`, if not older than `max_age`.

    It has a `name` and a `size`, as the upload reader reads them from an uploaded file.
    """
    found = KeptUpload.objects.filter(token=token, created_by=user, created_at__gte=timezone.now() - max_age).first()
    if found is not None:
        found.size = len(found.data)
    return found
