from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language

from exolve_portal import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # The language switch works on the login page too (StaffRequiredMiddleware allows it).
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    # The stop list's admin moved with its model (calls -> audiences): old links still lead there.
    path(
        "admin/calls/stoplistentry/",
        RedirectView.as_view(pattern_name="admin:audiences_stoplistentry_changelist", query_string=True),
    ),
    path("admin/", admin.site.urls),
    # Progress pages of background jobs (sync, bulk deletes, refreshes): jobs/urls.py.
    path("portal/jobs/", include("jobs.urls")),
    # The staff pages (dashboard, send, broadcasts, calls): pages/urls.py.
    path("portal/", include("pages.urls")),
    # Only a pointer to the admin, which asks for the login itself.
    path("", login_not_required(RedirectView.as_view(pattern_name="admin:index", permanent=False))),
]
