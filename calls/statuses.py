"""Exolve's call statuses in the staff's words.

Exolve documents only `completed`; the others are what public client code and the
sandbox have seen (docs/exolve-api.md). The list is open: a status not
named here is shown as Exolve sent it, never hidden or guessed at.
"""

from django.utils.html import format_html
from django.utils.translation import pgettext_lazy

STATUS_LABELS = {
    "initiated": pgettext_lazy("Exolve call status", "dialling"),
    "ringing": pgettext_lazy("Exolve call status", "ringing"),
    "answered": pgettext_lazy("Exolve call status", "answered"),
    "talk": pgettext_lazy("Exolve call status", "talking"),
    "play_audio_stop": pgettext_lazy("Exolve call status", "message played"),
    "modified": pgettext_lazy("Exolve call status", "modified"),
    "completed": pgettext_lazy("Exolve call status", "completed"),
    "no_answer": pgettext_lazy("Exolve call status", "no answer"),
    "busy": pgettext_lazy("Exolve call status", "busy"),
    "canceled": pgettext_lazy("Exolve call status", "canceled"),
    "rejected": pgettext_lazy("Exolve call status", "rejected"),
    "failed": pgettext_lazy("Exolve call status", "failed"),
}
NO_STATUS = "—"


def status_label(raw: str | None) -> str:
    """The staff's word for Exolve status `raw`; an unknown one (or none) as it is."""
    if not raw:
        return raw or ""
    label = STATUS_LABELS.get(raw)
    return str(label) if label is not None else raw


def status_html(raw: str | None) -> str:
    """The label for a page; Exolve's own string stays for engineers, in a tooltip.

    `data-exolve-status` marks the tooltip as a raw code (the Russian-page test skips it).
    """
    if not raw:
        return NO_STATUS
    if raw not in STATUS_LABELS:
        return format_html('<code class="exolve-status">{}</code>', raw)
    return format_html(
        '<span class="exolve-status" title="{}" data-exolve-status="{}">{}</span>', raw, raw, status_label(raw)
    )
