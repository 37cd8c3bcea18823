"""Admin for caller numbers: Exolve's facts read-only, Managers' decisions editable.

- Nobody adds or deletes a number here: they come from Exolve ("Sync from Exolve", a
  POST-only extra URL that starts a background job and shows its progress page), and a
  number Exolve no longer lists is kept for the history of the broadcasts that used it.
- Managers (change permission) enable a number for sending and record its operator
  label; enabling without outgoing calls or without a full label is refused on the form,
  in plain words. Operators only read.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from exolve_portal.admin_messages import ObjectMessagesMixin
from jobs.tasks import start_job
from jobs.views import job_url

from .jobs import SYNC
from .models import SYNC_PERMISSION, CallerNumber

DECIDED_FIELDS = ("enabled", "label_name", "label_category", "labelled_since")


class GoneFilter(admin.SimpleListFilter):
    title = gettext_lazy("at Exolve")
    parameter_name = "at_exolve"

    def lookups(self, request, model_admin):
        return [("listed", _("listed")), ("gone", _("no longer listed"))]

    def queryset(self, request, queryset):
        if self.value() == "listed":
            return queryset.filter(gone_since__isnull=True)
        if self.value() == "gone":
            return queryset.filter(gone_since__isnull=False)
        return queryset


# What Exolve says of a number (synced, never edited here).
AT_EXOLVE = (
    "number",
    "kind",
    "exolve_type",
    "region",
    "category",
    "description",
    "can_call_out",
    "can_send_sms",
    "exolve_created_at",
    "first_seen_at",
    "last_seen_at",
    "gone_since",
)


@admin.register(CallerNumber)
class CallerNumberAdmin(ObjectMessagesMixin, admin.ModelAdmin):
    list_display = ("shown", "kind", "region", "category", "description", "can_call_out", "enabled", "label_shown")
    list_filter = ("enabled", "kind", "can_call_out", GoneFilter)
    search_fields = ("number", "label_name", "label_category", "description")
    readonly_fields = (*AT_EXOLVE, "changed_by", "changed_at")
    fieldsets = [
        (None, {"fields": [*DECIDED_FIELDS]}),
        (gettext_lazy("At Exolve"), {"fields": [*AT_EXOLVE]}),
        (gettext_lazy("Changes"), {"fields": ["changed_by", "changed_at"]}),
    ]

    @admin.display(description=gettext_lazy("number"), ordering="number")
    def shown(self, obj):
        return str(obj)

    @admin.display(description=gettext_lazy("Exolve type"))
    def exolve_type(self, obj):
        return format_html("<code>{}</code>", obj.type_name) if obj.type_name else "—"  # Exolve's word: DEF, ABC, KDU

    @admin.display(description=gettext_lazy("operator's label"))
    def label_shown(self, obj):
        return obj.label or "—"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_sync_permission(self, request):
        return request.user.has_perm(SYNC_PERMISSION)

    def save_model(self, request, obj, form, change):
        obj.changed_by, obj.changed_at = request.user, timezone.now()
        obj.save(update_fields=[*DECIDED_FIELDS, "changed_by", "changed_at"])

    # --- sync ------------------------------------------------------------------------

    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def get_urls(self):
        return [
            path("sync/", self.admin_site.admin_view(self.sync_view), name=self._url_name("sync")),
            *super().get_urls(),
        ]

    def sync_view(self, request):
        """POST only: start the sync in the background (or find the one running) and show its progress."""
        return require_POST(self._sync)(request)

    def _sync(self, request):
        if not self.has_sync_permission(request):
            raise PermissionDenied
        changelist = reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name)
        job, started = start_job(SYNC, user=request.user, return_url=changelist, exclusive=True)
        if not started:
            self.message_user(
                request, _("A sync of caller numbers is already under way; here is its progress."), messages.INFO
            )
        return HttpResponseRedirect(job_url(job))

    def changelist_view(self, request, extra_context=None):
        extra_context = {"can_sync": self.has_sync_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context)
