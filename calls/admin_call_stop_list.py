"""The calls' way onto the stop list in the admin: an action on calls and a button on a call.

The numbers go through `audiences.stop_list.add`, which logs each addition.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from audiences import stop_list
from audiences.admin import ALREADY_LISTED, StopListReasonForm
from audiences.permissions import ADD_TO_STOP_LIST_PERMISSION
from exolve_portal.admin_messages import message_count
from exolve_portal.admin_urls import admin_url

from .models import Call

# How many numbers a confirmation page lists before "and N more".
SHOWN_NUMBERS = 100
PUT_ON_STOP_LIST = ngettext_lazy(
    "Put %(count)d number on the stop list: it will not be called, queued calls included.",
    "Put %(count)d numbers on the stop list: they will not be called, queued calls included.",
    "count",
)


class CallStopListMixin:
    """For CallAdmin: "Add to the stop list…" as an action on calls and as a button on a call."""

    def has_add_to_stop_list_permission(self, request):
        return request.user.has_perm(ADD_TO_STOP_LIST_PERMISSION)

    def get_urls(self):
        return [admin_url(self, "<int:pk>/stop-list/", self.stop_list_view, "stop_list")] + super().get_urls()

    @admin.action(description=_("Add the numbers to the stop list…"), permissions=["add_to_stop_list"])
    def add_to_stop_list(self, request, queryset):
        """Django's confirmation pattern: the first POST asks why, the second (post=yes) adds."""
        numbers = sorted(set(queryset.order_by().values_list("destination", flat=True).distinct()))
        form = StopListReasonForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_bound:
            if not self.has_add_to_stop_list_permission(request):
                raise PermissionDenied
            if form.is_valid():
                self._add_numbers(request, numbers, form)
                return None
        return self._confirmation(
            request,
            numbers,
            form,
            queryset=None if request.POST.get("select_across") == "1" else queryset,
            select_across=request.POST.get("select_across", "0"),
        )

    @method_decorator(require_http_methods(["GET", "POST"]))
    def stop_list_view(self, request, pk):
        """The button on a call's page: POST (or GET, a reload) asks why, POST with post=yes adds the number."""
        if not self.has_add_to_stop_list_permission(request):
            raise PermissionDenied
        call = get_object_or_404(Call, pk=pk)
        form = StopListReasonForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            self._add_numbers(request, [call.destination], form)
            return HttpResponseRedirect(reverse("admin:calls_call_change", args=[call.pk]))
        return self._confirmation(request, [call.destination], form, call=call)

    def _add_numbers(self, request, numbers, form):
        added = stop_list.add(
            numbers, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"], user=request.user
        )
        message_count(self, request, PUT_ON_STOP_LIST, added, messages.SUCCESS)
        message_count(self, request, ALREADY_LISTED, len(numbers) - added)

    def _confirmation(self, request, numbers, form, *, queryset=None, select_across="0", call=None):
        listed = set(stop_list.blocked(numbers))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Add these numbers to the stop list?"),
            "opts": self.opts,
            "form": form,
            "numbers": [(number, number in listed) for number in numbers[:SHOWN_NUMBERS]],
            "count": len(numbers),
            "more": max(0, len(numbers) - SHOWN_NUMBERS),
            "already_listed": len(listed),
            "call": call,
            "queryset": queryset,
            "select_across": select_across,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/calls/call/stop_list_confirmation.html", context)
