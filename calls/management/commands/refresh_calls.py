"""manage.py refresh_calls: refresh call statistics from Exolve, with a progress bar and summary."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from calls.models import Call, CallState
from calls.sending import sweep_stale_sending
from calls.statistics import refresh_calls
from calls.tasks import resume_stalled_sending, schedule_refresh
from exolve_portal.progress import ProgressBar


class Command(BaseCommand):
    help = _(
        "Refresh call statistics from Exolve. By default the pending calls (sent, no final status "
        "yet); --all for every call with an Exolve call id. Exit status 1 when any refresh failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help=_("Every call with an Exolve call id, final or not."))
        parser.add_argument("--since", help=_("Only calls queued since this date or date-time (YYYY-MM-DD[ HH:MM])."))
        parser.add_argument("--broadcast", type=int, help=_("Only the calls of this broadcast."))
        parser.add_argument(
            "--concurrency", type=int, default=None, help=_("Requests in flight (default EXOLVE_MAX_IN_FLIGHT).")
        )

    def handle(self, *args, since, broadcast, concurrency, **options):
        swept = sweep_stale_sending()
        if swept:
            self.stderr.write(
                ngettext(
                    "%(count)d call left “sending” by a stopped worker was marked unknown.",
                    "%(count)d calls left “sending” by a stopped worker were marked unknown.",
                    swept,
                )
                % {"count": swept}
            )
        resumed = resume_stalled_sending()
        if resumed:
            self.stderr.write(
                _("Sending resumed for broadcasts whose send tasks were lost or whose worker stopped: %(ids)s")
                % {"ids": ", ".join(str(pk) for pk in resumed)}
            )
        calls = Call.objects.filter(call_id__isnull=False)
        if not options["all"]:
            calls = calls.filter(state=CallState.SENT)
        if since:
            calls = calls.filter(queued_at__gte=self._parse_since(since))
        if broadcast is not None:
            calls = calls.filter(broadcast_id=broadcast)
        calls = list(calls.order_by("pk").only("pk", "call_id", "sent_at", "destination", "state"))
        total = len(calls)
        if not total:
            self.stdout.write(_("Nothing to refresh."))
            return
        # On stderr (drawn on a terminal only), so stdout carries the summary alone.
        bar = ProgressBar(sys.stderr, total=total)
        summary = refresh_calls(calls, max_in_flight=concurrency, progress=bar.advance)
        bar.finish()
        schedule_refresh()
        self.stdout.write(
            ngettext(
                "Refreshed %(refreshed)d of %(total)d call: %(finished)d with a final status, %(failed)d failed.",
                "Refreshed %(refreshed)d of %(total)d calls: %(finished)d with a final status, %(failed)d failed.",
                total,
            )
            % {"refreshed": summary.refreshed, "total": total, "finished": summary.finished, "failed": summary.failed}
        )
        for where, reason in summary.errors[:20]:
            self.stderr.write(f"  {where}: {reason}")
        if summary.failed:
            raise CommandError(
                ngettext("%(count)d refresh failed.", "%(count)d refreshes failed.", summary.failed)
                % {"count": summary.failed},
                returncode=1,
            )

    def _parse_since(self, value):
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is None:
                raise CommandError(
                    _("--since: “%(value)s” is not a date (YYYY-MM-DD) or date-time.") % {"value": value}
                )
            moment = timezone.datetime(day.year, day.month, day.day)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
