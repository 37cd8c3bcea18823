"""manage.py broadcast stop|pause|resume|move ID [--at WHEN]: steer a broadcast, for the people who run it.

Exit status: 0 done, 1 refused (the reason is printed), 2 no such broadcast. The
command acts as nobody in particular (the audit trail has no user for it): whoever
may run manage.py may steer every broadcast.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from calls import steering
from calls.lifecycle import TransitionRefused
from calls.management.commands.send_voicemessage import parse_at
from calls.models import Broadcast, Call, CallState
from calls.outcomes import labelled, outcome_counts, status_of

NOT_FOUND = 2
REFUSED = 1
# What stop, pause and resume say, by the count each returns.
STEERED = {
    "stop": lambda count: ngettext(
        "Broadcast %(pk)d stopped; %(count)d call will not be made.",
        "Broadcast %(pk)d stopped; %(count)d calls will not be made.",
        count,
    ),
    "pause": lambda count: ngettext(
        "Broadcast %(pk)d paused; %(count)d call waits.", "Broadcast %(pk)d paused; %(count)d calls wait.", count
    ),
    "resume": lambda count: ngettext(
        "Broadcast %(pk)d resumed; %(count)d call to make.", "Broadcast %(pk)d resumed; %(count)d calls to make.", count
    ),
}


class Command(BaseCommand):
    help = _(
        "Stop, pause, resume a broadcast, or move the start of one that has not started. "
        "Exit status 0: done; 1: refused (the reason is printed); 2: no such broadcast."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["stop", "pause", "resume", "move", "show"])
        parser.add_argument("broadcast_id", type=int, metavar="ID")
        parser.add_argument("--at", metavar="WHEN", help=_('With move: the new start, "YYYY-MM-DD HH:MM".'))

    def handle(self, *args, action, broadcast_id, at=None, **options):
        broadcast = Broadcast.objects.filter(pk=broadcast_id).first()
        if broadcast is None:
            raise CommandError(_("No broadcast with id %(pk)d.") % {"pk": broadcast_id}, returncode=NOT_FOUND)
        try:
            message = self._do(action, broadcast, at)
        except TransitionRefused as exc:
            raise CommandError(str(exc), returncode=REFUSED) from exc
        self.stdout.write(message)

    def _do(self, action, broadcast, at) -> str:
        pk = broadcast.pk
        if action == "show":
            return show(broadcast)
        if action in STEERED:
            count = getattr(steering, action)(broadcast, None)
            return STEERED[action](count) % {"pk": pk, "count": count}
        if not at:
            raise TransitionRefused(_("Give the new start with --at."))
        try:
            start = parse_at(at)
        except CommandError as exc:
            raise TransitionRefused(str(exc)) from exc
        steering.move(broadcast, start, None)
        return _("Broadcast %(pk)d now starts at %(when)s.") % {
            "pk": pk,
            "when": timezone.localtime(start).isoformat(" ", "minutes"),
        }


def show(broadcast: Broadcast) -> str:
    """The broadcast as its page shows it: the state word, what it allows, and its calls counted by outcome."""
    counts = outcome_counts(broadcast.calls.all())
    shown = status_of(broadcast, counts)
    calls = Call.objects.filter(broadcast=broadcast)
    waiting = calls.filter(state=CallState.QUEUED).count()
    sent = calls.exclude(sent_at=None).count()
    canceled = calls.filter(state=CallState.CANCELED).count()
    title = f"{broadcast.pk} ({broadcast.name})" if broadcast.name else str(broadcast.pk)
    lines = [
        _("Broadcast %(title)s: %(state)s.") % {"title": title, "state": shown.label},
        _("Calls: %(total)d; sent to Exolve: %(sent)d; not made yet: %(waiting)d; canceled by the stop: %(canceled)d.")
        % {"total": counts["total"], "sent": sent, "waiting": waiting, "canceled": canceled},
    ]
    lines.append(
        _("Purpose: %(purpose)s; why these people may be called: %(basis)s.")
        % {"purpose": broadcast.get_purpose_display(), "basis": broadcast.basis_shown}
    )
    lines += [f"  {label}: {count}" for label, _outcome, count in labelled(counts)]
    actions = ", ".join(action for action in shown.steer_actions) or _("none")
    lines.append(_("Allowed: %(actions)s.") % {"actions": actions})
    return "\n".join(lines)
