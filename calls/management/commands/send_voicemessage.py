"""manage.py send_voicemessage: queue a voice message to one or many numbers, for scripts."""

import time
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from calls.models import Call, pending_q
from calls.phones import parse_numbers
from calls.sending import SendRefused, create_broadcast, new_token, send_queued_calls
from calls.statistics import refresh_due_calls
from calls.uploads import UploadError, read_numbers_file
from voicemessages.models import VoiceMessage


class Command(BaseCommand):
    help = _(
        "Queue a voice message to the given numbers. Invalid numbers are listed and skipped "
        "(exit status 1 when any were invalid); duplicates are called once. --wait sends in this "
        "process too (sharing the work with running workers) and follows every call to its outcome."
    )

    def add_arguments(self, parser):
        parser.add_argument("--message", required=True, help=_("The voice message: its portal id or its Exolve id."))
        parser.add_argument("--source", required=True, help=_("The caller number (one of EXOLVE_SOURCE_NUMBERS)."))
        parser.add_argument("--to", action="append", default=[], metavar="NUMBER", help=_("A number to call; repeat."))
        parser.add_argument("--file", help=_("A CSV or XLSX file with a phone column."))
        parser.add_argument("--wait", action="store_true", help=_("Wait until every call has a final outcome."))
        parser.add_argument(
            "--timeout", type=float, default=None, help=_("With --wait: give up after this many seconds.")
        )
        parser.add_argument("--poll", type=float, default=1.0, help=_("With --wait: seconds between checks."))

    def handle(self, *args, message, source, to, file, wait, timeout, poll, **options):
        voice_message = self._voice_message(message)
        values = list(to)
        if file:
            values += self._read_file(file)
        if not values:
            raise CommandError(_("Give at least one number with --to or --file."))
        parsed = parse_numbers(values)
        for raw, reason in parsed.invalid:
            self.stderr.write(_("invalid, skipped: %(number)s: %(reason)s") % {"number": raw, "reason": reason})
        for number in parsed.duplicates:
            self.stderr.write(_("duplicate, called once: %(number)s") % {"number": number})
        if not parsed.valid:
            raise CommandError(_("No valid numbers to call."))
        try:
            broadcast = create_broadcast(
                voice_message,
                source,
                parsed.valid,
                None,
                new_token(),
                invalid_numbers=parsed.invalid,
                duplicate_numbers=parsed.duplicates,
            )
        except SendRefused as exc:
            raise CommandError(str(exc)) from exc
        queued = ngettext(
            "Broadcast %(pk)d: queued %(count)d call of “%(name)s” from %(source)s",
            "Broadcast %(pk)d: queued %(count)d calls of “%(name)s” from %(source)s",
            len(parsed.valid),
        ) % {"pk": broadcast.pk, "count": len(parsed.valid), "name": voice_message.name, "source": source}
        skipped = _("%(invalid)d invalid, %(duplicates)d duplicate(s) skipped.") % {
            "invalid": len(parsed.invalid),
            "duplicates": len(parsed.duplicates),
        }
        self.stdout.write(f"{queued}; {skipped}")
        if wait:
            self._wait(broadcast, timeout, poll)
        if parsed.invalid:
            raise CommandError(
                ngettext("%(count)d invalid number skipped.", "%(count)d invalid numbers skipped.", len(parsed.invalid))
                % {"count": len(parsed.invalid)},
                returncode=1,
            )

    def _voice_message(self, value):
        query = Q(exolve_id=value)
        if value.isdigit():
            query |= Q(pk=int(value))
        found = list(VoiceMessage.objects.filter(query)[:2])
        if not found:
            raise CommandError(_("No voice message with id or Exolve id “%(value)s”.") % {"value": value})
        return found[0]

    def _read_file(self, path):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}) from exc
        try:
            return read_numbers_file(SimpleUploadedFile(Path(path).name, data))
        except UploadError as exc:
            raise CommandError(f"{path}: {exc}") from exc

    def _wait(self, broadcast, timeout, poll):
        started = time.monotonic()
        # Send here too: claims are exactly-once, so running workers and this process share the calls.
        send_queued_calls(broadcast.pk)
        calls = Call.objects.filter(broadcast=broadcast)
        while calls.filter(pending_q()).exists():
            if timeout is not None and time.monotonic() - started > timeout:
                self.stderr.write(_("Timed out waiting; the calls keep being followed in the background."))
                break
            time.sleep(poll)
            send_queued_calls(broadcast.pk)
            refresh_due_calls()
        for call in calls.order_by("pk"):
            outcome = call.status or call.state
            detail = f" ({call.error})" if call.error else ""
            self.stdout.write(f"{call.destination}\t{call.state}\t{outcome}\t{call.duration or 0}s{detail}")
        counts = broadcast.counts()
        summary = ", ".join(f"{key[:-6]}: {value}" for key, value in counts.items() if key.endswith("_count") and value)
        self.stdout.write(_("Done: %(summary)s") % {"summary": summary})
