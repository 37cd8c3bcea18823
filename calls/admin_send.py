"""The voice messages' "Send…" action, added to their admin from here.

``calls`` builds on ``voicemessages``, never the reverse, so the voice messages' admin
knows nothing of sending: this module re-registers it with the action added. The
action leads to the one send page (``/portal/send/``) with the chosen message
preselected and the change list, with its filters, as the way back.
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from voicemessages.admin import VoiceMessageAdmin
from voicemessages.models import VoiceMessage

from .permissions import SEND_PERMISSION
from .return_to import RETURN_PARAMETER


def send_page_url(voice_message_pk=None, return_to: str = "") -> str:
    """The staff send page, with the message preselected and the way back, if given."""
    query = {}
    if voice_message_pk is not None:
        query["voice_message"] = voice_message_pk
    if return_to:
        query[RETURN_PARAMETER] = return_to
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


admin.site.unregister(VoiceMessage)
admin.site.register(VoiceMessage, VoiceMessageAdminWithSend)
