"""manage.py stop_list: put numbers on the stop list from a file or the command line, and export it.

    manage.py stop_list import FILE [--reason R] [--note N] [--user USERNAME]
    manage.py stop_list add NUMBER... [--reason R] [--note N] [--user USERNAME]
    manage.py stop_list export FILE.csv|FILE.xlsx

Exit status: 0 when every number was read (added or already listed), 1 when some were
refused (listed on stderr), 2 for a file that cannot be read or a wrong use. With
--user the additions are attributed to that staff member and in the audit trail (the
admin's log needs a user); without it they are logged to the portal's log only.
"""

import logging
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audiences.models import StopListReason
from audiences.phones import ListRefused
from audiences.stop_list_files import import_numbers, write_file
from audiences.uploads import UploadError, read_numbers_file
from exolve_portal.spreadsheets import CSV, XLSX

logger = logging.getLogger(__name__)

USAGE_ERROR = 2  # a file that cannot be read, a wrong argument
REFUSED = 1  # some numbers could not be read


class Command(BaseCommand):
    help = _(
        "Keep the stop list (numbers never to call): import a CSV or XLSX file, add numbers, "
        "or export the list as CSV or XLSX. Exit status 1 when some numbers were refused, "
        "2 when the file cannot be read."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="import|add|export")
        adding = []
        importing = actions.add_parser("import", help=_("Put the numbers of a CSV or XLSX file on the stop list."))
        importing.add_argument("file", metavar="FILE", help=_("A CSV or XLSX file with a phone column."))
        adding.append(importing)
        add = actions.add_parser("add", help=_("Put the given numbers on the stop list."))
        add.add_argument("numbers", nargs="+", metavar="NUMBER", help=_("A number as people type it."))
        adding.append(add)
        for sub in adding:
            sub.add_argument(
                "--reason",
                choices=StopListReason.values,
                default=StopListReason.ASKED,
                help=_("Why: %(choices)s (default: asked).") % {"choices": ", ".join(StopListReason.values)},
            )
            sub.add_argument("--note", default="", help=_("A note kept with each number."))
            sub.add_argument(
                "--user", metavar="USERNAME", help=_("The staff member the additions are recorded for (audit trail).")
            )
        export = actions.add_parser("export", help=_("Write the stop list to a .csv or .xlsx file."))
        export.add_argument("file", metavar="FILE", help=_("The file to write: its name ends in .csv or .xlsx."))

    def handle(self, *args, action, **options):
        if action == "export":
            return self.export(Path(options["file"]))
        user = self.user(options.get("user"))
        if action == "import":
            values = self.read(Path(options["file"]))
        else:
            values = options["numbers"]
        try:
            result = import_numbers(values, reason=options["reason"], note=options["note"], user=user)
        except ListRefused as exc:  # more than STOP_LIST_MAX_NUMBERS, or a value longer than any number
            raise CommandError(str(exc), returncode=USAGE_ERROR) from exc
        logger.info(
            "Stop list %s by %s: %d added, %d already listed, %d refused",
            action,
            user or "the command line",
            result.added,
            result.already_listed,
            len(result.invalid),
        )
        self.stdout.write(
            ngettext(
                "Added %(count)d number to the stop list.", "Added %(count)d numbers to the stop list.", result.added
            )
            % {"count": result.added}
        )
        if result.already_listed:
            self.stdout.write(
                ngettext(
                    "%(count)d number was already on the stop list.",
                    "%(count)d numbers were already on the stop list.",
                    result.already_listed,
                )
                % {"count": result.already_listed}
            )
        for raw, reason in result.invalid:
            self.stderr.write(f"{raw}: {reason}")
        if result.invalid:
            raise CommandError(
                ngettext(
                    "%(count)d number could not be read and was not added.",
                    "%(count)d numbers could not be read and were not added.",
                    len(result.invalid),
                )
                % {"count": len(result.invalid)},
                returncode=REFUSED,
            )

    def user(self, username):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user “%(username)s”.") % {"username": username}, returncode=USAGE_ERROR)
        return user

    def read(self, path: Path) -> list:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}, returncode=USAGE_ERROR
            ) from exc
        try:
            return read_numbers_file(SimpleUploadedFile(path.name, data))
        except UploadError as exc:
            raise CommandError(f"{path}: {exc}", returncode=USAGE_ERROR) from exc

    def export(self, path: Path):
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise CommandError(
                _("Name the file .csv or .xlsx (the name says the format): %(path)s") % {"path": path},
                returncode=USAGE_ERROR,
            )
        try:
            with path.open("wb") as handle:
                count = write_file(handle, CSV if suffix == ".csv" else XLSX)
        except OSError as exc:
            raise CommandError(
                _("Cannot write %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}, returncode=USAGE_ERROR
            ) from exc
        self.stdout.write(
            ngettext("Wrote %(count)d number to %(path)s.", "Wrote %(count)d numbers to %(path)s.", count)
            % {"count": count, "path": path}
        )
