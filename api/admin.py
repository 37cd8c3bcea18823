"""API tokens in the admin: Managers create them (the token is shown once), change scopes and expiry, revoke them;
and read what became of each send made with them (accepted, recorded, refused and why).

Django's admin logs each addition and change in the audit trail; the API's own entries name
the token (api/audit.py). A token is never deleted by the revoke action: its history stays.
"""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from exolve_portal.admin_read_only import ReadOnlyAdmin
from exolve_portal.pagination import EstimatingPaginator

from .models import ApiSend, ApiToken, Scope
from .tokens import forget, new_token, scope_label


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the system using this token may do. Give it only what it needs."),
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "prefix", "scopes_shown", "expires_at", "last_used_at", "revoked_at", "created_by"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    @admin.display(description=_("scopes"))
    def scopes_shown(self, obj):
        return ", ".join(scope_label(scope) for scope in obj.scopes or [])

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not change:
            raw, obj.prefix, obj.digest = new_token()
            obj.created_by = request.user
            request._api_token_shown_once = raw
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(request, "_api_token_shown_once", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("The new API token"),
            "token": raw,
            "object": obj,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/api/token_created.html", context)

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        forget()  # this process refuses them at once; the others within a second (api/tokens.py)
        for token in queryset:
            self.log_change(request, token, gettext("Revoked"))
        messages.success(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", count) % {"count": count},
        )


@admin.register(ApiSend)
class ApiSendAdmin(ReadOnlyAdmin):
    """Read only: when an integration says "we sent it", what the portal made of it."""

    list_display = ["created_at", "key", "state", "broadcast_shown", "why_refused"]  # the token: a filter
    list_filter = ["state", "token"]
    search_fields = ["key"]
    list_select_related = ["token"]
    paginator = EstimatingPaginator
    fields = ["token", "key", "state", "broadcast_shown", "why_refused", "created_at", "recorded_at"]
    readonly_fields = fields

    @admin.display(description=_("broadcast"))
    def broadcast_shown(self, obj):
        if obj.broadcast_id is None:
            return "—"
        url = reverse("admin:calls_broadcast_change", args=[obj.broadcast_id])
        return format_html('<a href="{}">№&nbsp;{}</a>', url, obj.broadcast_id)

    @admin.display(description=_("why it was refused"))
    def why_refused(self, obj):
        problem = (obj.answer or {}).get("problem") or {}
        return problem.get("detail") or problem.get("title") or "—"
