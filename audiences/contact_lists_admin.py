"""Contact lists in the admin: the lists, the import into one, and the export of one.

The import merges by number (audiences.contacts_import) and reports every row; more
than CONTACTS_IN_REQUEST rows become a background job with a progress page.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exolve_portal.admin_messages import ObjectMessagesMixin
from exolve_portal.admin_urls import admin_url
from exolve_portal.spreadsheets import CSV, CSV_EXCEL, XLSX
from jobs.views import job_url

from .contact_jobs import describe_import, result_data, start_import
from .contact_models import ContactList
from .contacts_export import export_response
from .contacts_forms import ContactImportForm
from .contacts_import import CONTACTS_IN_REQUEST, merge
from .permissions import ADD_CONTACTS_PERMISSION, ADD_MEMBERS_PERMISSION

LEVELS = {"success": messages.SUCCESS, "info": messages.INFO, "warning": messages.WARNING, "error": messages.ERROR}


def may_import(user) -> bool:
    return user.has_perms([ADD_CONTACTS_PERMISSION, ADD_MEMBERS_PERMISSION])


def run_import(request, form, return_url: str):
    """The form's rows merged into its list (or a job started): (report lines, or None and a redirect)."""
    contact_list = form.target_list(request.user)
    if len(form.rows) > CONTACTS_IN_REQUEST:
        job = start_import(form.rows, contact_list, user=request.user, consent=form.consent, return_url=return_url)
        return None, HttpResponseRedirect(job_url(job))
    result = merge(form.rows, contact_list, user=request.user, consent=form.consent)
    return describe_import(result_data(result)), None


@admin.register(ContactList)
class ContactListAdmin(ObjectMessagesMixin, admin.ModelAdmin):
    object_messages = {
        "added": _("The list {obj} was added."),
        "changed": _("The list {obj} was changed."),
        "deleted": _("The list {obj} was deleted (its contacts stay)."),
    }
    list_display = ("name", "size", "description", "created_by", "created_at")
    search_fields = ("name", "description")
    fields = ("name", "description")
    change_form_template = "admin/audiences/contactlist/change_form.html"
    change_list_template = "admin/audiences/contactlist/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(size=Count("memberships")).select_related("created_by")

    @admin.display(description=_("contacts"), ordering="size")
    def size(self, obj):
        return obj.size

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            admin_url(self, "import/", self.import_view, "import"),
            *[
                admin_url(self, f"<int:pk>/export/{fmt}/", self.export_view, f"export_{name}", {"file_format": fmt})
                for fmt, name in ((CSV, "csv"), (CSV_EXCEL, "csv_excel"), (XLSX, "xlsx"))
            ],
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": may_import(request.user)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": may_import(request.user)}
        return super().change_view(request, object_id, form_url, extra_context)

    def export_view(self, request, pk, file_format):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return export_response(file_format, get_object_or_404(ContactList, pk=pk))

    def import_view(self, request):
        """Upload or paste contacts into a list; the page reports every row (or shows the job's progress)."""
        if not may_import(request.user):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = ContactImportForm(request.POST, request.FILES)
            if form.is_valid():
                report, redirect = run_import(request, form, reverse("admin:audiences_contactlist_changelist"))
                if redirect:
                    return redirect
                form = ContactImportForm(initial={"contact_list": form.target_list(request.user).pk})
        else:
            form = ContactImportForm(initial={"contact_list": request.GET.get("list")})
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import contacts to a list"),
            "opts": self.opts,
            "form": form,
            "report": report,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/audiences/contactlist/import.html", context)
