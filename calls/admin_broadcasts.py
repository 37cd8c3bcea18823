"""Admin for broadcasts: the list with its counts, a broadcast's page, and steering.

List pages run a fixed number of queries whatever the number of rows: broadcast counts
come through one annotated query.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from exolve_portal.admin_filters import BoundedDateFieldListFilter
from exolve_portal.admin_messages import ObjectMessagesMixin, message_count
from exolve_portal.pagination import ADMIN_PAGE
from exolve_portal.zone_names import zone_label

from . import steering
from .admin_calls import VoiceMessageFilter
from .lifecycle import DONE, SHOWN_LABELS, BroadcastState, TransitionRefused
from .models import Broadcast, Call, CallState
from .outcomes import Outcome, labelled, outcome_counts, status_of, with_outcome_counts
from .permissions import SEND_PERMISSION
from .resend_plan import origin_of

STEER_TITLES = {
    "stop": _("Stop these broadcasts?"),
    "pause": _("Pause these broadcasts?"),
    "resume": _("Resume these broadcasts?"),
}
STEER_CONFIRM = {
    "stop": _("Yes, stop them"),
    "pause": _("Yes, pause them"),
    "resume": _("Yes, resume them"),
}
STEER_NOTHING = {
    "stop": _("None of the selected broadcasts can be stopped by you."),
    "pause": _("None of the selected broadcasts can be paused by you."),
    "resume": _("None of the selected broadcasts can be resumed by you."),
}
STEER_DONE = {
    "stop": ngettext_lazy("Stopped %(count)d broadcast.", "Stopped %(count)d broadcasts.", "count"),
    "pause": ngettext_lazy("Paused %(count)d broadcast.", "Paused %(count)d broadcasts.", "count"),
    "resume": ngettext_lazy("Resumed %(count)d broadcast.", "Resumed %(count)d broadcasts.", "count"),
}


# The steering buttons of a broadcast's change page: each opens the portal's confirmation (GET asks, never acts).
STEER_LINKS = {
    "pause": ("portal:broadcast_pause", _("Pause…")),
    "resume": ("portal:broadcast_resume", _("Resume…")),
    "move": ("portal:broadcast_move", _("Move the start…")),
    "stop": ("portal:broadcast_stop", _("Stop…")),
}


class ShownStateFilter(admin.SimpleListFilter):
    """By the state staff read (calls/lifecycle.py `status`): "done" apart from "sending"."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [(state, label) for state, label in SHOWN_LABELS.items()]

    def queryset(self, request, queryset):
        value = self.value()
        if value == DONE:  # the annotation of `with_outcome_counts` (get_queryset)
            return queryset.exclude(state=BroadcastState.STOPPED).filter(outcome_pending=0)
        if value == BroadcastState.STOPPED:
            return queryset.filter(state=value)
        if value in BroadcastState.values:
            return queryset.filter(state=value, outcome_pending__gt=0)
        return queryset


def _outcome_column(outcome: Outcome):
    """A list column counting one outcome, annotated by `with_outcome_counts` (calls/outcomes.py)."""
    field = f"outcome_{outcome}"

    @admin.display(description=outcome.label, ordering=field)
    def column(self, obj):
        return getattr(obj, field)

    column.__name__ = str(outcome)
    return column


@admin.register(Broadcast)
class BroadcastAdmin(ObjectMessagesMixin, admin.ModelAdmin):
    object_messages = {
        "deleted": _("The broadcast “{obj}” was deleted."),
        "bulk_deleted": ngettext_lazy("Deleted %(count)d broadcast.", "Deleted %(count)d broadcasts.", "count"),
    }
    # The few columns staff need to find a broadcast and see how far it is (fits 1280 px);
    # the calls by outcome, the plan, the basis (also a filter) and the rest are on the
    # broadcast's own page.
    list_display = (
        "__str__",
        "state_shown",
        "start_at",
        "created_at",
        "created_by",
        "progress",
        "calls_link",
    )
    list_select_related = ("created_by",)
    list_max_show_all = ADMIN_PAGE  # no "Show all": a page is all a list costs
    list_filter = (
        ShownStateFilter,
        "purpose",
        "basis",
        ("created_at", BoundedDateFieldListFilter),
        ("start_at", BoundedDateFieldListFilter),
        VoiceMessageFilter,
    )
    actions = ["pause_broadcasts", "resume_broadcasts", "stop_broadcasts"]
    search_fields = ("voice_message_name", "source", "calls__destination")
    readonly_fields = (
        "name",
        "repeats",
        "state_shown",
        "steer_links",
        "voice_message",
        "voice_message_name",
        "service_id",
        "source",
        "created_by",
        "created_at",
        "state_changed_at",
        "state_changed_by",
        "start_at",
        "calling_hours_shown",
        "time_zone_shown",
        "pace_per_minute",
        "purpose",
        "basis_column",
        "lists_shown",
        "consent_confirmed_shown",
        "retries",
        "retry_after_minutes",
        "retry_failed_shown",
        "sms_text",
        "sms_sender",
        "sms_on",
        "counts_table",
        "calls_link",
        "skipped_numbers",
    )
    fields = readonly_fields

    def get_queryset(self, request):
        return with_outcome_counts(super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def get_fields(self, request, obj=None):
        # The advertising consent tick is history: shown only on the old broadcasts that had it.
        fields = super().get_fields(request, obj)
        if obj is None or not obj.consent_confirmed:
            fields = [name for name in fields if name != "consent_confirmed_shown"]
        return fields

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        # The admin's own send page became the one staff send page; old links still work.
        send = RedirectView.as_view(pattern_name="portal:send", query_string=True, permanent=True)
        return [path("send/", send, name="{}_{}_send".format(*info))] + super().get_urls()

    # -- columns --

    @admin.display(description=_("state"), ordering="state")
    def state_shown(self, obj):
        """The word every page uses (calls/lifecycle.py), with the calls not made of a stopped one."""
        shown = status_of(obj)
        if shown.state == BroadcastState.STOPPED and shown.not_made:
            not_made = ngettext("%(count)d call not made", "%(count)d calls not made", shown.not_made)
            return format_html(
                '<span data-state="{}">{}</span> ({})', shown.state, shown.label, not_made % {"count": shown.not_made}
            )
        return format_html('<span data-state="{}">{}</span>', shown.state, shown.label)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:  # the change page's steering links are for who may steer it
            obj.may_steer = steering.may_steer(request.user, obj)
        return obj

    @admin.display(description=_("what you can do"))
    def steer_links(self, obj):
        shown = status_of(obj)
        if shown.steer_actions and not getattr(obj, "may_steer", False):
            return gettext("Only its sender or a manager can stop, pause or resume it.")
        links = [
            (reverse(STEER_LINKS[action][0], args=[obj.pk]), action, STEER_LINKS[action][1])
            for action in shown.steer_actions
        ]
        if not links:
            return gettext("Nothing: the broadcast is %(state)s.") % {"state": shown.label}
        return format_html_join(" ", '<a class="button steer-link" id="steer-link-{1}" href="{0}">{2}</a>', links)

    @admin.display(description=_("sent again from"))
    def repeats(self, obj):
        """The broadcast this one sends again (derived from its calls), linked; "—" for a first send."""
        origin = origin_of(obj)
        if origin is None:
            return "—"
        url = reverse("admin:calls_broadcast_change", args=[origin.pk])
        return format_html('<a href="{}" id="broadcast-repeats">{}</a>', url, origin)

    @admin.display(description=_("basis"), ordering="basis")
    def basis_column(self, obj):
        """Why these people may be called; "not recorded" for broadcasts from before it was asked."""
        return obj.basis_shown

    @admin.display(description=_("contact lists"))
    def lists_shown(self, obj):
        """The contact lists it was sent to, as they were named then (calls/audience_recipients.py)."""
        lists = (obj.audiences or {}).get("lists") or []
        return ", ".join(str(item.get("name", "")) for item in lists) or gettext("no contact list")

    # Yes/no in words: Django's boolean icon carries an English alt text ("True", "False").
    @admin.display(description=_("recipients' consent confirmed"))
    def consent_confirmed_shown(self, obj):
        return gettext("yes") if obj.consent_confirmed else gettext("no")

    @admin.display(description=_("retry failed calls too"))
    def retry_failed_shown(self, obj):
        return gettext("yes") if obj.retry_failed else gettext("no")

    @admin.display(description=_("time zone"))
    def time_zone_shown(self, obj):
        return zone_label(obj.time_zone)

    @admin.display(description=_("calling hours"), ordering="calling_hours")
    def calling_hours_shown(self, obj):
        return obj.calling_windows.label()  # working days and days of rest

    # -- steering actions (Django's confirmation pattern: a page first, then post=yes) --

    def has_steer_permission(self, request):
        # Operators steer their own broadcasts; each one is checked again by may_steer.
        return request.user.has_perm(steering.STEER_PERMISSION) or request.user.has_perm(SEND_PERMISSION)

    @admin.action(description=_("Pause selected broadcasts…"), permissions=["steer"])
    def pause_broadcasts(self, request, queryset):
        return self._steer(request, queryset, "pause")

    @admin.action(description=_("Resume selected broadcasts…"), permissions=["steer"])
    def resume_broadcasts(self, request, queryset):
        return self._steer(request, queryset, "resume")

    @admin.action(description=_("Stop selected broadcasts…"), permissions=["steer"])
    def stop_broadcasts(self, request, queryset):
        return self._steer(request, queryset, "stop")

    def _steer(self, request, queryset, action):
        if not self.has_steer_permission(request):
            raise PermissionDenied
        selected = list(queryset.select_related("created_by").order_by("pk")[:1000])
        mine = [broadcast for broadcast in selected if steering.may_steer(request.user, broadcast)]
        if request.POST.get("post") == "yes":
            done = 0
            for broadcast in mine:
                try:
                    getattr(steering, action)(broadcast, request.user)
                except TransitionRefused as exc:
                    self.message_user(request, f"{broadcast}: {exc}", messages.ERROR)
                else:
                    done += 1
            for broadcast in selected:
                if broadcast not in mine:
                    self.message_user(
                        request,
                        gettext("%(broadcast)s: you may not steer it.") % {"broadcast": broadcast},
                        messages.ERROR,
                    )
            message_count(self, request, STEER_DONE[action], done, messages.SUCCESS)
            return None
        # What the broadcast allows as staff read it: no Pause on a finished one (calls/lifecycle.py).
        for broadcast in mine:
            broadcast.shown = status_of(broadcast)
        ready = [broadcast for broadcast in mine if broadcast.shown.allows(action)]
        if not ready:
            self.message_user(request, STEER_NOTHING[action], messages.WARNING)
            return None
        waiting = Call.objects.filter(broadcast__in=ready, state=CallState.QUEUED).count()
        context = {
            **self.admin_site.each_context(request),
            "title": STEER_TITLES[action],
            "opts": self.opts,
            "steer": action,
            "action_name": f"{action}_broadcasts",
            "broadcasts": ready,
            "waiting": waiting,
            "skipped": len(selected) - len(ready),
            "confirm_label": STEER_CONFIRM[action],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/calls/broadcast/steer_confirmation.html", context)

    @admin.display(description=_("progress"), ordering="total")
    def progress(self, obj):
        """How many of its calls have an outcome: "12 of 20"."""
        return gettext("%(done)d of %(total)d") % {"done": obj.total - obj.outcome_pending, "total": obj.total}

    @admin.display(description=_("calls"), ordering="total")
    def total(self, obj):
        return obj.total

    @admin.display(description=_("calls"))
    def calls_link(self, obj):
        url = reverse("admin:calls_call_changelist") + f"?broadcast={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("Show calls"))

    @admin.display(description=_("counts"))
    def counts_table(self, obj):
        counts = outcome_counts(obj.calls.all())
        rows = [(label, count) for label, _outcome, count in labelled(counts)]
        return format_html(
            "<table><tr><th>{}</th><td>{}</td></tr>{}</table>",
            gettext("total"),
            counts["total"],
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description=_("skipped numbers"))
    def skipped_numbers(self, obj):
        items = [(raw, reason) for raw, reason in obj.invalid_numbers] + [
            (number, gettext("duplicate, called once")) for number in obj.duplicate_numbers
        ]
        if not items:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", items))


# One list column per outcome, counted the way every page counts.
for _outcome in Outcome:
    setattr(BroadcastAdmin, str(_outcome), _outcome_column(_outcome))
