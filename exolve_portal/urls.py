from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django.views.i18n import set_language

from exolve_portal import views
from exolve_portal.invitations import invite_colleague

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Prometheus metrics, for a token or an allowed address (integrations/views.py).
    path("", include("integrations.urls")),
    # The language switch works on the login page too (StaffRequiredMiddleware allows it).
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    # The stop list's admin moved with its model (calls -> audiences): old links still lead there.
    path(
        "admin/calls/stoplistentry/",
        RedirectView.as_view(pattern_name="admin:audiences_stoplistentry_changelist", query_string=True),
    ),
    # Inviting a colleague and setting or resetting a password by e-mail (Django's own views;
    # the admin's login page links "admin_password_reset").
    path("admin/invite/", admin.site.admin_view(invite_colleague), name="invite_colleague"),
    path(
        "admin/password_reset/",
        # The portal's name in the e-mail, not the host's.
        auth_views.PasswordResetView.as_view(extra_email_context={"site_name": _("Exolve Voice Portal")}),
        name="admin_password_reset",
    ),
    path("admin/password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "admin/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("admin/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("admin/", admin.site.urls),
    # The HTTP API for other systems (token auth, problem+json errors): api/urls.py.
    path("api/", include("api.urls")),
    # Progress pages of background jobs (sync, bulk deletes, refreshes): jobs/urls.py.
    path("portal/jobs/", include("jobs.urls")),
    # The staff pages (dashboard, send, broadcasts, calls): pages/urls.py.
    path("portal/", include("pages.urls")),
    # Only a pointer to the admin, which asks for the login itself.
    path("", login_not_required(RedirectView.as_view(pattern_name="admin:index", permanent=False))),
]
