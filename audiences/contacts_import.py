"""Importing contacts into a list: rows from a file or pasted text, merged by number.

Each row is normalised as the send page does (audiences.phones). A number not yet
known becomes a contact; a known one is updated when the row brings a new name, other
fields or zone, and is otherwise unchanged; either way it joins the list. A row that
cannot be used (no valid number, the number given again) is refused and listed with its
row number and the reason: nothing is dropped without a word, and the same file
imported twice changes nothing. An import may record the same consent for every row.

Rows are merged IMPORT_CHUNK at a time, each chunk in one transaction, in time linear in
the number of rows; the pages run more than CONTACTS_IN_REQUEST rows as a background job
(audiences.contact_jobs).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict, dataclass, field

from django.contrib.admin.models import CHANGE
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from . import stop_list
from .consent import audit
from .contact_models import Consent, Contact, Membership
from .phones import InvalidNumber, NotCallable, normalize, split_lines
from .stop_list_files import STOP_LIST_IN_REQUEST
from .upload_columns import MAX_DETAIL_COLUMNS, NAME_KEY
from .uploads import UploadError, read_list
from .zones import get_zone, zone_of_number

# As the stop list's import: more rows than this run in the background.
CONTACTS_IN_REQUEST = STOP_LIST_IN_REQUEST
# The bounded reader's row limit applies to files; pasted text has this one.
CONTACTS_MAX_PASTED = 100_000
IMPORT_CHUNK = 2_000
# Characters of names and other fields read from a file in all (200 a row for 100,000 rows):
# a workbook's shared strings can repeat a long cell in every row.
CONTACTS_DETAIL_CHARS = 20_000_000
# Refused rows listed on the report (all are counted).
REFUSED_KEPT = 1_000
_CHUNK = 900  # numbers per query (SQLite's limit on query parameters)
# "+7 999 123-45-67 Ivan Petrov", "79991234567;Ivan", "8 999 1234567<tab>Ivan"
_PASTED = re.compile(r"\s*(\+?[\d\s\-().]*\d)[\s,;]*(.*)", re.DOTALL)


@dataclass
class ImportRow:
    row: int  # the file's row, or the pasted line
    raw: str  # the phone as given
    name: str = ""
    extra: dict = field(default_factory=dict)
    zone: str = ""
    refusal: str = ""  # why the row cannot be read at all (a formula without a result)


@dataclass
class ConsentGiven:
    """The consent an import records for each of its rows."""

    purpose: str
    kind: str
    given_at: datetime.date
    source: str = ""
    reference: str = ""

    def as_params(self) -> dict:
        return {**asdict(self), "given_at": self.given_at.isoformat()}

    @classmethod
    def from_params(cls, params: dict | None) -> ConsentGiven | None:
        if not params:
            return None
        return cls(**{**params, "given_at": datetime.date.fromisoformat(params["given_at"])})


@dataclass
class MergeResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    joined: int = 0  # contacts put in the list (new to it)
    consents: int = 0  # consents recorded
    consents_stop_listed: int = 0  # rows whose number is on the stop list: no consent recorded
    refused_count: int = 0
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (row, as given, reason), the first ones

    def refuse(self, row: int, raw: str, reason: str) -> None:
        self.refused_count += 1
        if len(self.refused) < REFUSED_KEPT:
            self.refused.append((row, raw, reason))


def rows_from_file(uploaded) -> list[ImportRow]:
    """The rows of an uploaded CSV/XLSX through the bounded reader (raises UploadError).

    Names and other fields are kept up to CONTACTS_DETAIL_CHARS in all; a file holding more
    is refused whole, rather than imported with the names of its last rows missing.
    """
    table = read_list(uploaded, detail_limit=CONTACTS_DETAIL_CHARS)
    if table.details_cut:
        raise UploadError(
            gettext(
                "The file's other columns hold more text than an import keeps (%(limit)d characters). "
                "Delete the columns you do not need, or import the file in parts."
            )
            % {"limit": CONTACTS_DETAIL_CHARS}
        )
    rows = []
    for value, row in zip(table.values, table.rows, strict=True):
        if isinstance(value, NotCallable):
            rows.append(ImportRow(row, value.raw, refusal=value.reason))
            continue
        details = dict(table.details.get(value, {}))
        name = details.pop(NAME_KEY, "")
        rows.append(ImportRow(row, value, name=name, extra=details, zone=table.zones.get(value, "")))
    return rows


def rows_from_text(text: str) -> list[ImportRow]:
    """One contact a line: the number, then the name (raises LineTooLong, TooManyNumbers)."""
    rows = []
    for line_number, line in enumerate(split_lines(text, limit=CONTACTS_MAX_PASTED), 1):
        match = _PASTED.fullmatch(line)
        raw, name = (match.group(1).strip(), match.group(2).strip()) if match else (line, "")
        rows.append(ImportRow(line_number, raw, name=name[:200]))
    return rows


def merge(rows: list[ImportRow], contact_list, *, user=None, consent: ConsentGiven | None = None, progress=None):
    """Merge `rows` into `contact_list` by number; returns a MergeResult. See the module's docstring."""
    result = MergeResult()
    seen: dict[str, int] = {}  # number -> the row it was first given in
    for start in range(0, len(rows), IMPORT_CHUNK):
        with transaction.atomic():
            _merge_chunk(rows[start : start + IMPORT_CHUNK], contact_list, result, seen, user, consent)
        if progress is not None:
            progress(min(start + IMPORT_CHUNK, len(rows)), len(rows))
    return result


def _read_chunk(rows, result: MergeResult, seen: dict[str, int]) -> dict[str, ImportRow]:
    """{number: row} of the rows that read as a number given for the first time; others refused."""
    numbers: dict[str, ImportRow] = {}
    for item in rows:
        if item.refusal:
            result.refuse(item.row, item.raw, item.refusal)
            continue
        try:
            number = normalize(item.raw)
        except InvalidNumber as exc:
            result.refuse(item.row, item.raw, str(exc))
            continue
        if number in seen:
            result.refuse(
                item.row,
                item.raw,
                gettext("The same number as row %(row)d: that row was used.") % {"row": seen[number]},
            )
            continue
        seen[number] = item.row
        numbers[number] = item
    return numbers


def _merged(old: Contact, item: ImportRow) -> bool:
    """Apply the row's name, fields and zone to `old`; whether anything changed."""
    name = item.name or old.name
    extra = dict(old.extra)
    for key, value in item.extra.items():
        if key in extra or len(extra) < MAX_DETAIL_COLUMNS:
            extra[key] = value
    zone = _zone(item) or old.zone
    if (name, extra, zone) == (old.name, old.extra, old.zone):
        return False
    old.name, old.extra, old.zone = name, extra, zone
    return True


def _zone(item: ImportRow, number: str = "") -> str:
    if item.zone and get_zone(item.zone) is not None:
        return item.zone
    return zone_of_number(number) if number else ""


def _merge_chunk(rows, contact_list, result: MergeResult, seen, user, consent) -> None:
    numbers = _read_chunk(rows, result, seen)
    by = user if getattr(user, "pk", None) else None
    now = timezone.now()
    existing = _existing(list(numbers))
    changed = [c for number, c in existing.items() if _merged(c, numbers[number])]
    for contact in changed:
        contact.updated_by, contact.updated_at = by, now
    Contact.objects.bulk_update(changed, ["name", "extra", "zone", "updated_by", "updated_at"], batch_size=500)
    new = [
        Contact(
            number=number,
            name=item.name,
            extra=dict(list(item.extra.items())[:MAX_DETAIL_COLUMNS]),
            zone=_zone(item, number),
            created_by=by,
            updated_by=by,
        )
        for number, item in numbers.items()
        if number not in existing
    ]
    # A number another import created meanwhile is not an error: that contact is kept as it is (the
    # conflict "updates" its number to the same value) and its pk returned with the others, in the same
    # statement, instead of being read back number by number.
    Contact.objects.bulk_create(
        new, batch_size=500, update_conflicts=True, unique_fields=["number"], update_fields=["number"]
    )
    if any(contact.pk is None for contact in new):  # a database that returns no pks from an insert
        _read_pks(new)
    result.added += len(new)
    result.updated += len(changed)
    result.unchanged += len(existing) - len(changed)
    contacts = [*existing.values(), *new]
    joined, consents = result.joined, result.consents
    _join(contact_list, contacts, result, by)
    if consent is not None:
        _record_consents(contacts, consent, result, user)
    # One audit entry on the list per chunk, with its counts (each contact and consent also
    # names who created or changed it): an entry per row would double an import's writes.
    counts = {
        "added": len(new),
        "updated": len(changed),
        "joined": result.joined - joined,
        "consents": result.consents - consents,
    }
    if any(counts.values()):
        audit(user, [contact_list], CHANGE, [{"changed": {"fields": ["contacts"], "import": counts}}])


def _existing(numbers: list[str]) -> dict[str, Contact]:
    """{number: contact} of those of `numbers` that are contacts already.

    On PostgreSQL one query with the numbers as one array parameter: 900 parameters quoted one
    by one cost the client more than the lookup costs the server (bench/README.md, "Contacts
    import"). Elsewhere `IN` in chunks of _CHUNK (SQLite's limit on parameters).
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Contact._meta.db_table)
        rows = Contact.objects.extra(where=[f"{table}.number = ANY(%s)"], params=[numbers]).order_by()
        return {c.number: c for c in rows}
    existing = {}
    for start in range(0, len(numbers), _CHUNK):
        rows = Contact.objects.filter(number__in=numbers[start : start + _CHUNK]).order_by()
        existing.update({c.number: c for c in rows})
    return existing


def _read_pks(contacts: list[Contact]) -> None:
    numbers = [c.number for c in contacts]
    pks = {}
    for start in range(0, len(numbers), _CHUNK):
        pks.update(Contact.objects.filter(number__in=numbers[start : start + _CHUNK]).values_list("number", "pk"))
    for contact in contacts:
        contact.pk = pks[contact.number]


def _join(contact_list, contacts, result: MergeResult, by) -> None:
    ids = [c.pk for c in contacts]
    members = set()
    for start in range(0, len(ids), _CHUNK):
        members |= set(
            Membership.objects.filter(contact_list=contact_list, contact_id__in=ids[start : start + _CHUNK])
            .order_by()
            .values_list("contact_id", flat=True)
        )
    joining = [Membership(contact_list=contact_list, contact_id=pk, added_by=by) for pk in ids if pk not in members]
    Membership.objects.bulk_create(joining, batch_size=500, ignore_conflicts=True)
    result.joined += len(joining)


def _record_consents(contacts, consent: ConsentGiven, result: MergeResult, user) -> None:
    """The import's consent for each contact that has none in force for its purpose (not for stop-listed numbers)."""
    listed = set(stop_list.blocked(c.number for c in contacts))
    ids = [c.pk for c in contacts]
    in_force = set()
    for start in range(0, len(ids), _CHUNK):
        in_force |= set(
            Consent.objects.filter(
                contact_id__in=ids[start : start + _CHUNK], purpose=consent.purpose, withdrawn_at__isnull=True
            )
            .order_by()
            .values_list("contact_id", flat=True)
        )
    by = user if getattr(user, "pk", None) else None
    fields = asdict(consent)
    fields["source"], fields["reference"] = fields["source"][:200], fields["reference"][:500]
    new = [
        Consent(contact_id=c.pk, entered_by=by, **fields)
        for c in contacts
        if c.pk not in in_force and c.number not in listed
    ]
    result.consents_stop_listed += sum(1 for c in contacts if c.number in listed)
    Consent.objects.bulk_create(new, batch_size=500)
    result.consents += len(new)
