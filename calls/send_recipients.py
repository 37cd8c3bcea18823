"""Who a send form's preview calls: pasted numbers, an uploaded file and contact lists, in one list.

`compute_preview` reads pasted text and a file; `ListsForm` adds the send form's "Contact
lists" field and merges the lists' contacts that will be called (calls/audience_recipients.py)
into the same preview, so the stop list, the limits, the zones, the draft and the recording
treat them as any number. A number both typed and in a chosen list is the list's contact
(its consent decides), the typed one counted as a duplicate. The draft keeps which numbers
came from which contact (`plan["contacts"]`) and the lists (`plan["audiences"]`).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audiences.contact_models import ContactList
from audiences.permissions import VIEW_LISTS_PERMISSION
from audiences.phones import ParsedNumbers, parse_numbers, split_lines
from audiences.uploads import UploadedList, by_number, numbers_zones, read_list

from .audience_recipients import NOT_CALLED, Recipients, TooManyRecipients, list_recipients

__all__ = ["TooManyRecipients", "list_recipients", "compute_preview", "merged", "lists_named", "ListsForm"]
from .models import Purpose

# At most this many lists in one send (the field's choices are the team's lists, a few dozen).
MAX_LISTS = 20
# Lists the send page offers (a team keeps a few dozen; the admin's action chooses among any).
LISTS_OFFERED = 500


def compute_preview(
    text: str = "",
    uploaded=None,
    zones: dict[str, str] | None = None,
    *,
    table: UploadedList | None = None,
    details: dict | None = None,
) -> ParsedNumbers:
    """Parse pasted text and an optional uploaded file (or the `table` already read from one) into one preview.

    `zones`, when given, gets {normalised valid number: zone} from the file's time-zone
    column, for the numbers whose zone the numbering plan does not tell; `details` gets
    {normalised valid number: {"name": ..., header: cell}} from the file's other columns.
    Raises UploadError (the file) or ListRefused (the whole list: too many numbers, a line too long).
    """
    values = split_lines(text, limit=settings.EXOLVE_UPLOAD_MAX_ROWS)
    if table is None and uploaded is not None:
        table = read_list(uploaded)
    if table is not None:
        values += table.values
    parsed = parse_numbers(values, limit=settings.EXOLVE_UPLOAD_MAX_ROWS)
    if table is not None and zones is not None and table.zones:
        zones.update(numbers_zones(table.zones, parsed.valid))
    if table is not None and details is not None and table.details:
        details.update(by_number(table.details, parsed.valid))
    return parsed


def lists_from_query(query) -> list[str]:
    """The lists a send page's address names (`?list=3&list=5`, from the admin's "Send to these lists…")."""
    return [value for value in query.getlist("list")[:MAX_LISTS] if value.isascii() and value.isdigit()]


def left_out_words(counts) -> str:
    """ "3 without consent for this purpose, 1 on the stop list", the refusals' words."""
    return ", ".join(left_out_lines(counts))


def left_out_lines(counts) -> list[str]:
    """Per reason a contact is not called, how many, in words (the preview's lines)."""
    words = {
        "invalid": lambda n: ngettext("%(n)d with an invalid number", "%(n)d with invalid numbers", n),
        "stop_list": lambda n: ngettext("%(n)d on the stop list", "%(n)d on the stop list", n),
        "withdrawn": lambda n: ngettext("%(n)d whose consent was withdrawn", "%(n)d whose consent was withdrawn", n),
        "no_consent": lambda n: ngettext(
            "%(n)d without consent for this purpose", "%(n)d without consent for this purpose", n
        ),
        "over_limit": lambda n: ngettext("%(n)d over the per-number limits", "%(n)d over the per-number limits", n),
    }
    return [words[why](counts[why]) % {"n": counts[why]} for why in NOT_CALLED if counts.get(why)]


def merged(parsed: ParsedNumbers, found: Recipients, details: dict | None, zones: dict | None) -> ParsedNumbers:
    """The typed numbers and the lists' contacts to call, as one preview: a typed number of a chosen list's
    contact is the contact (its consent decides), counted as a duplicate; `details` and `zones` follow."""
    in_lists = [n for n in parsed.valid if n in found.to_call or n in found.left_out]
    for number in in_lists:
        (details or {}).pop(number, None)
        (zones or {}).pop(number, None)
    if zones is not None:
        zones.update(found.zones)
    typed = [n for n in parsed.valid if n not in found.to_call and n not in found.left_out]
    return ParsedNumbers(
        valid=typed + list(found.to_call), invalid=parsed.invalid, duplicates=parsed.duplicates + in_lists
    )


def lists_named(names) -> list[ContactList]:
    """The contact lists of these exact names (the command's --list); ValueError naming those that do not exist."""
    names = list(dict.fromkeys(name.strip() for name in names))
    found = {item.name: item for item in ContactList.objects.filter(name__in=names)}
    unknown = [name for name in names if name not in found]
    if unknown:
        raise ValueError(", ".join(f"“{name[:200]}”" for name in unknown))
    return [found[name] for name in names]


class _ListsField(forms.ModelMultipleChoiceField):
    """At most MAX_LISTS lists, refused before any query (a crafted POST may carry thousands of values)."""

    def clean(self, value):
        if value and not isinstance(value, str) and len(value) > MAX_LISTS:
            raise forms.ValidationError(
                gettext("Choose at most %(count)d lists for one broadcast.") % {"count": MAX_LISTS}, code="too_many"
            )
        return super().clean(value)


class ListsForm(forms.Form):
    """The send form's contact lists (for those who may see lists) and their merge into the preview."""

    contact_lists = _ListsField(
        label=_("Contact lists"),
        required=False,
        queryset=ContactList.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text=_(
            "Or, with the numbers above, one or several saved lists. Only contacts with a consent in force for "
            "the purpose are called; the preview says who is not, and why."
        ),
        error_messages={
            "invalid_choice": _("A chosen list no longer exists (it may have been deleted); choose again."),
            "invalid_pk_value": _("A chosen list no longer exists (it may have been deleted); choose again."),
        },
    )

    audience: Recipients | None = None  # what the chosen lists give, once previewed
    list_names: dict | None = None  # {number: name} of the first contacts to call, for the preview
    kept_contacts: dict | None = None  # {number: contact id} of a previous broadcast's people from lists
    save_list_form = None  # the preview's "Save these numbers as a new list" (calls/save_as_list.py)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not getattr(self, "user", None) or not self.user.has_perm(VIEW_LISTS_PERMISSION):
            self.fields.pop("contact_lists", None)
        else:
            field = self.fields["contact_lists"]
            field.queryset = ContactList.objects.order_by("name")  # what may be chosen: any list
            # What the page offers: the first LISTS_OFFERED by name, and those already chosen.
            if self.is_bound and hasattr(self.data, "getlist"):
                chosen = self.data.getlist(self.add_prefix("contact_lists"))
            else:
                chosen = self.initial.get("contact_lists") or []
            chosen = [int(pk) for pk in chosen[:MAX_LISTS] if str(pk).isascii() and str(pk).isdigit()]
            offered = field.queryset.filter(pk__in=chosen) | field.queryset.filter(
                pk__in=field.queryset.values("pk")[:LISTS_OFFERED]
            )
            field.widget.choices = list(offered.values_list("pk", "name"))

    @property
    def lists_chosen(self) -> bool:
        return bool(getattr(self, "cleaned_data", {}).get("contact_lists"))

    def add_list_recipients(self, cleaned, preview: ParsedNumbers) -> ParsedNumbers:
        """`preview` with the chosen lists' contacts to call added (typed numbers of theirs become duplicates)."""
        if not cleaned.get("contact_lists"):
            return preview
        plan = self.plan
        purpose = plan.purpose if plan is not None else (cleaned.get("purpose") or Purpose.INFORMATION)
        try:
            found = list_recipients(cleaned["contact_lists"], purpose)
        except TooManyRecipients as exc:
            self.add_error(
                "contact_lists",
                gettext("The chosen lists hold more than %(count)d contacts; send to fewer lists at a time.")
                % {"count": exc.args[0]},
            )
            return preview
        self.audience, self.list_names = found, dict(found.names)
        return merged(preview, found, self.details, self.file_zones)

    @property
    def left_out_lines(self) -> list[str]:
        return left_out_lines(self.audience.counts) if self.audience else []

    @property
    def left_out_total(self) -> int:
        return len(self.audience.left_out) if self.audience else 0

    def nobody_in_lists(self) -> str:
        """Why nobody can be called, in words, when the lists were chosen and gave nobody."""
        counts = self.audience.counts if self.audience else {}
        return gettext("Nobody in the chosen lists can be called: %(who)s.") % {
            "who": left_out_words(counts) or gettext("the lists are empty")
        }

    def list_draft(self) -> dict:
        """What the draft keeps of the lists, in its plan: {"contacts": {number: id}, "audiences": {...}}.

        `kept_contacts`: people of a previous broadcast who came from a list keep their contact
        (calls/from_broadcast.py), so they too are called only with its consent."""
        contacts = dict(self.kept_contacts or {})
        if self.audience is None:
            return {"contacts": contacts} if contacts else {}
        return {"contacts": {**contacts, **self.audience.to_call}, "audiences": self.audience.record()}
