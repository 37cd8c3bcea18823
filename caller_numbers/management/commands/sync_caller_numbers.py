"""manage.py sync_caller_numbers: mirror the application's numbers from Exolve.

Exit status: 0 synced; 2 Exolve could not be reached or refused the key (nothing changed).
With --if-never-synced (what `make run` runs on every start) it syncs only when no number
was ever mirrored, and a failure is a warning with exit status 0: it never stops a start.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from caller_numbers.models import shown_number
from caller_numbers.sync import never_synced, sync_caller_numbers
from caller_numbers.wording import disabled_text, summary_text, unavailable_text
from exolve_portal.exolve.errors import ExolveError


class Command(BaseCommand):
    help = _(
        "Copy the numbers the Exolve application owns into the portal (number/customer/v1/GetList). "
        "Numbers Exolve no longer lists are kept, marked and disabled."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-never-synced",
            action="store_true",
            help=_("Sync only if no number was ever synced; a failure only warns (for the first start)."),
        )

    def handle(self, *args, if_never_synced=False, verbosity=1, **options):
        if if_never_synced and not never_synced():
            return
        try:
            result = sync_caller_numbers()
        except ExolveError as error:
            message = f"{unavailable_text(error.explanation)} ({error})"
            if if_never_synced:
                self.stderr.write(self.style.WARNING(message))
                self.stderr.write(_("The portal starts anyway; sync later with: manage.py sync_caller_numbers"))
                return
            raise CommandError(message, returncode=2) from error
        if verbosity >= 2:
            for label, numbers in ((_("new"), result.created), (_("changed"), result.updated)):
                for number in numbers:
                    self.stdout.write(f"{label}: {shown_number(number)}")
        for number in result.gone:
            self.stdout.write(_("no longer at Exolve, kept and marked: %(number)s") % {"number": shown_number(number)})
        if result.disabled:
            self.stdout.write(self.style.WARNING(disabled_text(len(result.disabled))))
        counts = result.counts()
        self.stdout.write(self.style.SUCCESS(_("Caller numbers: %(summary)s.") % {"summary": summary_text(counts)}))
