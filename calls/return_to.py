"""The way back from the send page to the admin change list a staff member came from.

The admin's "Send…" action passes the change list's URL, filters included, as
``?return=``. Only a change list of this site's admin is accepted: anything else (another
host, a scheme, a page that is not an admin list) is dropped, so the link can never
lead off the portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.contrib import admin
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

RETURN_PARAMETER = "return"


@dataclass(frozen=True)
class ReturnLink:
    url: str  # path and query string, on this site
    label: str

    def as_query(self) -> str:
        """``return=...``, to carry the way back through the page's own forms."""
        return urlencode({RETURN_PARAMETER: self.url})


def return_link(value: str | None) -> ReturnLink | None:
    """The link back for a ``return`` value, or None when it is not one of this admin's change lists."""
    if not value or not url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None  # only a path on this site
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    model_admin = getattr(match.func, "model_admin", None)
    if match.namespace != admin.site.name or model_admin is None or not match.url_name.endswith("_changelist"):
        return None
    url = parts.path + (f"?{parts.query}" if parts.query else "")
    label = gettext("Back to the list: %(name)s") % {"name": model_admin.opts.verbose_name_plural}
    return ReturnLink(url=url, label=label)
