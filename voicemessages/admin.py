"""Admin for voice messages: Exolve is the source of truth, the admin keeps it in step.

- Add/change: the form creates the message at Exolve when found valid, so a refusal
  is shown on the form; ``changeform_view`` runs inside ``provisioning_guard`` so a
  Create whose row was not stored is undone at Exolve. Unlike Django's, these views
  hold no transaction while Exolve answers (on SQLite an open write transaction keeps
  every other writer out): ``save_model`` writes the row and its log entry in one
  short transaction after Create.
- An edit of a copy that changed meanwhile is refused on the form, with what was typed.
- Delete (one or selected): at Exolve first, per message, outside any transaction;
  then the row with its log entry (``delete_model``); what failed is kept and said.
- "Sync from Exolve" (a POST-only extra URL) starts a background job and shows its
  progress page (a second click while one runs shows that one); "Refresh from Exolve"
  is an action. Deleting more than ``EXOLVE_DELETE_IN_REQUEST`` selected messages is a
  background job too, after Django's confirmation page.
"""

import json

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from exolve_portal.admin_filters import RecentRelatedFilter
from exolve_portal.admin_messages import ObjectMessagesMixin
from exolve_portal.exolve_connection import get_client
from exolve_portal.pagination import ADMIN_PAGE
from jobs.tasks import start_job
from jobs.views import job_url

from .exceptions import VoiceMessageChangedMeanwhile, VoiceMessageDeleteError, explain
from .forms import VoiceMessageForm
from .jobs import DELETE, SYNC
from .models import OrphanedVoiceMessage, VoiceMessage
from .provisioning import delete_at_exolve, delete_exolve_id, provisioning_guard
from .sync import refresh_voice_messages
from .wording import NAMES_SHOWN, quoted_names


class SyncStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state at Exolve")
    parameter_name = "exolve_state"

    def lookups(self, request, model_admin):
        return [
            ("present", _("present at Exolve")),
            ("missing", _("missing at Exolve")),
            ("never_synced", _("never synced")),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "present":
                return queryset.filter(missing_since__isnull=True)
            case "missing":
                return queryset.filter(missing_since__isnull=False)
            case "never_synced":
                return queryset.filter(exolve_created_at__isnull=True, missing_since__isnull=True)
        return queryset


class RedirectFilter(admin.SimpleListFilter):
    title = gettext_lazy("redirect")
    parameter_name = "has_redirect"

    def lookups(self, request, model_admin):
        return [("yes", _("with a redirect number")), ("no", _("without"))]

    def queryset(self, request, queryset):
        match self.value():
            case "yes":
                return queryset.exclude(redirect_number="")
            case "no":
                return queryset.filter(redirect_number="")
        return queryset


class CreatedByFilter(RecentRelatedFilter):
    """Messages by who created them: the authors of the most recent messages, plus the chosen one."""

    title = gettext_lazy("created by")
    parameter_name = "created_by"
    field = "created_by_id"
    newest_of, via, label_field = VoiceMessage, "created_by", get_user_model().USERNAME_FIELD


@admin.register(VoiceMessage)
class VoiceMessageAdmin(ObjectMessagesMixin, admin.ModelAdmin):
    # Bulk deletion says per message what went (delete_queryset), so no "bulk_deleted" here.
    object_messages = {
        "added": gettext_lazy("The voice message “{obj}” was added."),
        "changed": gettext_lazy("The voice message “{obj}” was changed."),
        "deleted": gettext_lazy("The voice message “{obj}” was deleted."),
    }
    form = VoiceMessageForm
    list_display = ["name", "media_id", "redirect", "exolve_id", "created", "exolve_state"]
    list_max_show_all = ADMIN_PAGE  # no "Show all": a page is all a list costs
    list_display_links = ["name"]
    search_fields = ["name", "exolve_id"]
    list_filter = [SyncStateFilter, RedirectFilter, "redirect_digit", "exolve_created_at", CreatedByFilter]
    list_select_related = ["created_by"]
    date_hierarchy = None
    # calls/admin_send.py adds "Send…" (the calls app builds on this one, not the reverse).
    actions = ["refresh_from_exolve", "delete_selected"]
    readonly_fields = [
        "exolve_id",
        "exolve_created_at",
        "synced_at",
        "missing_since",
        "created_by",
        "created_at",
        "updated_at",
        "raw_answer",
    ]
    fieldsets = [
        (None, {"fields": ["name", "media_id", "redirect_digit", "redirect_number", "version"]}),
        (
            gettext_lazy("At Exolve"),
            {"fields": ["exolve_id", "exolve_created_at", "synced_at", "missing_since", "raw_answer"]},
        ),
        (gettext_lazy("In the portal"), {"fields": ["created_by", "created_at", "updated_at"]}),
    ]
    save_as = False
    change_list_template = "admin/voicemessages/voicemessage/change_list.html"
    change_form_template = "admin/voicemessages/voicemessage/change_form.html"

    # --- columns -------------------------------------------------------------------

    @admin.display(description=gettext_lazy("redirect"))
    def redirect(self, obj):
        if not obj.redirect_number:
            return "—"
        return format_html("{} → {}", obj.redirect_digit, obj.redirect_number)

    @admin.display(description=gettext_lazy("created"), ordering="exolve_created_at")
    def created(self, obj):
        return obj.exolve_created_at or obj.created_at

    @admin.display(description=gettext_lazy("state at Exolve"), ordering="missing_since")
    def exolve_state(self, obj):
        if obj.missing_since:
            return format_html(
                '<strong class="exolve-missing" style="color: var(--error-fg, #ba2121)">✖ {}</strong>',
                _("missing at Exolve since %(date)s") % {"date": _local(obj.missing_since)},
            )
        if obj.synced_at:
            return format_html('<span class="exolve-present">✔ {}</span>', _("present at Exolve"))
        return format_html('<span class="exolve-unknown">? {}</span>', _("not synced yet"))

    @admin.display(description=gettext_lazy("for engineers"))
    def raw_answer(self, obj):
        """Exolve's last answer, folded away: engineers open it, staff need not read JSON."""
        if not obj.raw:
            return _("Exolve has not answered about this message yet.")
        answer = json.dumps(obj.raw, ensure_ascii=False, indent=2, sort_keys=True)
        return format_html(
            '<details class="exolve-raw"><summary>{}</summary><pre><code>{}</code></pre></details>',
            _("Exolve's last answer, as it came"),
            answer,  # Exolve's words, not to translate
        )

    def get_fieldsets(self, request, obj=None):
        # A message not saved yet has nothing at Exolve or in the portal to show.
        return self.fieldsets[:1] if obj is None else self.fieldsets

    # --- permissions ---------------------------------------------------------------

    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def has_sync_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.sync_voicemessages")

    # --- add / change --------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return super().changeform_view(request, object_id, form_url, extra_context)
        # Around the writes: after a failed or refused save, what Exolve created is undone.
        with provisioning_guard():
            try:
                # Private: Django's changeform_view holds a transaction over the form's Create at Exolve.
                return self._changeform_view(request, object_id, form_url, extra_context)
            except VoiceMessageChangedMeanwhile:
                # Changed while Exolve answered: built again, the form finds its version stale
                # and says so, with what was typed; nothing is sent.
                return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        """Write the row and its log entry in one short transaction, after the form's Create."""
        if not change:
            obj.created_by = request.user
        with transaction.atomic(using=router.db_for_write(self.model)):
            super().save_model(request, obj, form, change)
            message = self.construct_change_message(request, form, [], not change)
            if change:
                super().log_change(request, obj, message)
            else:
                super().log_addition(request, obj, message)
        self._say_what_exolve_did(request, obj)

    def log_addition(self, request, obj, message):
        """Nothing: save_model logs the addition with its row (Django would log after that transaction)."""

    def log_change(self, request, obj, message):
        """Nothing: save_model logs the change with its row (Django would log after that transaction)."""

    def _say_what_exolve_did(self, request, obj):
        if obj.met_sync:
            self.message_user(
                request,
                _(
                    "A sync from Exolve stored this voice message at the same moment as you saved it; "
                    "it is in the list once, with what you entered."
                ),
                messages.INFO,
            )
        if obj.last_created and obj.last_created.replaces:
            self.message_user(
                request,
                _(
                    "Exolve cannot change a voice message, so a new one was created there "
                    "(Exolve id %(new)s) and the old one (%(old)s) is being deleted."
                )
                % {"new": obj.exolve_id, "old": obj.last_created.replaces},
                messages.INFO,
            )

    # --- delete --------------------------------------------------------------------

    def delete_view(self, request, object_id, extra_context=None):
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return super().delete_view(request, object_id, extra_context)
        try:
            # Private: Django's delete_view holds a transaction over delete_model's Delete at Exolve.
            return self._delete_view(request, object_id, extra_context)
        except VoiceMessageDeleteError as error:
            # Raised before the row was touched: it is kept, and nothing was logged.
            self.message_user(request, error.user_message, messages.ERROR)
            change_url = reverse(
                f"admin:{self._url_name('change')}", args=[quote(object_id)], current_app=self.admin_site.name
            )
            return HttpResponseRedirect(change_url)

    def delete_model(self, request, obj):
        """Delete at Exolve first (a refusal raises, the row is kept); then the row and its log entry."""
        delete_at_exolve(obj)
        with transaction.atomic(using=router.db_for_write(self.model)):
            super().log_deletions(request, [obj])
            obj.delete_locally()

    def log_deletions(self, request, queryset):
        """Nothing: a deletion is logged once Exolve has deleted the message (delete_model, delete_selected)."""

    def delete_queryset(self, request, queryset):
        """Delete each message at Exolve, then here; say per message what was and was not deleted."""
        report = queryset.delete_each()
        if report.deleted:
            self.message_user(
                request,
                ngettext(
                    "Deleted %(count)d voice message at Exolve and here: %(names)s.",
                    "Deleted %(count)d voice messages at Exolve and here: %(names)s.",
                    len(report.deleted),
                )
                % {"count": len(report.deleted), "names": quoted_names(report.deleted)},
                messages.SUCCESS,
            )
        for _message, error in report.failed[:NAMES_SHOWN]:
            self.message_user(request, error.user_message, messages.ERROR)
        if len(report.failed) > NAMES_SHOWN:
            self.message_user(
                request,
                ngettext(
                    "%(count)d more voice message was not deleted: %(names)s.",
                    "%(count)d more voice messages were not deleted: %(names)s.",
                    len(report.failed) - NAMES_SHOWN,
                )
                % {
                    "count": len(report.failed) - NAMES_SHOWN,
                    "names": quoted_names([m for m, _e in report.failed[NAMES_SHOWN:]]),
                },
                messages.ERROR,
            )
        return report

    @admin.action(permissions=["delete"], description=gettext_lazy("Delete selected %(verbose_name_plural)s"))
    def delete_selected(self, request, queryset):
        """Django's confirmation page; then per-message deletion that reports each outcome."""
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        _deletable, _count, perms_needed, protected = self.get_deleted_objects(queryset, request)
        if perms_needed or protected:
            return django_delete_selected(self, request, queryset)
        pks = list(queryset.order_by("pk").values_list("pk", flat=True))
        if len(pks) > settings.EXOLVE_DELETE_IN_REQUEST:
            # Many Deletes at Exolve: in the background, so a slow Exolve is no 502.
            job, _started = start_job(
                DELETE, user=request.user, params={"pks": pks}, total=len(pks), return_url=self._changelist_url()
            )
            return HttpResponseRedirect(job_url(job))
        report = self.delete_queryset(request, queryset)
        if report.deleted:
            # Logged after the fact, and only for what really went.
            super().log_deletions(request, report.deleted)
        return None

    # --- refresh and sync ----------------------------------------------------------

    @admin.action(permissions=["sync"], description=gettext_lazy("Refresh selected from Exolve"))
    def refresh_from_exolve(self, request, queryset):
        result = refresh_voice_messages(queryset)
        if result.updated or result.unchanged:
            self.message_user(
                request,
                _("Refreshed from Exolve: %(updated)d changed, %(unchanged)d unchanged.")
                % {"updated": len(result.updated), "unchanged": len(result.unchanged)},
                messages.SUCCESS,
            )
        if result.missing:
            self.message_user(
                request,
                _("Exolve no longer has %(names)s; marked as missing.") % {"names": quoted_names(result.missing)},
                messages.WARNING,
            )
        for row, error in result.failed[:NAMES_SHOWN]:
            self.message_user(
                request,
                _("Could not refresh “%(name)s”: %(reason)s") % {"name": row.name, "reason": explain(error)},
                messages.ERROR,
            )

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
        job, started = start_job(SYNC, user=request.user, return_url=self._changelist_url(), exclusive=True)
        if not started:
            self.message_user(
                request, _("A sync from Exolve is already under way; here is its progress."), messages.INFO
            )
        return HttpResponseRedirect(job_url(job))

    def _changelist_url(self) -> str:
        return reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "can_sync": self.has_sync_permission(request),
            "orphan_count": OrphanedVoiceMessage.objects.count(),
            "missing_count": VoiceMessage.objects.missing_at_exolve().count(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)


def _local(value):
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


@admin.register(OrphanedVoiceMessage)
class OrphanedVoiceMessageAdmin(admin.ModelAdmin):
    """Voice messages the portal meant to delete at Exolve but could not."""

    list_display = ["name", "exolve_id", "reason", "error", "recorded_at"]
    list_max_show_all = ADMIN_PAGE  # no "Show all": a page is all a list costs
    search_fields = ["name", "exolve_id"]
    list_filter = ["reason"]
    actions = ["retry_delete_at_exolve"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(permissions=["delete"], description=gettext_lazy("Try again to delete at Exolve"))
    def retry_delete_at_exolve(self, request, queryset):
        gone, left = [], []
        for orphan in queryset:
            # Not delete_or_record: that would add a second record on failure.
            if _delete_quietly(orphan):
                gone.append(orphan)
            else:
                left.append(orphan)
        if gone:
            OrphanedVoiceMessage.objects.filter(pk__in=[o.pk for o in gone]).delete()
            self.message_user(
                request,
                _("Deleted at Exolve: %(names)s.") % {"names": quoted_names(gone)},
                messages.SUCCESS,
            )
        if left:
            self.message_user(
                request,
                _("Still at Exolve (see the error column): %(names)s.") % {"names": quoted_names(left)},
                messages.ERROR,
            )


def _delete_quietly(orphan: OrphanedVoiceMessage) -> bool:
    result = delete_exolve_id(get_client(), orphan.exolve_id)
    if not result.deleted:
        OrphanedVoiceMessage.objects.filter(pk=orphan.pk).update(error=str(result.error))
    return result.deleted
