"""The portal's admin site: Django's, with the portal's login form and "View site" leading to the staff pages.

Installed as the default admin site (settings: `exolve_portal.admin_config.PortalAdminConfig`
in place of `django.contrib.admin`), so every app still registers on `admin.site`.
"""

from django.contrib import admin
from django.urls import reverse_lazy

from calls.permissions import VIEW_BROADCASTS_PERMISSION, VIEW_CALLS_PERMISSION

from .login_form import PortalLoginForm


class PortalAdminSite(admin.AdminSite):
    # The login page says plainly when an account may not come in (login_form.py).
    login_form = PortalLoginForm
    # "View site" leads to the staff pages' dashboard, not back to the admin...
    site_url = reverse_lazy("portal:dashboard")

    def each_context(self, request):
        context = super().each_context(request)
        # ...for those who may open it; nobody else is shown a link to a refusal.
        if not request.user.has_perms([VIEW_CALLS_PERMISSION, VIEW_BROADCASTS_PERMISSION]):
            context["site_url"] = None
        return context
