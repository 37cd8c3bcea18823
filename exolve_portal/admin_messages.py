"""The admin's add, change and delete messages in words that agree with each model's Russian name.

Django's own put the model's name into one sentence for every model ("The {name} “{obj}”
was added successfully."), which its Russian writes in the masculine: "Голосовое
сообщение «…» был успешно добавлен". An admin using `ObjectMessagesMixin` names its own
sentences in `object_messages`; Django's view still decides when a message is due, and
only the text of that one success message is replaced.
"""

from django.contrib import messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.utils.html import format_html
from django.utils.translation import gettext

# Set on the request while one of Django's add/change/delete responses is being built.
_PENDING = "_object_message"


class ObjectMessagesMixin:
    """`object_messages`: {"added"|"changed"|"deleted": text with {obj}, "bulk_deleted": a plural text}.

    The texts are lazy translations ("bulk_deleted": `ngettext_lazy(..., "count")`); a
    missing key leaves Django's own message.
    """

    object_messages: dict = {}

    def response_add(self, request, obj, post_url_continue=None):
        self._expect(request, "added", obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        self._expect(request, "added" if "_saveasnew" in request.POST else "changed", obj)
        return super().response_change(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        self._expect(request, "deleted", obj_display)
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset):
        # Django's "delete selected" action says how many went, after this returns.
        if "bulk_deleted" in self.object_messages:
            count = queryset.count()
            setattr(request, _PENDING, str(self.object_messages["bulk_deleted"] % {"count": count}))
        super().delete_queryset(request, queryset)

    def message_user(self, request, message, level=messages.INFO, extra_tags="", fail_silently=False):
        pending = getattr(request, _PENDING, None)
        if pending is not None and level == messages.SUCCESS:
            setattr(request, _PENDING, None)
            message = pending
        super().message_user(request, message, level, extra_tags, fail_silently)

    def _expect(self, request, event, obj):
        text = self.object_messages.get(event)
        if text is None or IS_POPUP_VAR in request.POST:
            return
        message = format_html(str(text), obj=str(obj))
        # Django's hints after the sentence, in words that need no gender.
        if "_continue" in request.POST or "_saveasnew" in request.POST:
            message = format_html("{} {}", message, gettext("You may edit it again below."))
        elif "_addanother" in request.POST:
            message = format_html("{} {}", message, gettext("Below, you may add the next one."))
        setattr(request, _PENDING, message)


def message_count(modeladmin, request, text, count: int, level=messages.INFO) -> None:
    """Say `text` (an `ngettext_lazy(singular, plural, "count")`) for `count` things, unless there are none."""
    if count:
        modeladmin.message_user(request, text % {"count": count}, level)
