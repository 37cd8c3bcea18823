"""The stop list in the admin: its list, add form, import and export pages.

Who may do what comes from the roles (exolve_portal/roles.py): Operators view the list
and add numbers (one by one, by import, or from calls), Managers also change and remove
them. Django logs the admin's add, change and delete; imports (and additions from calls,
calls.admin_call_stop_list) go through `stop_list.add`, which logs each addition too.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from exolve_portal.admin_filters import BoundedDateFieldListFilter
from exolve_portal.admin_messages import ObjectMessagesMixin, message_count
from exolve_portal.admin_urls import admin_url
from exolve_portal.pagination import ADMIN_PAGE
from exolve_portal.spreadsheets import CSV, CSV_EXCEL, XLSX
from jobs.views import job_url

from .admin_search import NumberSearchMixin
from .consent import withdraw_for_stop_list
from .models import StopListEntry, StopListReason
from .phones import InvalidNumber, LineTooLong, ListRefused, normalize, split_lines
from .stop_list_files import (
    STOP_LIST_IN_REQUEST,
    STOP_LIST_MAX_NUMBERS,
    export_response,
    import_numbers,
    runs_in_background,
    too_many_message,
)
from .stop_list_jobs import start_import
from .uploads import UploadError, read_numbers_file

# What an import or an addition says, each for a count of numbers.
ADDED_FROM_FILE = ngettext_lazy(
    "Added %(count)d number to the stop list.", "Added %(count)d numbers to the stop list.", "count"
)
ALREADY_LISTED = ngettext_lazy(
    "%(count)d number was already on the stop list.", "%(count)d numbers were already on the stop list.", "count"
)
NOT_READ = ngettext_lazy(
    "%(count)d number could not be read and was not added (listed below).",
    "%(count)d numbers could not be read and were not added (listed below).",
    "count",
)


class StopListEntryForm(forms.ModelForm):
    # Longer than the stored 11 digits: "+7 (999) 123-45-67" is typed, then normalised.
    number = forms.CharField(
        label=_("number"),
        max_length=40,
        help_text=_("As people type it: +7 (999) 123-45-67, 8 999 1234567, 79991234567."),
    )

    class Meta:
        model = StopListEntry
        fields = ("number", "reason", "note")

    def clean_number(self):
        try:
            number = normalize(self.cleaned_data["number"])
        except InvalidNumber as exc:
            raise forms.ValidationError(str(exc)) from exc
        if StopListEntry.objects.filter(number=number).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(gettext("%(number)s is already on the stop list.") % {"number": number})
        return number


class StopListReasonForm(forms.Form):
    """Why numbers go on the list (the confirmation page of "Add to the stop list")."""

    reason = forms.ChoiceField(label=_("reason"), choices=StopListReason.choices, initial=StopListReason.ASKED)
    note = forms.CharField(label=_("note"), max_length=255, required=False)


class StopListImportForm(StopListReasonForm):
    file = forms.FileField(
        label=_("file"), required=False, help_text=_("CSV or XLSX with a phone column (or a single column).")
    )
    numbers = forms.CharField(
        label=_("numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 40}),
        help_text=format_lazy(
            _(
                "Or paste the numbers, one per line. More than {count} numbers are put on the list "
                "in the background, with a page that shows the progress."
            ),
            count=STOP_LIST_IN_REQUEST,
        ),
    )
    field_order = ["file", "numbers", "reason", "note"]

    def clean_numbers(self):
        """The pasted lines, refused whole (before any parsing) when too long, or when a line is."""
        text = self.cleaned_data.get("numbers") or ""
        max_bytes = settings.EXOLVE_UPLOAD_MAX_BYTES
        size = len(text.encode())
        if size > max_bytes:
            raise forms.ValidationError(
                gettext(
                    "The pasted text is too large (%(size)d bytes); the limit is %(limit)d bytes. "
                    "Import the numbers in parts, or as a file."
                )
                % {"size": size, "limit": max_bytes},
                code="too_long",
            )
        try:
            return split_lines(text, limit=STOP_LIST_MAX_NUMBERS)
        except LineTooLong as exc:
            raise forms.ValidationError(str(exc), code="too_long") from exc
        except ListRefused as exc:
            raise forms.ValidationError(too_many_message(), code="too_many") from exc

    def clean(self):
        cleaned = super().clean()
        values = []
        uploaded = cleaned.get("file")
        if uploaded:
            try:
                values += read_numbers_file(uploaded)
            except UploadError as exc:
                self.add_error("file", str(exc))
        if "numbers" in self.errors:
            return cleaned  # refused whole: said on the field
        values += cleaned.get("numbers") or []
        if not uploaded and not values:
            raise forms.ValidationError(gettext("Choose a file or paste the numbers to put on the stop list."))
        if len(values) > STOP_LIST_MAX_NUMBERS:
            raise forms.ValidationError(too_many_message(), code="too_many")
        self.values = values
        return cleaned


@admin.register(StopListEntry)
class StopListEntryAdmin(ObjectMessagesMixin, NumberSearchMixin, admin.ModelAdmin):
    object_messages = {
        "added": _("The number {obj} was put on the stop list."),
        "changed": _("The stop-list entry of {obj} was changed."),
        "deleted": _("The number {obj} was taken off the stop list."),
        "bulk_deleted": ngettext_lazy(
            "%(count)d number was taken off the stop list.", "%(count)d numbers were taken off the stop list.", "count"
        ),
    }
    form = StopListEntryForm
    list_display = ("number", "reason", "note", "added_by", "added_at")
    list_filter = ("reason", ("added_at", BoundedDateFieldListFilter))
    list_select_related = ("added_by",)
    search_fields = ("number", "note")
    number_fields = ("number",)
    ordering = ("-added_at", "-pk")
    show_full_result_count = False  # the list may hold a million numbers
    list_max_show_all = ADMIN_PAGE  # no "Show all": a page is all a list costs
    change_list_template = "admin/audiences/stoplistentry/change_list.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("number", "reason", "note")
        return ("number", "reason", "note", "added_by", "added_at")

    def get_readonly_fields(self, request, obj=None):
        # A number is put on the list and taken off it, never turned into another one.
        return () if obj is None else ("number", "added_by", "added_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)
        if not change:
            # Its contact's consents are withdrawn in the same transaction (the admin's POST is atomic).
            withdraw_for_stop_list([obj.number], user=request.user)

    def get_urls(self):
        return [
            admin_url(self, "import/", self.import_view, "import"),
            *[
                admin_url(
                    self, f"export/{file_format}/", self.export_view, f"export_{url_name}", {"file_format": file_format}
                )
                for file_format, url_name in ((CSV, "csv"), (CSV_EXCEL, "csv_excel"), (XLSX, "xlsx"))
            ],
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        # The export links carry the list's search and filters: what is shown is what is exported.
        query = request.GET.copy()
        query.pop("p", None)
        extra_context = {
            **(extra_context or {}),
            "can_import": self.has_add_permission(request),
            "export_query": f"?{query.urlencode()}" if query else "",
        }
        return super().changelist_view(request, extra_context)

    def export_view(self, request, file_format):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:audiences_stoplistentry_changelist"))
        return export_response(file_format, queryset)

    def import_view(self, request):
        """Upload or paste numbers; the page says how many were added, already listed and unreadable.

        A long import (more than STOP_LIST_IN_REQUEST numbers) becomes a background job:
        the answer is its progress page.
        """
        if not self.has_add_permission(request):
            raise PermissionDenied
        result = None
        if request.method == "POST":
            form = StopListImportForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                if runs_in_background(form.values):
                    job = start_import(
                        form.values,
                        reason=data["reason"],
                        note=data["note"],
                        user=request.user,
                        return_url=reverse("admin:audiences_stoplistentry_changelist"),
                    )
                    return HttpResponseRedirect(job_url(job))
                result = import_numbers(form.values, reason=data["reason"], note=data["note"], user=request.user)
                self._report_import(request, result)
                # The unreadable numbers stay in the box, to be corrected and imported again.
                form = StopListImportForm(
                    initial={
                        "reason": data["reason"],
                        "note": data["note"],
                        "numbers": "\n".join(raw for raw, _reason in result.invalid),
                    }
                )
        else:
            form = StopListImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import numbers to the stop list"),
            "opts": self.opts,
            "form": form,
            "result": result,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/audiences/stoplistentry/import.html", context)

    def _report_import(self, request, result):
        # "Added 0 numbers" too: the one line that says the import ran.
        self.message_user(
            request, ADDED_FROM_FILE % {"count": result.added}, messages.SUCCESS if result.added else messages.INFO
        )
        message_count(self, request, ALREADY_LISTED, result.already_listed)
        message_count(self, request, NOT_READ, len(result.invalid), messages.WARNING)


from .contact_lists_admin import ContactListAdmin  # noqa: E402, F401 (registers the lists' admin)
from .contacts_admin import ConsentAdmin, ContactAdmin, MembershipAdmin  # noqa: E402, F401
