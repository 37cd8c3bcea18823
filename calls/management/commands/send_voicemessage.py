"""manage.py send_voicemessage: queue a voice message to one or many numbers, for scripts.

With `--idempotency-key KEY` the broadcast's token is derived from the key, so a script
that runs twice (a retry after a timeout, a cron job started again) sends once: the
second run finds the broadcast, says so and exits 0.
"""

import hashlib
import re
import time
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audiences.phones import ListRefused, parse_numbers
from audiences.sources import as_source, source_help
from audiences.uploads import UploadedList, UploadError, by_number, numbers_zones, read_list
from calls.from_broadcast import NoRecipients, recipients
from calls.lifecycle import get_zone
from calls.models import Broadcast, Call, pending_q
from calls.outcomes import labelled, outcome_counts
from calls.plan_form import PlanForm, SendPlan
from calls.plan_rules import (
    MAX_PACE_PER_MINUTE,
    MAX_RETRY_AFTER_MINUTES,
    MIN_RETRY_AFTER_MINUTES,
    PlanRefused,
    check_start,
)
from calls.recording import SendRefused, create_broadcast, new_token
from calls.send_recipients import TooManyRecipients, left_out_words, list_recipients, lists_named, merged
from calls.sending import send_queued_calls
from calls.statistics import refresh_due_calls
from voicemessages.models import VoiceMessage


def key_token(key: str) -> str:
    """The broadcast token for an --idempotency-key (fits the token field, never a form's token)."""
    key = key.strip()
    if not key:
        raise CommandError(_("The idempotency key is empty."))
    return "key-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:56]


def parse_moment(text: str):
    """ "YYYY-MM-DD HH:MM" in TIME_ZONE, or with an offset -> an aware datetime (CommandError if it is none)."""
    try:
        moment = parse_datetime(text.strip().replace("T", " ")) if text and text.strip() else None
    except ValueError:  # well formed, but no such day or hour (2026-02-30)
        moment = None
    if moment is None:
        raise CommandError(_('--at looks like "2026-12-01 10:00" (or "2026-12-01 10:00+03:00").'))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, get_zone(settings.TIME_ZONE))
    return moment


def parse_at(text: str):
    """`parse_moment`, in the future and within a year (calls/plan_rules.py), for `broadcast move`."""
    moment = parse_moment(text)
    try:
        check_start(moment)
    except PlanRefused as exc:
        raise CommandError(f"--at: {exc}") from exc
    return moment


# The option that sets each plan value: the send form's errors are printed under it.
PLAN_OPTIONS = {
    "start_at": ("--at", "at"),
    "calling_hours": ("--window", "window"),
    "calling_hours_rest": ("--calling-hours-weekend", "calling_hours_weekend"),
    "time_zone": ("--tz", "tz"),
    "pace_per_minute": ("--pace", "pace"),
    "retries": ("--retries", "retries"),
    "retry_after_minutes": ("--retry-after", "retry_after"),
    "retry_failed": ("--retry-failed", "retry_failed"),
    "purpose": ("--purpose", "purpose"),
    "basis": ("--basis", "basis"),
    "sms_text": ("--sms-text", "sms_text"),
    "sms_sender": ("--sms-from", "sms_from"),
    "sms_on": ("--sms-on", "sms_on"),
}


def command_plan(options: dict) -> SendPlan:
    """The plan the options give, read by the send page's own form (CommandError naming each option refused).

    The command acts as nobody in particular, so its calling hours stay inside
    EXOLVE_CALLING_HOURS, as for an Operator: to call outside them, run it with its own.
    """
    data = {field: options.get(name) for field, (_flag, name) in PLAN_OPTIONS.items()}
    if data["start_at"]:
        data["start_at"] = parse_moment(data["start_at"])
    if data["sms_on"] is not None:
        data["sms_on"] = [part.strip() for part in data["sms_on"].split(",") if part.strip()]
    form = PlanForm({field: value for field, value in data.items() if value is not None}, user=None)
    if not form.is_valid():
        raise CommandError("\n".join(_option_errors(form)))
    return form.plan


def _option_errors(form) -> list[str]:
    """Each refusal as "--option: what is wrong"."""
    lines = []
    for field, errors in form.errors.as_data().items():
        flag = PLAN_OPTIONS[field][0]
        for error in errors:
            if error.code == "required" and field == "basis":
                lines.append(f"{flag}: {' '.join(error.messages)} " + _("Give --basis consent, contract or debt."))
            else:
                lines.append(f"{flag}: {' '.join(error.messages)}")
    return lines


def _plan_options() -> list[tuple[str, str, type, str]]:
    """When, how fast and how persistently it rings, and why: (flag, metavar, type, help) each."""
    at = _('Start at "YYYY-MM-DD HH:MM" (in TIME_ZONE, or with an offset such as +03:00); default: now.')
    window = _(
        'Calling hours in the callee\'s local time, "09:00-21:00" (or overnight, "21:00-09:00"), inside '
        'EXOLVE_CALLING_HOURS ("any" only when that is any); default: EXOLVE_CALLING_HOURS.'
    )
    weekend = _(
        "Calling hours on weekends and public holidays (the Russian production calendar), inside "
        "EXOLVE_CALLING_HOURS_WEEKEND; default: as --window when given, else EXOLVE_CALLING_HOURS_WEEKEND. "
        "Debt reminders: within 08:00-22:00 and 09:00-20:00 (230-FZ), whoever sends."
    )
    retries = _("Call again those who did not answer or were busy, up to N more times (0-5); default: EXOLVE_RETRIES.")
    retry_after = _("Minutes between attempts (%(min)d-%(max)d); default: EXOLVE_RETRY_AFTER_MINUTES.") % {
        "min": MIN_RETRY_AFTER_MINUTES,
        "max": MAX_RETRY_AFTER_MINUTES,
    }
    return [
        ("--at", "WHEN", str, at),
        ("--window", "HOURS", str, window),
        ("--calling-hours-weekend", "HOURS", str, weekend),
        ("--tz", "ZONE", str, _("The broadcast's time zone (for numbers of unknown zone); default: TIME_ZONE.")),
        ("--pace", "N", int, _("At most N calls per minute (1-%(max)d).") % {"max": MAX_PACE_PER_MINUTE}),
        ("--retries", "N", int, retries),
        ("--retry-after", "MIN", int, retry_after),
        ("--purpose", "PURPOSE", str, _("information (default), reminder or debt_reminder.")),
        ("--sms-text", "TEXT", str, _("Then one SMS with this text to those the calls did not reach.")),
        (
            "--sms-from",
            "SENDER",
            str,
            _("The SMS sender: a registered sender name or an enabled mobile number (not city or 8-800)."),
        ),
        ("--sms-on", "OUTCOMES", str, _("Comma-separated: no_answer (default), busy, failed.")),
        (
            "--basis",
            "BASIS",
            str,
            _(
                "Required: why these people may be called: consent (they agreed), contract (an existing "
                "contract or service) or debt (debt reminders only)."
            ),
        ),
    ]


class Command(BaseCommand):
    help = _(
        "Queue a voice message to the given numbers. Invalid numbers are listed and skipped "
        "(exit status 1 when any were invalid); duplicates are called once. --wait sends in this "
        "process too (sharing the work with running workers) and follows every call to its outcome."
    )

    def add_arguments(self, parser):
        parser.add_argument("--message", required=True, help=_("The voice message: its portal id or its Exolve id."))
        parser.add_argument("--source", required=True, help=source_help())
        parser.add_argument("--to", action="append", default=[], metavar="NUMBER", help=_("A number to call; repeat."))
        parser.add_argument("--file", help=_("A CSV or XLSX file with a phone column."))
        parser.add_argument(
            "--list",
            action="append",
            default=[],
            dest="lists",
            metavar="NAME",
            help=_(
                "A contact list by its name; repeat for several. Only contacts with a consent in force for "
                "--purpose are called; the others are listed with the reason."
            ),
        )
        parser.add_argument(
            "--from-broadcast",
            type=int,
            metavar="N",
            help=_("Instead of numbers: the people of broadcast N chosen by --outcome (their names kept)."),
        )
        parser.add_argument(
            "--outcome",
            metavar="OUTCOMES",
            help=_("With --from-broadcast, comma-separated: no_answer, busy, failed, answered, not_reached."),
        )
        parser.add_argument("--name", default="", help=_("A name for the broadcast, shown on its page and in lists."))
        parser.add_argument("--wait", action="store_true", help=_("Wait until every call has a final outcome."))
        parser.add_argument(
            "--timeout", type=float, default=None, help=_("With --wait: give up after this many seconds.")
        )
        parser.add_argument("--poll", type=float, default=1.0, help=_("With --wait: seconds between checks."))
        for flag, metavar, kind, help_text in _plan_options():
            parser.add_argument(flag, metavar=metavar, type=kind, help=help_text)
        parser.add_argument("--retry-failed", action="store_true", help=_("Call again failed calls too."))
        parser.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help=_("Send at most once for this key: running again with the same key sends nothing."),
        )

    def handle(self, *args, message, source, to, file, wait, timeout, poll, idempotency_key=None, **options):
        token = new_token() if idempotency_key is None else key_token(idempotency_key)
        source = as_source(source)
        plan = command_plan(options)
        voice_message = self._voice_message(message)
        lists = options.get("lists") or []
        parsed, table = self._numbers(to, file, options.get("from_broadcast"), options.get("outcome"), bool(lists))
        zones = numbers_zones(table.zones, parsed.valid)
        details = by_number(table.details, parsed.valid)
        found, kept = None, dict(getattr(table, "contacts", {}))  # --from-broadcast: people who came from lists
        if lists:
            found = self._from_lists(lists, plan.purpose)
            parsed = merged(parsed, found, details, zones)
        following = (wait, timeout, poll)
        if idempotency_key is not None and self._already_sent(token, voice_message, source, parsed, *following):
            return
        self._report_skipped(parsed)
        try:
            broadcast = create_broadcast(
                voice_message,
                source,
                parsed.valid,
                None,
                token,
                invalid_numbers=parsed.invalid,
                duplicate_numbers=parsed.duplicates,
                plan=plan,
                zones=zones or None,
                details=details or None,  # the names of the file's people
                name=options.get("name") or "",
                contacts={**kept, **found.to_call} if found else kept or None,
                audiences=found.record() if found else None,
            )
        except SendRefused as exc:
            raise CommandError(str(exc)) from exc
        if not broadcast.created_now:  # the same key, run at the same moment elsewhere
            self._already_sent(token, voice_message, source, parsed, *following)
            return
        self._report_queued(broadcast, parsed)
        if wait:
            self._wait(broadcast, timeout, poll)
        if parsed.invalid:
            raise CommandError(
                ngettext("%(count)d invalid number skipped.", "%(count)d invalid numbers skipped.", len(parsed.invalid))
                % {"count": len(parsed.invalid)},
                returncode=1,
            )

    def _numbers(self, to, file, from_broadcast=None, outcome=None, lists=False):
        """The numbers of --to and --file (or --from-broadcast), parsed, and the file as read (zones, names);
        CommandError if none (and no --list)."""
        values = list(to)
        table = UploadedList()
        if from_broadcast is not None or outcome is not None:
            if lists:
                raise CommandError(_("Give either --list or --from-broadcast, not both."))
            table = self._from_broadcast(to, file, from_broadcast, outcome)
            values = table.values
        elif file:
            table = self._read_file(file)
            values += table.values
        if not values and not lists:
            raise CommandError(_("Give at least one number with --to or --file, or a contact list with --list."))
        try:
            return parse_numbers(values, limit=settings.EXOLVE_UPLOAD_MAX_ROWS), table
        except ListRefused as exc:
            raise CommandError(str(exc)) from exc

    def _from_broadcast(self, to, file, pk, outcome):
        if to or file:
            raise CommandError(_("Give either numbers (--to, --file) or --from-broadcast, not both."))
        if pk is None:
            raise CommandError(_("--outcome goes with --from-broadcast N: the broadcast whose people to call."))
        try:
            return recipients(pk, outcome)
        except NoRecipients as exc:
            raise CommandError(str(exc)) from exc

    def _from_lists(self, names, purpose):
        """Who of the named lists is called (calls/audience_recipients.py); who not is written with the reason."""
        try:
            found = list_recipients(lists_named(names), purpose)
        except ValueError as exc:  # TooManyRecipients is one too
            if isinstance(exc, TooManyRecipients):
                raise CommandError(_("The lists hold more than %(count)d contacts.") % {"count": exc.args[0]}) from exc
            raise CommandError(_("No contact list named %(names)s.") % {"names": exc}) from exc
        for item in found.sample:
            self.stderr.write(
                _("from the lists, not called: %(number)s %(name)s: %(reason)s")
                % {"number": item.number, "name": item.name, "reason": _(item.reason)}
            )
        if found.left_out:
            self.stderr.write(_("Of the lists, not called: %(who)s.") % {"who": left_out_words(found.counts)})
        return found

    def _report_skipped(self, parsed):
        for raw, reason in parsed.invalid:
            self.stderr.write(_("invalid, skipped: %(number)s: %(reason)s") % {"number": raw, "reason": reason})
        for number in parsed.duplicates:
            self.stderr.write(_("duplicate, called once: %(number)s") % {"number": number})
        if not parsed.valid:
            raise CommandError(_("No valid numbers to call."))

    def _report_queued(self, broadcast, parsed):
        queued = ngettext(
            "Broadcast %(pk)d: queued %(count)d call of “%(name)s” from %(source)s",
            "Broadcast %(pk)d: queued %(count)d calls of “%(name)s” from %(source)s",
            len(parsed.valid),
        ) % {
            "pk": broadcast.pk,
            "count": len(parsed.valid),
            "name": broadcast.voice_message_name,
            "source": broadcast.source,
        }
        skipped = _("skipped as invalid: %(invalid)d, as duplicates: %(duplicates)d.") % {
            "invalid": len(parsed.invalid),
            "duplicates": len(parsed.duplicates),
        }
        self.stdout.write(f"{queued}; {skipped}")
        if broadcast.start_at:
            self.stdout.write(
                _("Scheduled: starts at %(when)s.")
                % {"when": timezone.localtime(broadcast.start_at).isoformat(" ", "minutes")}
            )

    def _already_sent(self, token, voice_message, source, parsed, wait, timeout, poll) -> bool:
        """True (after saying so) when this key already made this broadcast; a different send under it is refused."""
        existing = Broadcast.objects.filter(token=token).first()
        if existing is None:
            return False
        same = (
            existing.voice_message_id == voice_message.pk
            and existing.source == source
            and set(existing.calls.values_list("destination", flat=True)) == set(parsed.valid)
        )
        if not same:
            raise CommandError(
                _(
                    "This idempotency key was already used for a different send (broadcast %(pk)d). "
                    "Nothing was sent; use a new key for a new send."
                )
                % {"pk": existing.pk}
            )
        self.stdout.write(
            _("Already sent with this idempotency key: broadcast %(pk)d. Nothing was sent again.") % {"pk": existing.pk}
        )
        if wait:
            self._wait(existing, timeout, poll)
        return True

    def _voice_message(self, value):
        value = value.strip()
        # ASCII digits only: "²".isdigit() is true, and int() of it fails.
        by_pk = re.fullmatch(r"[0-9]{1,18}", value) is not None
        query = Q(exolve_id=value)
        if by_pk:
            query |= Q(pk=int(value))
        if not value or not value.isprintable():
            found = []
        else:
            found = list(VoiceMessage.objects.filter(query)[:2])
        if not found:
            raise CommandError(_("No voice message with id or Exolve id “%(value)s”.") % {"value": value})
        if len(found) > 1:
            raise CommandError(
                _("“%(value)s” is the portal id of one voice message and the Exolve id of another; give the other id.")
                % {"value": value}
            )
        return found[0]

    def _read_file(self, path):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}) from exc
        try:
            return read_list(SimpleUploadedFile(Path(path).name, data))
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
        counts = outcome_counts(broadcast.calls.all())
        summary = ", ".join(f"{label}: {count}" for label, _outcome, count in labelled(counts) if count)
        self.stdout.write(_("Done: %(summary)s") % {"summary": summary})
