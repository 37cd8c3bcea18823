"""Repeating broadcasts in the admin: read them, pause, resume or end them; made and changed on the staff pages."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import steering
from .models import Schedule, ScheduleRun
from .permissions import END_SCHEDULES_PERMISSION, PAUSE_SCHEDULES_PERMISSION


class RunInline(admin.TabularInline):
    model = ScheduleRun
    fields = ("run_date", "due_at", "state", "broadcast", "reason")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-run_date",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("broadcast")


def _steer(action, request, queryset) -> int:
    return sum(1 for schedule in queryset[:500] if action(schedule, request.user))


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "state", "recurrence", "time", "next_run_at", "staff_page")
    list_filter = ("state", "recurrence", "purpose")
    search_fields = ("name",)
    readonly_fields = ("staff_page", "created_by", "created_at", "updated_by", "updated_at")
    exclude = ("plan",)
    inlines = [RunInline]
    actions = ["pause", "resume", "end"]

    def has_add_permission(self, request):
        return False  # the staff page's form checks the plan as the send page does

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # ended, never deleted: its runs are the history of its broadcasts

    @admin.display(description=_("staff page"))
    def staff_page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("portal:schedule", args=[obj.pk]), gettext("Open"))

    @admin.action(description=_("Pause selected repeating broadcasts"), permissions=["pause"])
    def pause(self, request, queryset):
        done = _steer(steering.pause, request, queryset)
        text = ngettext("Paused %(count)d repeating broadcast.", "Paused %(count)d repeating broadcasts.", done)
        messages.success(request, text % {"count": done})

    @admin.action(description=_("Resume selected repeating broadcasts"), permissions=["pause"])
    def resume(self, request, queryset):
        done = _steer(steering.resume, request, queryset)
        text = ngettext("Resumed %(count)d repeating broadcast.", "Resumed %(count)d repeating broadcasts.", done)
        messages.success(request, text % {"count": done})

    @admin.action(description=_("End selected repeating broadcasts"), permissions=["end"])
    def end(self, request, queryset):
        done = _steer(steering.end, request, queryset)
        text = ngettext("Ended %(count)d repeating broadcast.", "Ended %(count)d repeating broadcasts.", done)
        messages.success(request, text % {"count": done})

    def has_pause_permission(self, request):
        return request.user.has_perm(PAUSE_SCHEDULES_PERMISSION)

    def has_end_permission(self, request):
        return request.user.has_perm(END_SCHEDULES_PERMISSION)
