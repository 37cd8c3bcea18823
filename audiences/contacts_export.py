"""A contact list out to CSV or XLSX (exolve_portal.spreadsheets): number as people write it,
name, the other fields (a column each) and the consent per purpose.

Read CHUNK_SIZE contacts at a time; the other fields' columns come from a first pass
over the list (their keys only), the consents from one query per chunk.
"""

from __future__ import annotations

from itertools import islice

from django.utils.translation import gettext, pgettext

from exolve_portal import spreadsheets
from exolve_portal.spreadsheets import CHUNK_SIZE, export_filename

from .contact_models import Consent, ConsentKind, Contact
from .phones import display_number
from .purposes import SENDABLE_PURPOSES


def _contacts(contact_list):
    return Contact.objects.filter(memberships__contact_list=contact_list).order_by("number")


def _extra_keys(contact_list) -> list[str]:
    keys: dict[str, None] = {}
    for extra in _contacts(contact_list).values_list("extra", flat=True).iterator(chunk_size=CHUNK_SIZE):
        keys.update(dict.fromkeys(extra or {}))
    return list(keys)


def consent_text(kind: str, given_at, withdrawn_at) -> str:
    kinds = dict(ConsentKind.choices)
    if withdrawn_at:
        return gettext("withdrawn on %(date)s") % {"date": withdrawn_at.date().isoformat()}
    return f"{kinds.get(kind, kind)}, {given_at.isoformat()}"


def _consents(ids) -> dict[tuple[int, str], str]:
    """{(contact id, purpose): the consent in force, else the last withdrawn one, as text}."""
    found: dict[tuple[int, str], str] = {}
    rows = Consent.objects.filter(contact_id__in=ids).order_by("entered_at", "pk")
    for contact_id, purpose, kind, given_at, withdrawn_at in rows.values_list(
        "contact_id", "purpose", "kind", "given_at", "withdrawn_at"
    ):
        key = (contact_id, purpose)
        if key in found and not found[key][1] and withdrawn_at:
            continue  # one in force is not replaced by an older withdrawn one
        found[key] = (consent_text(kind, given_at, withdrawn_at), withdrawn_at)
    return {key: text for key, (text, _at) in found.items()}


def export_rows(contact_list, keys: list[str]):
    rows = _contacts(contact_list).values_list("pk", "number", "name", "extra").iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(rows, CHUNK_SIZE)):
        consents = _consents([pk for pk, *_rest in chunk])
        for pk, number, name, extra in chunk:
            yield (
                display_number(number, national=True),
                name,
                *[(extra or {}).get(key, "") for key in keys],
                *[consents.get((pk, purpose.value), "") for purpose in SENDABLE_PURPOSES],
            )


def export_response(file_format: str, contact_list):
    keys = _extra_keys(contact_list)
    headers = [
        gettext("number"),
        pgettext("person", "name"),
        *keys,
        *[gettext("consent: %(purpose)s") % {"purpose": purpose.label} for purpose in SENDABLE_PURPOSES],
    ]
    return spreadsheets.response(
        file_format,
        title=contact_list.name[:31],
        headers=headers,
        rows=export_rows(contact_list, keys),
        filename=export_filename(file_format, "contacts"),
    )
