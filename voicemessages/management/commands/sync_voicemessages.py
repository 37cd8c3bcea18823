"""manage.py sync_voicemessages: mirror Exolve's voice messages into the portal.

Exit status: 0 all synced; 1 some messages could not be read (the rest were synced);
2 Exolve could not be reached or refused the key (nothing changed).
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from exolve_portal.progress import ProgressBar
from voicemessages.exceptions import SyncUnavailableError, explain
from voicemessages.sync import sync_voice_messages


class Command(BaseCommand):
    help = _(
        "Copy the voice messages of the Exolve application into the portal: GetList, then GetInfo "
        "for each. Marks messages Exolve no longer has; --prune deletes those here."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help=_("Show what would change; write nothing."))
        parser.add_argument(
            "--prune",
            action="store_true",
            help=_("Delete here the messages Exolve no longer has (those with calls are kept and listed)."),
        )

    def handle(self, *args, dry_run=False, prune=False, verbosity=1, **options):
        progress = ProgressBar(sys.stderr if verbosity >= 1 else None, _("Reading from Exolve"))
        try:
            result = sync_voice_messages(dry_run=dry_run, prune=prune, progress=progress)
        except SyncUnavailableError as error:
            progress.finish()
            raise CommandError(f"{error.user_message} ({error.exolve_error})", returncode=2)
        progress.finish()

        if verbosity >= 2:
            for label, ids in (
                (_("created"), result.created),
                (_("updated"), result.updated),
                (_("unchanged"), result.unchanged),
            ):
                for exolve_id in ids:
                    self.stdout.write(f"{label}: {exolve_id}")
        if verbosity >= 1:
            for exolve_id in result.newly_missing:
                self.stdout.write(_("missing at Exolve, marked: %(id)s") % {"id": exolve_id})
            for exolve_id, error in result.failed.items():
                self.stderr.write(
                    _("failed: %(id)s: %(reason)s (%(error)s)")
                    % {"id": exolve_id, "reason": explain(error), "error": error}
                )
            for exolve_id in result.pruned:
                self.stdout.write(_("deleted here (gone at Exolve): %(id)s") % {"id": exolve_id})
            for kept in result.kept:
                related = ", ".join(f"{count} {label}" for label, count in kept.related.items())
                self.stdout.write(
                    self.style.WARNING(
                        _("kept although gone at Exolve, because it has %(related)s: %(name)s (%(id)s)")
                        % {"related": related, "name": kept.name, "id": kept.exolve_id}
                    )
                )

        summary = result.summary()
        if dry_run:
            summary = _("dry run, nothing written: %(summary)s") % {"summary": summary}
        if prune:
            summary += _(", pruned %(pruned)d, kept %(kept)d") % {
                "pruned": len(result.pruned),
                "kept": len(result.kept),
            }
        style = self.style.SUCCESS if result.ok else self.style.WARNING
        self.stdout.write(style(summary))
        if result.exit_code:
            raise CommandError(
                ngettext(
                    "%(count)d voice message could not be read from Exolve; the others were synced.",
                    "%(count)d voice messages could not be read from Exolve; the others were synced.",
                    len(result.failed),
                )
                % {"count": len(result.failed)},
                returncode=result.exit_code,
            )
