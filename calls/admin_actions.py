"""The "Send…" action for the voice message admin (which lives in the voicemessages app).

Wire it with `actions = [..., send_voice_message_action]` on VoiceMessageAdmin. It
opens the send form page (an extra URL on the Broadcast admin) for the selected voice
message; the page itself checks the `calls.send_voicemessage` permission on every
request, so the action stays harmless for users without it.
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .permissions import SEND_PERMISSION


@admin.action(description=_("Send…"))
def send_voice_message_action(modeladmin, request, queryset):
    if not request.user.has_perm(SEND_PERMISSION):
        modeladmin.message_user(request, gettext("You may not send voice messages."), messages.ERROR)
        return None
    selected = list(queryset.values_list("pk", flat=True)[:2])
    if len(selected) != 1:
        modeladmin.message_user(request, gettext("Select exactly one voice message to send."), messages.WARNING)
        return None
    return HttpResponseRedirect(send_page_url(selected[0]))


def send_page_url(voice_message_pk=None) -> str:
    url = reverse("admin:calls_broadcast_send")
    if voice_message_pk is not None:
        url += "?" + urlencode({"voice_message": voice_message_pk})
    return url
