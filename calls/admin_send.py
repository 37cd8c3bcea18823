"""The voice messages' "Send…" action, added to their admin from here.

``calls`` builds on ``voicemessages``, never the reverse, so the voice messages' admin
knows nothing of sending: this module re-registers it with the action added. The
action leads to the one send page (``/portal/send/``) with the chosen message
preselected and the change list, with its filters, as the way back. The contact lists'
"Send to these lists…" does the same with the chosen lists (re-registered here as well:
audiences knows nothing of sending).
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.contact_lists_admin import ContactListAdmin
from audiences.contact_models import ContactList
from voicemessages.admin import VoiceMessageAdmin
from voicemessages.models import VoiceMessage

from .permissions import SEND_PERMISSION
from .return_to import RETURN_PARAMETER
from .send_recipients import MAX_LISTS


def send_page_url(voice_message_pk=None, return_to: str = "", lists=()) -> str:
    """The staff send page, with the message (or contact lists) preselected and the way back, if given."""
    query = []
    if voice_message_pk is not None:
        query.append(("voice_message", voice_message_pk))
    query += [("list", pk) for pk in lists]
    if return_to:
        query.append((RETURN_PARAMETER, return_to))
    url = reverse("portal:send")
    return f"{url}?{urlencode(query)}" if query else url


class VoiceMessageAdminWithSend(VoiceMessageAdmin):
    # "Send…" before Django's "delete selected", as staff are used to.
    actions = [name for name in VoiceMessageAdmin.actions if name != "delete_selected"] + [
        "send_voice_message",
        "delete_selected",
    ]

    def has_send_permission(self, request):
        return request.user.has_perm(SEND_PERMISSION)

    @admin.action(permissions=["send"], description=_("Send…"))
    def send_voice_message(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True)[:2])
        if len(selected) != 1:
            self.message_user(request, gettext("Select exactly one voice message to send."), messages.WARNING)
            return None
        # The action posts to the change list's own URL, filters included: that is the way back.
        return HttpResponseRedirect(send_page_url(selected[0], return_to=request.get_full_path()))


class ContactListAdminWithSend(ContactListAdmin):
    """The contact lists' admin with "Send to these lists…": the send page with the lists chosen."""

    actions = [*(ContactListAdmin.actions or []), "send_to_lists"]

    def has_send_permission(self, request):
        return request.user.has_perm(SEND_PERMISSION)

    @admin.action(permissions=["send"], description=_("Send to these lists…"))
    def send_to_lists(self, request, queryset):
        selected = list(queryset.order_by("name").values_list("pk", flat=True)[: MAX_LISTS + 1])
        if len(selected) > MAX_LISTS:
            words = gettext("Choose at most %(count)d lists for one broadcast.") % {"count": MAX_LISTS}
            self.message_user(request, words, messages.WARNING)
            return None
        return HttpResponseRedirect(send_page_url(lists=selected, return_to=request.get_full_path()))


admin.site.unregister(VoiceMessage)
admin.site.register(VoiceMessage, VoiceMessageAdminWithSend)
admin.site.unregister(ContactList)
admin.site.register(ContactList, ContactListAdminWithSend)
