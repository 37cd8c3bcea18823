"""Admin for integrations: webhook endpoints (Managers register them), the delivery log, notice subscribers."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from exolve_portal.admin_messages import ObjectMessagesMixin
from exolve_portal.pagination import ADMIN_PAGE

from . import addresses, tasks
from .models import Delivery, DeliveryState, Endpoint, EventKind, NoticeSubscription
from .permissions import RESEND_PERMISSION


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"), choices=EventKind.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = Endpoint
        fields = ("name", "url", "events", "enabled")
        help_texts = {
            "url": _(
                "Where the portal posts each event (http:// or https://, a public address). Each request is "
                "signed as the Standard Webhooks specification says, with the secret shown once the endpoint is saved."
            ),
        }

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            addresses.resolve(url)
        except addresses.Refused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(Endpoint)
class EndpointAdmin(ObjectMessagesMixin, admin.ModelAdmin):
    form = EndpointForm
    object_messages = {
        "added": _("The webhook endpoint {obj} was added. Give its signing secret to the receiving system."),
        "changed": _("The webhook endpoint {obj} was changed."),
        "deleted": _("The webhook endpoint {obj} was deleted."),
    }
    list_display = ("name", "url", "enabled", "failures_in_row", "owner", "created_at")
    list_filter = ("enabled",)
    search_fields = ("name", "url")
    list_per_page = ADMIN_PAGE
    readonly_fields = ("secret", "owner", "disabled_reason", "failures_in_row", "failing_since", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        fields = ["name", "url", "events", "enabled"]
        return fields + list(self.readonly_fields) if obj else fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        if "enabled" in form.changed_data and obj.enabled:  # switched on again: a fresh start
            obj.failures_in_row, obj.failing_since, obj.disabled_reason = 0, None, ""
        super().save_model(request, obj, form, change)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_kind", "endpoint", "state", "attempts", "last_status", "answer", "last_attempt_at")
    list_filter = ("state", "event__kind", "endpoint")
    list_select_related = ("event", "endpoint")
    list_per_page = ADMIN_PAGE
    show_full_result_count = False
    actions = ["send_again"]
    fields = (
        "event_kind", "message_id", "endpoint", "state", "attempts", "failures", "last_status", "last_answer",
        "last_attempt_at", "next_attempt_at", "delivered_at", "created_at", "body",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("event"), ordering="event__kind")
    def event_kind(self, delivery):
        return delivery.event.get_kind_display()

    @admin.display(description=_("message id"))
    def message_id(self, delivery):
        return delivery.event.message_id

    @admin.display(description=_("body"))
    def body(self, delivery):
        return format_html("<pre>{}</pre>", delivery.event.body[:4000])

    @admin.display(description=_("answer"))
    def answer(self, delivery):
        text = delivery.last_answer or ""
        return text if len(text) <= 80 else text[:80] + "…"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_send_again_permission(self, request):
        return request.user.has_perm(RESEND_PERMISSION)

    @admin.action(description=_("Send again"), permissions=["send_again"])
    def send_again(self, request, queryset):
        count = queryset.update(state=DeliveryState.PENDING, next_attempt_at=timezone.now())
        tasks.wake_delivery()
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be sent again shortly.",
                "%(count)d deliveries will be sent again shortly.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
        if queryset.filter(endpoint__enabled=False).exists():
            self.message_user(
                request,
                gettext("Some of these endpoints are switched off: switch them on for their deliveries to go."),
                messages.WARNING,
            )


@admin.register(NoticeSubscription)
class NoticeSubscriptionAdmin(ObjectMessagesMixin, admin.ModelAdmin):
    object_messages = {
        "added": _("{obj} will get the e-mail notices of every broadcast."),
        "changed": _("The notice subscription of {obj} was changed."),
        "deleted": _("{obj} will no longer get the notices of others' broadcasts."),
    }
    list_display = ("user", "created_at")
    autocomplete_fields = ()
    list_per_page = ADMIN_PAGE
