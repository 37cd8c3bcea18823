"""The two steps of sending on the staff send page (pages.views.send).

Step 1 posts what to send, from which number and to whom, and gets a preview (stored
as a draft under the form's token); step 2 posts the confirmation (the token) and
records the broadcast from the draft. A confirmation that fails goes back to step 1
with everything that was typed still there.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.utils.translation import gettext, ngettext

from . import save_as_list
from .forms import ConfirmSendForm, SendForm
from .from_broadcast import FromBroadcastSendForm
from .models import Broadcast
from .plan_form import SendPlan
from .planning import format_local
from .send_recipients import lists_from_query


@dataclass
class SendStep:
    form: SendForm
    preview: object = None
    confirm: ConfirmSendForm | None = None
    broadcast: Broadcast | None = None  # set once a confirmation recorded (or found) it


def _send_form(selection, *args, **kwargs) -> SendForm:
    """The send form, or the one whose recipients come from a previous broadcast (calls/from_broadcast.py)."""
    if selection is None:
        return SendForm(*args, **kwargs)
    return FromBroadcastSendForm(*args, selection=selection, **kwargs)


def handle(request, initial: dict | None = None, selection=None) -> SendStep:
    """Run whichever step the request is; on a recorded broadcast, tell the user what happened.

    `selection` (calls/from_broadcast.py): the recipients are the people of a previous broadcast.
    """
    if request.method == "POST" and "_confirm" in request.POST:
        confirm = ConfirmSendForm(request.POST, user=request.user)
        if confirm.is_valid():
            broadcast = confirm.save()
            if broadcast is not None:
                _announce(request, broadcast, len(confirm.draft.numbers))
                return SendStep(form=None, broadcast=broadcast)
        form = _send_form(selection, initial=typed_again(request.POST, confirm.draft), user=request.user)
        return SendStep(form=form, confirm=confirm)
    if request.method == "POST":
        form = _send_form(selection, request.POST, request.FILES, user=request.user)
        if form.is_valid():
            draft = form.save_draft(request.user)
            form.save_list_form = save_as_list.offer(request.user, draft)  # "Save these numbers as a new list"
            return SendStep(form=form, preview=form.preview, confirm=form.confirm_form(draft))
        return SendStep(form=form)
    initial = {**(initial or {}), "contact_lists": lists_from_query(request.GET)}  # the admin's "Send to these lists…"
    return SendStep(form=_send_form(selection, initial=initial, user=request.user))


def _announce(request, broadcast: Broadcast, count: int) -> None:
    if broadcast.created_now and broadcast.start_at:
        text = ngettext(
            "Scheduled %(count)d call; it starts at %(when)s.",
            "Scheduled %(count)d calls; they start at %(when)s.",
            count,
        ) % {"count": count, "when": format_local(broadcast.start_at)}
        messages.success(request, text)
    elif broadcast.created_now:
        text = ngettext(
            "Queued %(count)d call. It is being sent in the background.",
            "Queued %(count)d calls. They are being sent in the background.",
            count,
        ) % {"count": count}
        messages.success(request, text)
    else:
        messages.info(request, gettext("This form was already sent; nothing was sent twice."))


def typed_again(post, draft=None) -> dict:
    """The first step's fields rebuilt from a confirmation that failed: the draft's list
    (valid, invalid as typed, duplicates) and plan, the chosen message and source."""
    lines = []
    plan = {"name": post.get("name", "")}
    if draft is not None:
        stored = draft.plan or {}
        contacts = stored.get("contacts") or {}  # from the lists: chosen again, not typed
        typed = [number for number in draft.numbers if number not in contacts]
        lines = [*typed, *(raw for raw, _reason in draft.invalid), *draft.duplicates]
        plan = {**SendPlan.from_json(stored).form_initial(), "name": stored.get("name", "")}
        plan["contact_lists"] = [item["id"] for item in (stored.get("audiences") or {}).get("lists", [])]
    return {
        "voice_message": post.get("voice_message"),
        "source": post.get("source"),
        "token": draft.token if draft is not None else post.get("token"),
        "numbers": "\n".join(lines),
        **plan,
    }
