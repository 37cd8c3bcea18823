"""Contacts, their consents and the lists' members in the admin.

Operators view contacts and lists, add contacts and consents and import; Managers also
change and delete (exolve_portal/roles.py). Django's admin logs its own add, change and
delete; imports and withdrawals log through audiences.consent.audit.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.options import ActionLocation
from django.db.models import Exists, OuterRef
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from exolve_portal.admin_messages import ObjectMessagesMixin
from exolve_portal.pagination import ADMIN_PAGE, EstimatingPaginator

from .admin_search import NumberSearchMixin
from .consent import withdraw_consent
from .contact_models import PURPOSE_CHOICES, Consent, Contact, Membership
from .contacts_forms import ContactForm, WithdrawForm
from .permissions import WITHDRAW_CONSENT_PERMISSION

WITHDRAWAL_FIELDS = ("withdrawn_at", "withdrawal_channel", "withdrawn_by")


class ConsentFilter(admin.SimpleListFilter):
    title = _("consent")
    parameter_name = "consent"

    def lookups(self, request, model_admin):
        states = (("in_force", _("in force")), ("withdrawn", _("withdrawn")), ("none", _("none")))
        return [(f"{p}:{s}", f"{label}: {state}") for p, label in PURPOSE_CHOICES for s, state in states]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        purpose, _sep, state = self.value().partition(":")
        of_purpose = Consent.objects.filter(contact=OuterRef("pk"), purpose=purpose)
        in_force = Exists(of_purpose.filter(withdrawn_at__isnull=True))
        if state == "in_force":
            return queryset.filter(in_force)
        if state == "withdrawn":
            return queryset.filter(~in_force, Exists(of_purpose))
        return queryset.filter(~Exists(of_purpose))


class ConsentInline(admin.TabularInline):
    """The contact's consents, withdrawn ones too: its history (added and withdrawn on their own pages)."""

    model = Consent
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("purpose", "kind", "given_at", "source", "reference", "entered_by", "withdrawn_at", "withdrawal_channel")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(ObjectMessagesMixin, NumberSearchMixin, admin.ModelAdmin):
    object_messages = {
        "added": _("The contact {obj} was added."),
        "changed": _("The contact {obj} was changed."),
        "deleted": _("The contact {obj} was deleted."),
    }
    form = ContactForm
    list_display = ("number", "name", "zone", "updated_at")
    # Every list (a few dozen), not only those used: that would read the whole membership table.
    list_filter = ("memberships__contact_list", ConsentFilter)
    search_fields = ("number", "name")
    number_fields = ("number",)
    inlines = [ConsentInline]
    show_full_result_count = False
    list_max_show_all = ADMIN_PAGE
    # No COUNT(*) over a million contacts on every visit (bench/bench_audiences.py): "about N contacts"
    # (admin/audiences/contact/pagination.html) above EXACT_COUNT_LIMIT.
    paginator = EstimatingPaginator
    delete_confirmation_template = "admin/audiences/contact/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/audiences/contact/delete_selected_confirmation.html"

    def get_fields(self, request, obj=None):
        base = ("number", "name", "zone")
        return base if obj is None else (*base, "extra", "created_by", "created_at", "updated_by", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("number", "extra", "created_by", "created_at", "updated_by", "updated_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Consent)
class ConsentAdmin(NumberSearchMixin, admin.ModelAdmin):
    list_display = ("contact", "purpose", "kind", "given_at", "source", "entered_by", "withdrawn_at")
    list_filter = ("purpose", "kind", "withdrawal_channel")
    list_select_related = ("contact", "entered_by")
    search_fields = ("contact__number", "source", "reference")
    number_fields = ("contact__number",)
    autocomplete_fields = ("contact",)
    actions = ["withdraw"]
    show_full_result_count = False
    list_max_show_all = ADMIN_PAGE

    def get_fields(self, request, obj=None):
        base = ("contact", "purpose", "kind", "given_at", "source", "reference")
        if obj is None:
            return base
        return (*base, "entered_by", "entered_at", *WITHDRAWAL_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        # A consent's facts stay as entered; only where it came from and its reference may be corrected.
        if obj is None:
            return ()
        return ("contact", "purpose", "kind", "given_at", "entered_by", "entered_at", *WITHDRAWAL_FIELDS)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.entered_by = request.user
        super().save_model(request, obj, form, change)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class OneInForce(form):
            def clean(self):
                cleaned = super().clean()
                contact, purpose = cleaned.get("contact"), cleaned.get("purpose")
                if obj is None and contact and purpose:
                    if Consent.objects.filter(contact=contact, purpose=purpose, withdrawn_at__isnull=True).exists():
                        raise forms.ValidationError(
                            gettext("This contact already has a consent in force for this purpose; withdraw it first.")
                        )
                return cleaned

        return OneInForce

    def has_withdraw_permission(self, request):
        return request.user.has_perm(WITHDRAW_CONSENT_PERMISSION)

    @admin.action(permissions=["withdraw"], description=_("Withdraw the selected consents (and stop calling them)"))
    def withdraw(self, request, queryset):
        form = WithdrawForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            count = 0
            for consent in queryset.filter(withdrawn_at__isnull=True).select_related("contact"):
                withdraw_consent(
                    consent, channel=form.cleaned_data["channel"], user=request.user, note=form.cleaned_data["note"]
                )
                count += 1
            self.message_user(
                request,
                ngettext(
                    "%(count)d consent withdrawn; its number is on the stop list.",
                    "%(count)d consents withdrawn; their numbers are on the stop list.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Withdraw these consents?"),
            "opts": self.opts,
            "form": form,
            "queryset": queryset[:ADMIN_PAGE],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/audiences/consent/withdraw.html", context)


@admin.register(Membership)
class MembershipAdmin(NumberSearchMixin, admin.ModelAdmin):
    """The lists' members: filtered by list, searched by number; deleting one takes it out of its list."""

    list_display = ("contact", "contact_list", "added_by", "added_at")
    list_filter = ("contact_list",)
    list_select_related = ("contact", "contact_list", "added_by")
    search_fields = ("contact__number", "contact__name")
    number_fields = ("contact__number",)
    autocomplete_fields = ("contact",)
    fields = ("contact_list", "contact")
    show_full_result_count = False
    list_max_show_all = ADMIN_PAGE

    def has_change_permission(self, request, obj=None):
        return False  # taken out and put in, never moved

    def save_model(self, request, obj, form, change):
        obj.added_by = request.user
        super().save_model(request, obj, form, change)

    actions = ["remove_from_lists"]

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # said as what it is: "take out of the list"
        return actions

    @admin.action(permissions=["delete"], description=_("Take the selected contacts out of their lists"))
    def remove_from_lists(self, request, queryset):
        return delete_selected(self, request, queryset)
