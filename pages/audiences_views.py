"""The staff pages of contact lists: the lists, a list's contacts, the import, a contact and its consents.

The work is done by the audiences app (imports, consent, withdrawal); these views only
check who may do it and show the outcome. A list's page costs the same queries at any
size and any page number (exolve_portal.pagination).
"""

from django.contrib import messages
from django.contrib.admin.models import DELETION
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from audiences.consent import audit, record_consent, withdraw_consent
from audiences.contact_lists_admin import may_import, run_import
from audiences.contact_models import Consent, Contact, ContactList, Membership
from audiences.contacts_forms import ConsentForm, ContactImportForm, WithdrawForm
from audiences.permissions import (
    ADD_CONSENT_PERMISSION,
    ADD_CONTACTS_PERMISSION,
    ADD_MEMBERS_PERMISSION,
    REMOVE_MEMBERS_PERMISSION,
    VIEW_CONSENT_PERMISSION,
    VIEW_CONTACTS_PERMISSION,
    VIEW_LISTS_PERMISSION,
    WITHDRAW_CONSENT_PERMISSION,
)
from audiences.phones import InvalidNumber, normalize
from calls.permissions import VIEW_CALLS_PERMISSION
from calls.save_as_list import SAVE_PERMISSIONS, SaveAsListForm, save_as_list
from exolve_portal.pagination import ADMIN_PAGE, EstimatingPaginator
from jobs.views import job_url

from .views import page_context, staff_page

# Lists shown on the lists page (a team keeps a few dozen; more are found in the admin).
LISTS_SHOWN = 200
# A contact's latest calls on its page.
CALLS_SHOWN = 20


@staff_page(VIEW_LISTS_PERMISSION)
def contact_lists(request):
    lists = ContactList.objects.annotate(size=Count("memberships")).order_by("name")[:LISTS_SHOWN]
    context = page_context(request, gettext("Contact lists"), lists=lists, can_import=may_import(request.user))
    return TemplateResponse(request, "pages/contact_lists.html", context)


@staff_page(VIEW_LISTS_PERMISSION, VIEW_CONTACTS_PERMISSION)
def contact_list(request, pk):
    contact_list = get_object_or_404(ContactList, pk=pk)
    contacts = Contact.objects.filter(memberships__contact_list=contact_list).order_by("number")
    query = (request.GET.get("q") or "")[:100]
    if query:
        try:
            contacts = contacts.filter(number=normalize(query))
        except InvalidNumber:
            contacts = contacts.filter(name__icontains=query)
    paginator = EstimatingPaginator(contacts.only("pk", "number", "name", "zone"), ADMIN_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = page_context(
        request,
        contact_list.name,
        contact_list=contact_list,
        page=page,
        query=query,
        can_import=may_import(request.user),
    )
    return TemplateResponse(request, "pages/contact_list.html", context)


@staff_page(ADD_CONTACTS_PERMISSION, ADD_MEMBERS_PERMISSION)
@require_http_methods(["GET", "POST"])
def contacts_import(request):
    report = None
    if request.method == "POST":
        form = ContactImportForm(request.POST, request.FILES)
        if form.is_valid():
            report, redirect_to_job = run_import(request, form, reverse("portal:contact_lists"))
            if redirect_to_job:
                return redirect_to_job
            form = ContactImportForm(initial={"contact_list": form.target_list(request.user).pk})
    else:
        form = ContactImportForm(initial={"contact_list": request.GET.get("list")})
    context = page_context(request, gettext("Import contacts to a list"), form=form, report=report)
    return TemplateResponse(request, "pages/contacts_import.html", context)


@staff_page(VIEW_CONTACTS_PERMISSION, VIEW_CONSENT_PERMISSION)
@require_http_methods(["GET", "POST"])
def contact_detail(request, pk):
    """A contact, its lists and its consents (withdrawn ones too); a form to record a consent."""
    contact = get_object_or_404(Contact, pk=pk)
    form = ConsentForm(request.POST or None, instance=Consent(contact=contact))
    if request.method == "POST":
        if not request.user.has_perm(ADD_CONSENT_PERMISSION):
            return redirect("portal:contact", pk=pk)
        if form.is_valid():
            data = form.cleaned_data
            try:
                record_consent(contact, **{k: data[k] for k in form.Meta.fields}, user=request.user)
            except ValueError:
                form.add_error(
                    None, gettext("This contact already has a consent in force for this purpose; withdraw it first.")
                )
            else:
                messages.success(request, gettext("The consent was recorded."))
                return redirect("portal:contact", pk=pk)
    context = page_context(
        request,
        str(contact),
        contact=contact,
        lists=contact.lists.order_by("name")[:LISTS_SHOWN],
        consents=contact.consents.select_related("entered_by", "withdrawn_by").order_by("-entered_at", "-pk"),
        # Calls recorded from a list keep their contact (calls/audience_recipients.py): the latest ones.
        calls=contact.calls.order_by("-pk").only("pk", "queued_at", "broadcast_id", "state")[:CALLS_SHOWN]
        if request.user.has_perm(VIEW_CALLS_PERMISSION)
        else None,
        form=form,
        withdraw_form=WithdrawForm(),
        can_add=request.user.has_perm(ADD_CONSENT_PERMISSION),
        can_withdraw=request.user.has_perm(WITHDRAW_CONSENT_PERMISSION),
    )
    return TemplateResponse(request, "pages/contact.html", context)


@staff_page(VIEW_CONSENT_PERMISSION, WITHDRAW_CONSENT_PERMISSION)
@require_POST
def consent_withdraw(request, pk):
    consent = get_object_or_404(Consent.objects.select_related("contact"), pk=pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        withdraw_consent(
            consent, channel=form.cleaned_data["channel"], user=request.user, note=form.cleaned_data["note"]
        )
        messages.success(request, gettext("The consent was withdrawn and the number put on the stop list."))
    else:
        messages.error(request, gettext("Choose how the consent was withdrawn, then press Withdraw again."))
    return redirect("portal:contact", pk=consent.contact_id)


@staff_page(VIEW_LISTS_PERMISSION, REMOVE_MEMBERS_PERMISSION)
@require_POST
def contact_list_remove(request, pk, contact_pk):
    """Take one contact out of a list (the contact and its consents stay). Audited."""
    membership = get_object_or_404(
        Membership.objects.select_related("contact"), contact_list_id=pk, contact_id=contact_pk
    )
    audit(request.user, [membership], DELETION, [{"deleted": {}}])
    membership.delete()
    messages.success(request, gettext("%(contact)s was taken out of the list.") % {"contact": membership.contact})
    return redirect("portal:contact_list", pk=pk)


@staff_page(*SAVE_PERMISSIONS)
@require_POST
def send_save_list(request):
    """The send preview's typed or uploaded numbers saved as a new contact list (calls/save_as_list.py)."""
    form = SaveAsListForm(request.POST, user=request.user)
    if form.is_valid() and (form.consent is None or request.user.has_perm(ADD_CONSENT_PERMISSION)):
        contact_list, result, job = save_as_list(form, request.user, reverse("portal:contact_lists"))
        if job is not None:
            return redirect(job_url(job))
        messages.success(
            request,
            gettext("The list “%(name)s” was saved: %(added)d contacts added, %(updated)d updated, %(joined)d in it.")
            % {"name": contact_list.name, "added": result.added, "updated": result.updated, "joined": result.joined},
        )
        return redirect("portal:contact_list", pk=contact_list.pk)
    errors = [str(error) for errors in form.errors.values() for error in errors] or [
        gettext("You may not record consent; save the list without it.")
    ]
    messages.error(request, " ".join([gettext("The list was not saved:"), *errors]))
    return redirect("portal:send")
