"""Saving a preview's typed or uploaded numbers as a new contact list ("audience"), from the send page.

The numbers are the preview's draft (what was checked, never what the browser sends back),
less those that came from contact lists already; names, other columns and zones come with
them. The list is made by the contacts' import (audiences.contacts_import.merge: merged by
number, audited), in the background above CONTACTS_IN_REQUEST rows, with the consent the
form records for every row, if any: a list is sent to only with consent for the purpose.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.admin.models import ADDITION
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.consent import audit
from audiences.contact_jobs import start_import
from audiences.contacts_forms import ContactImportForm
from audiences.contacts_import import CONTACTS_IN_REQUEST, ImportRow, merge
from audiences.permissions import (
    ADD_CONSENT_PERMISSION,
    ADD_CONTACTS_PERMISSION,
    ADD_LISTS_PERMISSION,
    ADD_MEMBERS_PERMISSION,
)
from audiences.upload_columns import NAME_KEY

from .models import SendDraft
from .permissions import SEND_PERMISSION

# As a send draft: a preview may be saved as long as it may be confirmed.
DRAFT_MAX_AGE = timedelta(days=1)
# Who may save a preview as a list: Operators (they add contacts and lists).
SAVE_PERMISSIONS = (SEND_PERMISSION, ADD_CONTACTS_PERMISSION, ADD_LISTS_PERMISSION, ADD_MEMBERS_PERMISSION)


class SaveAsListForm(ContactImportForm):
    """The name of the new list and, optionally, the consent every contact in it gave; the draft's token."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name in ("contact_list", "file", "text"):
            del self.fields[name]
        self.fields["new_list"].required = True
        self.fields["new_list"].label = _("Save these numbers as a new list named")

    def clean(self):
        cleaned = forms.Form.clean(self)  # no file nor text: the rows are the draft's
        self.draft = None
        if token := cleaned.get("token"):
            fresh = timezone.now() - DRAFT_MAX_AGE
            self.draft = SendDraft.objects.filter(token=token, created_by=self.user, created_at__gte=fresh).first()
        if self.draft is None:
            words = "This preview is no longer available (it is more than a day old, or not yours). Preview again."
            raise forms.ValidationError(gettext(words), code="no_draft")
        self.rows = draft_rows(self.draft)
        if not self.rows:
            raise forms.ValidationError(
                gettext("This preview has no typed or uploaded numbers to save: they all come from lists already."),
                code="nothing",
            )
        self.consent = self._consent(cleaned)
        return cleaned


def draft_rows(draft: SendDraft) -> list[ImportRow]:
    """The draft's numbers that did not come from a contact list, as import rows (name, other columns, zone)."""
    plan = draft.plan or {}
    from_lists, zones, details = plan.get("contacts") or {}, plan.get("zones") or {}, draft.details or {}
    rows = []
    for row, number in enumerate((n for n in draft.numbers if n not in from_lists), start=1):
        said = dict(details.get(number) or {})
        name = str(said.pop(NAME_KEY, ""))[:200]
        rows.append(ImportRow(row, number, name=name, extra=said, zone=zones.get(number, "")))
    return rows


def save_as_list(form: SaveAsListForm, user, return_url: str):
    """Make the new list from the form's draft: (the list, the merge's result or None, the job if in the background)."""
    contact_list = form.target_list(user)
    audit(user, [contact_list], ADDITION, [{"added": {}}])
    if len(form.rows) > CONTACTS_IN_REQUEST:
        job = start_import(form.rows, contact_list, user=user, consent=form.consent, return_url=return_url)
        return contact_list, None, job
    return contact_list, merge(form.rows, contact_list, user=user, consent=form.consent), None


def offer(user, draft: SendDraft) -> SaveAsListForm | None:
    """The preview's "Save these numbers as a new list" form, for those who may make lists, when it has typed or
    uploaded numbers (None otherwise)."""
    if not user.has_perms(SAVE_PERMISSIONS):
        return None
    from_lists = (draft.plan or {}).get("contacts") or {}
    if len(draft.numbers) <= len(from_lists):
        return None
    form = SaveAsListForm(initial={"token": draft.token}, user=user)
    if not user.has_perm(ADD_CONSENT_PERMISSION):
        for name in ("purpose", "kind", "given_at", "source", "reference"):
            del form.fields[name]
    return form
