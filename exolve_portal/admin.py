"""The audit trail in the admin: Django's own log of who added, changed and deleted what.

The admin writes a LogEntry for every add, change and delete made through it (and the
apps write one when staff send a broadcast), so this read-only list answers "who did
that, and when" for voice messages, broadcasts and users alike.
"""

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .admin_read_only import ReadOnlyAdmin
from .pagination import ADMIN_PAGE


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ["action_time", "user", "action_label", "content_type", "object_link", "change_summary"]
    # Only the kinds of object the log holds entries for (not every model of every app).
    list_filter = [
        "action_flag",
        ("content_type", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
        "action_time",
    ]
    search_fields = ["object_repr", "object_id", "user__username", "change_message"]
    date_hierarchy = "action_time"
    list_select_related = ["user", "content_type"]
    ordering = ["-action_time"]
    list_max_show_all = ADMIN_PAGE  # no "Show all": the log grows with every action
    fields = ["action_time", "user", "action_flag", "content_type", "object_id", "object_repr", "change_summary"]
    readonly_fields = fields

    @admin.display(description=_("action"), ordering="action_flag")
    def action_label(self, entry):
        return entry.get_action_flag_display()

    @admin.display(description=_("object"), ordering="object_repr")
    def object_link(self, entry):
        url = None if entry.is_deletion() else entry.get_admin_url()
        if url:
            return format_html('<a href="{}">{}</a>', url, entry.object_repr)
        return entry.object_repr

    @admin.display(description=_("details"))
    def change_summary(self, entry):
        return entry.get_change_message()


from . import admin_installed_apps  # noqa: E402,F401 (the installed apps' admins, in the staff's words)
