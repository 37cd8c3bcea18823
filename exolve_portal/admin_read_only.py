"""Admin lists staff read and nobody edits (the audit trail, follow-up SMS, API sends)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: the rows are written by the portal's own code, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
