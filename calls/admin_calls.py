"""Admin for calls: the list, a call's page, refreshing and sending again.

The calls' "Add to the stop list" is in admin_call_stop_list (the stop list's own admin
is audiences.admin). List pages run a fixed number of queries whatever the number of
rows: related rows come through select_related.
"""

import json

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext_lazy, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from audiences import stop_list
from audiences.admin_search import NumberSearchMixin
from audiences.phones import display_number
from audiences.upload_columns import NAME_KEY
from exolve_portal.admin_filters import BoundedDateFieldListFilter, RecentChoicesFilter, RecentRelatedFilter
from exolve_portal.admin_messages import ObjectMessagesMixin, message_count
from exolve_portal.admin_urls import admin_url
from exolve_portal.pagination import ADMIN_PAGE, EstimatingPaginator
from jobs.tasks import start_job
from jobs.views import job_url

from . import steering
from .admin_call_stop_list import CallStopListMixin
from .jobs import REFRESH, REFRESH_JOB_LIMIT
from .models import FINAL_STATUSES, Broadcast, Call, resendable_q, seen_statuses
from .outcomes import Outcome, outcome_expression, outcome_label
from .permissions import REFRESH_PERMISSION, SEND_PERMISSION
from .recording import SendRefused, resend_calls
from .resend_plan import resend_plans
from .statistics import refresh_calls
from .statuses import STATUS_LABELS, status_html, status_label
from .tasks import schedule_refresh

# What sending calls again says, each for a count of calls.
QUEUED_AGAIN = ngettext_lazy("Queued %(count)d call again.", "Queued %(count)d calls again.", "count")
NOT_THEIRS = ngettext_lazy(
    "%(count)d call is of a broadcast someone else sent: only its sender or a Manager may send it again.",
    "%(count)d calls are of broadcasts someone else sent: only their sender or a Manager may send them again.",
    "count",
)
ALREADY_SENT_AGAIN = ngettext_lazy(
    "%(count)d call had already been sent again (by you or someone else); it was not sent a second time.",
    "%(count)d calls had already been sent again (by you or someone else); they were not sent a second time.",
    "count",
)


class BroadcastFilter(RecentChoicesFilter):
    """Calls by broadcast: the most recent broadcasts, plus the chosen one."""

    title = _("broadcast")
    parameter_name = "broadcast"
    field = "broadcast_id"

    def recent(self):
        rows = Broadcast.objects.order_by("-pk").values_list("pk", "voice_message_name")[: self.shown]
        return [(pk, f"#{pk} {name}".strip()) for pk, name in rows]


class VoiceMessageFilter(RecentRelatedFilter):
    """Calls or broadcasts by voice message: those of the most recent broadcasts, plus the chosen one."""

    title = _("voice message")
    parameter_name = "voice_message"
    field = "voice_message_id"
    newest_of, via, label_field = Broadcast, "voice_message", "name"


class StatusFilter(admin.SimpleListFilter):
    """The known final statuses plus whatever other strings Exolve has sent."""

    title = _("Exolve status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        # An unknown status is shown as Exolve sent it, set apart as code (as in the tables).
        statuses = sorted(set(seen_statuses()) | set(FINAL_STATUSES))
        return [(s, status_label(s) if s in STATUS_LABELS else status_html(s)) for s in statuses]

    def queryset(self, request, queryset):
        if self.value():
            if "\x00" in self.value():
                return queryset.none()  # no status has one, and PostgreSQL refuses to compare it
            return queryset.filter(status=self.value())
        return queryset


@admin.register(Call)
class CallAdmin(ObjectMessagesMixin, CallStopListMixin, NumberSearchMixin, admin.ModelAdmin):
    object_messages = {
        "deleted": _("The call “{obj}” was deleted."),
        "bulk_deleted": ngettext_lazy("Deleted %(count)d call.", "Deleted %(count)d calls.", "count"),
    }
    # Few enough columns to fit a 1280 px screen beside the filters; the call's page has the rest.
    # The headers are the staff calls table's short ones, so the list fits 1280 px in Russian too.
    list_display = ("number", "message", "state", "status_shown", "seconds", "requested_by", "queued")
    list_filter = (
        "state",
        StatusFilter,
        VoiceMessageFilter,
        BroadcastFilter,
        ("queued_at", BoundedDateFieldListFilter),
    )
    list_select_related = ("voice_message", "requested_by", "broadcast")
    search_fields = ("destination", "source", "call_id")
    number_fields = ("destination", "source")
    date_hierarchy = None
    ordering = ("-queued_at", "-pk")
    # The "(N total)" link costs a second COUNT(*) over every call on each filtered page.
    show_full_result_count = False
    paginator = EstimatingPaginator  # no COUNT(*) over a million calls on every visit
    list_max_show_all = ADMIN_PAGE  # no "Show all": a page is all a list costs
    actions = ["refresh_statistics", "resend", "add_to_stop_list"]
    change_form_template = "admin/calls/call/change_form.html"
    # Staff read plain words; raw values and internal ids only in the collapsed engineers' block
    # (the same `engineer-details` class as the broadcast page's), never "null" or "{}".
    fieldsets = (
        (
            None,
            {
                "fields": (
                    *("number_written", "person", "outcome_shown", "error"),
                    *("voice_message", "source_written", "broadcast", "contact", "requested_by"),
                )
            },
        ),
        (_("When"), {"fields": ("queued_at", "sent_at", "started", "ended", "duration")}),
        (
            _("For engineers"),
            {
                "classes": ("collapse", "engineer-details"),
                "fields": (
                    *("destination", "source", "service_id", "state", "status_detail", "call_id"),
                    *("claimed_at", "claimed_by", "attempt", "first_attempt", "resend_of", "resent_at"),
                    *("created", "updated", "timeout", "direction", "time_zone"),
                    *("refreshed_at", "next_refresh_at", "raw_answer"),
                ),
            },
        ),
    )
    COMPUTED_FIELDS = ("status_detail", "raw_answer", "number_written", "person", "outcome_shown", "source_written")

    def get_readonly_fields(self, request, obj=None):
        # Every field is a record of what happened; nothing here is edited by hand.
        return [f.name for f in Call._meta.fields] + list(self.COMPUTED_FIELDS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_refresh_permission(self, request):
        return request.user.has_perm(REFRESH_PERMISSION)

    def has_send_permission(self, request):
        return request.user.has_perm(SEND_PERMISSION)

    @admin.display(description=pgettext_lazy("column", "number"), ordering="destination")
    def number(self, obj):
        return display_number(obj.destination)

    @admin.display(description=_("number as written"))
    def number_written(self, obj):
        return display_number(obj.destination)

    @admin.display(description=_("from the uploaded list"))
    def person(self, obj):
        """What the uploaded list said of the person: the name first, then the other columns."""
        details = obj.details if isinstance(obj.details, dict) else {}
        if not details:
            return "—"
        items = [(gettext("Name") if key == NAME_KEY else key, value) for key, value in details.items()]
        return format_html_join(mark_safe("<br>"), "{}: {}", items)

    @admin.display(description=pgettext_lazy("column", "seconds"), ordering="duration")
    def seconds(self, obj):
        return obj.duration

    @admin.display(description=pgettext_lazy("column", "message"), ordering="voice_message__name")
    def message(self, obj):
        if obj.voice_message is not None:
            return obj.voice_message.name
        return obj.broadcast.voice_message_name if obj.broadcast else obj.service_id

    @admin.display(description=pgettext_lazy("column", "queued"), ordering="queued_at")
    def queued(self, obj):
        # The short form (01.12.2026 18:31): the long one ("1 декабря 2026 г. 18:31") does
        # not wrap and would push the list past a 1280 px screen.
        return formats.date_format(timezone.localtime(obj.queued_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("Exolve status"), ordering="status")
    def status_shown(self, obj):
        return status_html(obj.status)

    @admin.display(description=_("Exolve status"))
    def status_detail(self, obj):
        # The call's own page shows Exolve's string beside the label, for engineers.
        if not obj.status or status_label(obj.status) == obj.status:
            return status_html(obj.status)
        return format_html("{} <code>{}</code>", status_label(obj.status), obj.status)

    @admin.display(description=_("last Exolve answer"))
    def raw_answer(self, obj):
        # Exolve's own words, kept as received: a code block, not text to translate.
        if obj.raw is None:
            return gettext("Exolve has not answered about this call yet.")
        return format_html("<pre><code>{}</code></pre>", json.dumps(obj.raw, ensure_ascii=False, indent=2))

    @admin.display(description=_("outcome"))
    def outcome_shown(self, obj):
        """The one word staff read of a call, decided as every page decides it (calls/outcomes.py)."""
        one = Call.objects.filter(pk=obj.pk).annotate(outcome=outcome_expression())
        outcome = one.values_list("outcome", flat=True).first() or Outcome.UNKNOWN
        return format_html('<span class="outcome outcome-{}">{}</span>', outcome, outcome_label(outcome))

    @admin.display(description=_("calling from"))
    def source_written(self, obj):
        return display_number(obj.source)

    def get_urls(self):
        return [admin_url(self, "<int:pk>/refresh/", self.refresh_view, "refresh")] + super().get_urls()

    @admin.action(description=_("Refresh statistics"), permissions=["refresh"])
    def refresh_statistics(self, request, queryset):
        """A few calls now; more than EXOLVE_REFRESH_IN_REQUEST as a job with a progress page."""
        with_id = queryset.filter(call_id__isnull=False).order_by("pk")
        pks = list(with_id.values_list("pk", flat=True)[:REFRESH_JOB_LIMIT])
        if len(pks) > settings.EXOLVE_REFRESH_IN_REQUEST:
            job, _started = start_job(
                REFRESH, user=request.user, params={"pks": pks}, total=len(pks), return_url=request.get_full_path()
            )
            return HttpResponseRedirect(job_url(job))
        calls = list(Call.objects.filter(pk__in=pks).order_by("pk"))
        summary = refresh_calls(calls)
        schedule_refresh()
        self.message_user(
            request,
            summary.message(),
            messages.WARNING if summary.failed else messages.SUCCESS,
        )
        for destination, reason in summary.errors[:5]:
            self.message_user(request, f"{destination}: {reason}", messages.ERROR)

    @admin.action(
        description=_("Send selected calls again (unknown, rejected, no answer, busy)…"), permissions=["send"]
    )
    def resend(self, request, queryset):
        """Django's confirmation pattern: the first POST shows a page, the second (post=yes) sends.

        Only calls of broadcasts the user may steer (the sender, or a Manager), as on the
        broadcast page; the others are left alone, and said so.
        """
        resendable = list(queryset.select_related("voice_message").filter(resendable_q()))
        skipped = queryset.exclude(resendable_q()).count()
        if not resendable:
            self.message_user(
                request,
                gettext("Only unknown, rejected, unanswered or busy calls can be sent again."),
                messages.WARNING,
            )
            return None
        calls, not_theirs = steering.split_resendable(request.user, resendable)
        if not calls or request.POST.get("post") == "yes":
            message_count(self, request, NOT_THEIRS, len(not_theirs), messages.WARNING)
        if not calls:
            return None
        if request.POST.get("post") == "yes":
            if not self.has_send_permission(request):
                raise PermissionDenied
            try:
                resend = resend_calls(calls, request.user)
            except SendRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            message_count(self, request, QUEUED_AGAIN, resend.queued, messages.SUCCESS)
            # A second submit of this page, or a colleague at the same moment.
            message_count(self, request, ALREADY_SENT_AGAIN, len(resend.already_resent), messages.WARNING)
            if len(resend.broadcasts) == 1:
                return HttpResponseRedirect(reverse("admin:calls_broadcast_change", args=[resend.broadcasts[0].pk]))
            return None
        # Per broadcast the calls came from: the plan they ring with, from now (calls/resend_plan.py).
        plans = list(resend_plans(calls, request.user).values())
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Send these calls again?"),
            "opts": self.opts,
            "calls": calls,
            "plans": plans,
            "refused": any(plan.refusal for plan in plans),
            "skipped": skipped,
            "not_theirs": len(not_theirs),
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/calls/call/resend_confirmation.html", context)

    @method_decorator(require_POST)
    def refresh_view(self, request, pk):
        if not self.has_refresh_permission(request):
            raise PermissionDenied
        call = get_object_or_404(Call, pk=pk)
        change_url = reverse("admin:calls_call_change", args=[call.pk])
        if not call.call_id:
            self.message_user(
                request, gettext("This call has no Exolve call id: there is nothing to refresh."), messages.WARNING
            )
            return HttpResponseRedirect(change_url)
        summary = refresh_calls([call], max_in_flight=1)
        schedule_refresh()
        if summary.failed:
            self.message_user(request, summary.errors[0][1], messages.ERROR)
        else:
            self.message_user(request, gettext("Statistics refreshed."), messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        number = None
        if str(object_id).isdigit():
            number = Call.objects.filter(pk=object_id).values_list("destination", flat=True).first()
        extra_context = {
            **(extra_context or {}),
            "can_refresh": self.has_refresh_permission(request),
            "can_add_to_stop_list": self.has_add_to_stop_list_permission(request),
            "on_stop_list": bool(number and stop_list.blocked([number])),
        }
        return super().change_view(request, object_id, form_url, extra_context)
