"""The follow-up SMS in the admin: read only (the workers write them), seen by whoever sees calls."""

from django.contrib import admin

from exolve_portal.admin_read_only import ReadOnlyAdmin

from .models import SmsFollowUp
from .permissions import VIEW_CALLS_PERMISSION


@admin.register(SmsFollowUp)
class SmsFollowUpAdmin(ReadOnlyAdmin):
    list_display = ("destination", "broadcast", "sender", "state", "sent_at", "error")
    list_filter = ("state",)
    search_fields = ("destination", "message_id")
    list_select_related = ("broadcast",)
    readonly_fields = (
        "broadcast", "call", "destination", "sender", "state", "created_at", "not_before", "time_zone",
        "claimed_at", "claimed_by", "sent_at", "message_id", "raw", "error",
    )  # fmt: skip
    fields = readonly_fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_CALLS_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)
