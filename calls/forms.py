"""The send form (voice message, source, numbers pasted or uploaded) and its confirmation.

Two steps, usable by the admin page and by a standalone send page alike:
1. `SendForm` reads what staff typed or uploaded and computes a preview
   (`form.preview`: valid, invalid and duplicate numbers); `form.save_draft(user)`
   stores that checked list as a `SendDraft` under the form's token. Nothing is sent.
2. `ConfirmSendForm` posts the token (and the chosen message and source); it loads
   the draft and `form.save()` records the broadcast from it (once per token).
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.phones import ListRefused, ParsedNumbers, pasted_text_limit, pasted_text_too_long_message, split_lines
from audiences.sources import SOURCE_NOT_ENABLED, source_choices
from audiences.stop_list import blocked
from audiences.upload_columns import NAME_KEY
from audiences.uploads import NoPhoneColumn, UploadedList, UploadError, read_list
from voicemessages.models import VoiceMessage

from . import kept_uploads
from .limits import over_limits
from .models import Broadcast, KeptUpload, Purpose, SendDraft, basis_label
from .plan_form import PLAN_FIELDS, PlanForm, SendPlan
from .planning import delayed_start, zone_starts
from .recording import SendRefused, create_broadcast, new_token
from .send_recipients import ListsForm, compute_preview  # noqa: F401  (compute_preview: imported from here)

# A preview may be confirmed this long; older drafts are deleted when a new one is stored.
DRAFT_MAX_AGE = timedelta(days=1)


def sendable_voice_messages():
    """Voice messages that exist at Exolve as far as the portal knows."""
    return VoiceMessage.objects.filter(missing_since__isnull=True).order_by("name", "pk")


class _VoiceMessageAndSource(forms.Form):
    voice_message = forms.ModelChoiceField(
        label=_("Voice message"),
        queryset=VoiceMessage.objects.none(),
        error_messages={
            "invalid_choice": _("This voice message cannot be sent: it was deleted, or it no longer exists at Exolve.")
        },
    )
    source = forms.ChoiceField(
        label=_("Source number"),
        help_text=_("The team's number the call comes from, with the label the person called sees."),
        error_messages={"invalid_choice": SOURCE_NOT_ENABLED},
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)  # the column's length

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voice_message"].queryset = sendable_voice_messages()
        self.fields["source"].choices = source_choices()
        if not self.is_bound and not self.initial.get("token"):
            self.initial["token"] = new_token()


class SendForm(_VoiceMessageAndSource, ListsForm, PlanForm):
    """Step 1: what to send, from which number, to whom (numbers, a file, contact lists: calls/send_recipients.py),
    and the plan (calls/plan_form.py)."""

    numbers = forms.CharField(
        label=_("Numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "cols": 40, "placeholder": "+7 (999) 123-45-67"}),
        help_text=_("One number per line, in any usual form: +7 (999) 123-45-67, 8 999 1234567, 79991234567."),
    )
    name = forms.CharField(
        label=_("Name of the broadcast"),
        required=False,
        max_length=200,
        help_text=_("Optional: how you will find it later, e.g. “Reminder of 5 December”."),
    )
    file = forms.FileField(
        label=_("Or a file"),
        required=False,
        help_text=_(
            "CSV or XLSX with a column named phone (or телефон, моб. телефон, номер), or a single column; "
            "a title above the header is skipped. Names and other columns are kept with each call. "
            "An optional column “time zone” (часовой пояс), e.g. Asia/Vladivostok, gives the zone of "
            "numbers that do not tell it."
        ),
    )
    phone_column = forms.CharField(
        label=_("Column of phone numbers"),
        required=False,
        max_length=100,
        widget=forms.Select,
        help_text=_("Choose the column that holds the numbers when the file's own name for it is not recognised."),
    )
    forget_file = forms.BooleanField(
        label=_("Do not use the file uploaded before"),
        required=False,
        help_text=_("Tick to check only the numbers typed above."),
    )

    preview: ParsedNumbers | None = None
    # {number: zone} from the uploaded file's time-zone column (numbers whose zone the number does not tell).
    file_zones: dict | None = None
    zone_starts: list | None = None
    # The local time the first calls start when none may ring at once (the confirm button says it).
    delayed_start: str = ""
    # Of the preview's valid numbers: on the stop list, and over the per-number limits (number -> reason).
    stop_listed: list | None = None
    over_limit: dict | None = None
    # {number: {"name": ..., header: cell}} from the file's other columns.
    details: dict | None = None
    # Which column and rows of the file were read (audiences.upload_columns.ColumnsRead), and
    # the name of the file uploaded before and used again ("preview again" without choosing it).
    columns_read = None
    kept_file_name: str = ""  # the file "preview again" reads when no other is chosen
    file_reused: bool = False  # this preview read the file kept from an earlier one

    field_order = [
        *("voice_message", "source", "name", "token", "numbers", "file", "phone_column", "forget_file"),
        "contact_lists",
        *PLAN_FIELDS,
    ]

    def clean_numbers(self):
        """The pasted text, refused whole (before any parsing) when too long, or when a line is."""
        text = self.cleaned_data.get("numbers") or ""
        max_numbers = settings.EXOLVE_UPLOAD_MAX_ROWS
        if len(text) > pasted_text_limit(max_numbers):
            raise forms.ValidationError(pasted_text_too_long_message(len(text), max_numbers), code="too_long")
        try:
            split_lines(text, limit=max_numbers)
        except ListRefused as exc:
            raise forms.ValidationError(str(exc), code="too_long") from exc
        return text

    @property
    def purpose_label(self) -> str:
        return Purpose(self.plan.purpose).label if self.plan else ""

    @property
    def basis_label(self) -> str:
        return basis_label(self.plan.basis) if self.plan else ""

    @property
    def over_limit_shown(self) -> list:
        """The first 500 numbers over a limit, with the reason (untranslated), for the preview."""
        return list((self.over_limit or {}).items())[:500]

    @property
    def to_call(self) -> list[str]:
        """The preview's valid numbers that will be called: not on the stop list nor over a limit."""
        if self.preview is None:
            return []
        left_out = set(self.stop_listed or ()) | set(self.over_limit or {})
        return [number for number in self.preview.valid if number not in left_out]

    @property
    def calls_to_make(self) -> int:
        return len(self.to_call)

    @property
    def to_call_shown(self) -> list[tuple[str, str]]:
        """The first 1000 numbers to call, each with the person's name from the file ("" without one)."""
        details, names = self.details or {}, self.list_names or {}
        return [(n, details.get(n, {}).get(NAME_KEY, "") or names.get(n, "")) for n in self.to_call[:1000]]

    def clean(self):
        cleaned = super().clean()  # the plan: PlanForm.clean
        if "numbers" in self.errors:
            return cleaned  # the pasted text is refused whole: nothing to preview
        text = cleaned.get("numbers") or ""
        self.file_zones, self.details = {}, {}
        try:
            table = self._file_table(cleaned)
        except NoPhoneColumn as exc:
            self._offer_columns(exc.headers, cleaned.get("phone_column") or "")
            self.add_error("file", " ".join([str(exc), gettext("Or choose the column of phone numbers below.")]))
            return cleaned
        except UploadError as exc:
            self.add_error("file", str(exc))
            return cleaned
        if table is not None and cleaned.get("phone_column"):
            self._offer_columns(table.read.headers, cleaned["phone_column"])
        if not text.strip() and table is None and not self.lists_chosen:
            words = gettext("Paste at least one number, upload a file or choose a contact list.")
            raise forms.ValidationError(words, code="empty")
        field = "file" if table is not None else "numbers"
        self.columns_read = table.read if table is not None else None
        try:
            self.preview = compute_preview(text, zones=self.file_zones, table=table, details=self.details)
        except UploadError as exc:
            self.add_error("file", str(exc))
            return cleaned
        except ListRefused as exc:
            self.add_error(field, str(exc))
            return cleaned
        self.preview = self.add_list_recipients(cleaned, self.preview)
        if not self.preview.valid and self.lists_chosen and "contact_lists" not in self.errors:
            raise forms.ValidationError(self.nobody_in_lists(), code="no_valid")
        if not self.preview.valid:
            raise forms.ValidationError(
                " ".join([gettext("None of the numbers can be called."), *self._where_read()]), code="no_valid"
            )
        # Chunked indexed queries: fast for the longest list an upload may hold.
        stopped = blocked(self.preview.valid)
        self.stop_listed = [number for number in self.preview.valid if number in stopped]
        callable_numbers = [number for number in self.preview.valid if number not in stopped]
        plan = self.plan
        debt = plan is not None and plan.purpose == Purpose.DEBT_REMINDER  # the law's counts too
        self.over_limit = over_limits(callable_numbers, debt=debt)
        if plan is not None:
            to_call = [number for number in callable_numbers if number not in self.over_limit]
            self.zone_starts = zone_starts(to_call, plan, self.file_zones)
            self.delayed_start = delayed_start(self.zone_starts)
        return cleaned

    def _where_read(self) -> list[str]:
        """Which column and rows of the file were read, in words (for a refusal)."""
        read = self.columns_read
        if read is None or not read.first_row:
            return []
        where = {"header": read.header or read.letter, "letter": read.letter}
        where.update(first=read.first_row, last=read.last_row, headers=", ".join(read.headers[:20]))
        words = [gettext("Numbers were read from column “%(header)s” (%(letter)s), rows %(first)d–%(last)d.") % where]
        if len(read.headers) > 1:
            words.append(gettext("The columns found: %(headers)s.") % where)
        return words

    def _offer_columns(self, headers: list[str], chosen: str) -> None:
        """Let the person choose the phone column among the file's headers (shown only then)."""
        choices = [("", gettext("Found by its name")), *((header, header) for header in headers)]
        if chosen and chosen not in headers:
            choices.append((chosen, chosen))
        self.fields["phone_column"].widget.choices = choices

    def _file_table(self, cleaned) -> UploadedList | None:
        """The file uploaded now (kept for the next preview), or else the one kept under this form's token."""
        uploaded = cleaned.get("file")
        token = cleaned.get("token") or ""
        column = cleaned.get("phone_column") or ""
        if uploaded is not None:
            data = uploaded.read(settings.EXOLVE_UPLOAD_MAX_BYTES + 1)
            try:
                table = read_list(uploaded, data, column)  # refuses a file over the limit before it is kept
            except NoPhoneColumn:  # kept all the same: its column may be chosen
                self.kept_file_name = kept_uploads.keep(token, self.user, uploaded.name, data)
                raise
            self.kept_file_name = kept_uploads.keep(token, self.user, uploaded.name, data)
            return table
        if cleaned.get("forget_file") or not getattr(self.user, "pk", None) or not token:
            return None
        kept = kept_uploads.kept(token, self.user, max_age=DRAFT_MAX_AGE)
        if kept is None:
            return None
        self.kept_file_name, self.file_reused = kept.name, True
        return read_list(kept, bytes(kept.data), column)

    def save_draft(self, user) -> SendDraft:
        """Store the checked list under the form's token (a fresh token if that one is taken).

        The same list previewed again keeps its token, so confirming it twice still makes
        one broadcast; a changed list under a token that already made a broadcast, or a
        token of someone else's draft, gets a new token (and so a new broadcast).
        """
        content = {
            "voice_message": self.cleaned_data["voice_message"],
            "source": self.cleaned_data["source"],
            "numbers": list(self.preview.valid),
            "invalid": [list(item) for item in self.preview.invalid],
            "duplicates": list(self.preview.duplicates),
            "plan": self.plan.to_json(),
            "details": dict(self.details or {}),
        }
        if self.file_zones:
            # Callees' zones from the file's time-zone column travel with the plan.
            content["plan"]["zones"] = dict(self.file_zones)
        content["plan"].update(self.list_draft())  # which numbers are contacts of which lists
        if self.cleaned_data.get("name", "").strip():
            content["plan"]["name"] = self.cleaned_data["name"].strip()  # not part of the plan: it travels with it
        token = self.cleaned_data["token"]
        now = timezone.now()
        with transaction.atomic():
            SendDraft.objects.filter(created_at__lt=now - DRAFT_MAX_AGE).delete()
            KeptUpload.objects.filter(created_at__lt=now - DRAFT_MAX_AGE).delete()
            draft = SendDraft.objects.filter(token=token).first()
            own = draft is not None and draft.created_by_id == user.pk
            if own and _holds(draft, content):
                draft.created_at = now
                draft.save(update_fields=["created_at"])
                return self._drafted(draft)
            if own and not Broadcast.objects.filter(token=token).exists():
                for name, value in content.items():
                    setattr(draft, name, value)
                draft.created_at = now
                draft.save()
                return self._drafted(draft)
            if draft is not None or Broadcast.objects.filter(token=token).exists():
                token = new_token()
            try:
                with transaction.atomic():
                    draft = SendDraft.objects.create(token=token, created_by=user, created_at=now, **content)
            except IntegrityError:  # the same token previewed at the same moment elsewhere
                draft = SendDraft.objects.create(token=new_token(), created_by=user, created_at=now, **content)
        return self._drafted(draft)

    def _drafted(self, draft):
        # "Change the list" below the preview carries the draft's token from now on (and the file with it).
        if self.data.get("token") != draft.token:
            KeptUpload.objects.filter(token=self.data.get("token") or "", created_by=draft.created_by_id).update(
                token=draft.token
            )
            self.data = self.data.copy()
            self.data["token"] = draft.token
        return draft

    def confirm_form(self, draft: SendDraft):
        """The confirmation step for this preview: the draft's token and the chosen message and source."""
        return ConfirmSendForm(
            initial={"voice_message": draft.voice_message_id, "source": draft.source, "token": draft.token}
        )


def _holds(draft: SendDraft, content: dict) -> bool:
    """Whether `draft` is exactly this checked list."""
    return (
        draft.voice_message_id == content["voice_message"].pk
        and draft.source == content["source"]
        and draft.numbers == content["numbers"]
        and draft.invalid == content["invalid"]
        and draft.duplicates == content["duplicates"]
        and draft.plan == content["plan"]
        and draft.details == content["details"]
    )


class ConfirmSendForm(_VoiceMessageAndSource):
    """Step 2: the token of a stored draft; what is sent comes from the draft alone."""

    draft: SendDraft | None = None

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name in ("voice_message", "source"):
            self.fields[name].widget = forms.HiddenInput()

    def clean(self):
        cleaned = super().clean()
        token = cleaned.get("token")
        if token and self.user is not None:
            self.draft = (
                SendDraft.objects.select_related("voice_message")
                .filter(token=token, created_by=self.user, created_at__gte=timezone.now() - DRAFT_MAX_AGE)
                .first()
            )
        if self.draft is None:
            raise forms.ValidationError(
                gettext(
                    "This preview is no longer available (it is more than a day old, or not yours). Preview again."
                ),
                code="no_draft",
            )
        chosen = cleaned.get("voice_message")
        if (chosen is not None and chosen.pk != self.draft.voice_message_id) or (
            cleaned.get("source") and cleaned["source"] != self.draft.source
        ):
            raise forms.ValidationError(
                gettext("The voice message or the source number was changed after the preview. Preview again."),
                code="changed",
            )
        start = SendPlan.from_json(self.draft.plan).start_at
        already = Broadcast.objects.filter(token=self.draft.token).exists()
        if start is not None and start <= timezone.now() and not already:
            raise forms.ValidationError(
                gettext("The start time of this preview has passed. Choose another time and preview again."),
                code="past",
            )
        return cleaned

    def save(self):
        """Record the broadcast from the draft (or return the one this draft already made)."""
        draft = self.draft
        existing = Broadcast.objects.filter(token=draft.token).first()
        if existing is not None and not _made_from(existing, draft):
            self.add_error(
                None, gettext("This form was already used to send a different list. Preview the list again.")
            )
            return None
        try:
            return create_broadcast(
                draft.voice_message,
                draft.source,
                draft.numbers,
                self.user,
                draft.token,
                invalid_numbers=draft.invalid,
                duplicate_numbers=draft.duplicates,
                plan=SendPlan.from_json(draft.plan),
                zones=(draft.plan or {}).get("zones") or None,
                name=(draft.plan or {}).get("name", ""),
                details=draft.details or None,
                contacts=(draft.plan or {}).get("contacts") or None,
                audiences=(draft.plan or {}).get("audiences") or None,
            )
        except SendRefused as exc:
            self.add_error(None, str(exc))
            return None


def _made_from(broadcast: Broadcast, draft: SendDraft) -> bool:
    """Whether `broadcast` is what confirming `draft` records (so a repeated confirm may return it)."""
    return (
        broadcast.created_by_id == draft.created_by_id
        and broadcast.voice_message_id == draft.voice_message_id
        and broadcast.source == draft.source
        and [list(item) for item in broadcast.invalid_numbers] == draft.invalid
        and list(broadcast.duplicate_numbers) == draft.duplicates
        and set(broadcast.calls.values_list("destination", flat=True)) == set(draft.numbers)
    )
