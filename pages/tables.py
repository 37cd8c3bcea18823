"""The calls table (django-tables2): sortable, paginated, no query per row."""

import django_tables2 as tables
from django.core.paginator import EmptyPage
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_tables2 import RequestConfig

from audiences.phones import display_number
from audiences.upload_columns import NAME_KEY
from calls.models import Call
from calls.outcomes import outcome_expression, outcome_label
from calls.sms_followups import sms_label, with_sms_outcome
from calls.statuses import status_html
from exolve_portal.pagination import EstimatingPaginator

# Every page of the table has this many rows, whatever the URL asks (`?per_page=` is ignored).
PER_PAGE = 50


def calls_queryset():
    """Calls with everything a row shows, in one query (large JSON columns left out)."""
    queryset = (
        Call.objects.select_related("voice_message", "broadcast", "requested_by")
        .defer("raw", "voice_message__raw", "broadcast__invalid_numbers", "broadcast__duplicate_numbers")
        .annotate(outcome=outcome_expression())
    )
    return with_sms_outcome(queryset)  # the person's follow-up SMS (issue 25), in the same query


def message_name(call) -> str:
    """The voice message's name; after it was deleted, the name the broadcast kept."""
    if call.voice_message is not None:
        return call.voice_message.name
    if call.broadcast is not None and call.broadcast.voice_message_name:
        return call.broadcast.voice_message_name
    return call.service_id


class CallTable(tables.Table):
    """The calls in a few columns; the call's own page (its number links there) has the rest.

    Few columns and short headers (context "column"), so the table fits a 1280 px screen.
    """

    queued_at = tables.DateTimeColumn(verbose_name=pgettext_lazy("column", "queued"), short=True)
    destination = tables.Column(
        verbose_name=pgettext_lazy("column", "number"),
        linkify=lambda record: reverse("admin:calls_call_change", args=[record.pk]),
        attrs={"td": {"class": "call-destination"}},
    )
    name = tables.Column(
        verbose_name=pgettext_lazy("column", "name"),
        accessor="details",
        orderable=False,
        default="",
        attrs={"td": {"class": "call-name"}},
    )
    message = tables.Column(
        verbose_name=pgettext_lazy("column", "message"),
        accessor="pk",
        order_by=("voice_message__name", "-queued_at"),
        attrs={"td": {"class": "call-message"}},
    )
    broadcast = tables.Column(
        verbose_name=pgettext_lazy("column", "broadcast"),
        accessor="broadcast_id",
        linkify=lambda record: reverse("portal:broadcast", args=[record.broadcast_id]) if record.broadcast_id else None,
        order_by=("broadcast_id", "pk"),
    )
    outcome = tables.Column(verbose_name=pgettext_lazy("column", "outcome"), order_by=("outcome", "-queued_at"))
    # For engineers: quiet and small beside the outcome, the one word staff read.
    status = tables.Column(
        verbose_name=pgettext_lazy("column", "Exolve status"), default="—", attrs={"td": {"class": "call-status"}}
    )
    duration = tables.Column(verbose_name=pgettext_lazy("column", "seconds"), attrs={"td": {"class": "number"}})
    error = tables.Column(
        verbose_name=pgettext_lazy("column", "error"), default="", attrs={"td": {"class": "call-error"}}
    )

    class Meta:
        model = Call
        fields = ()
        sequence = (
            *("queued_at", "destination", "name", "message", "broadcast"),
            *("outcome", "status", "duration", "error"),
        )
        template_name = "pages/table.html"
        attrs = {"id": "calls-table", "class": "calls-table"}
        row_attrs = {"id": lambda record: f"call-{record.pk}", "data-outcome": lambda record: record.outcome}
        order_by = ("-queued_at",)
        empty_text = _("No calls match.")

    def render_destination(self, value):
        return display_number(value)

    def render_name(self, value):
        """The person's name from the uploaded list; its other columns in a tooltip (the table stays narrow)."""
        if not isinstance(value, dict):
            return ""
        name = value.get(NAME_KEY, "")
        others = [f"{key}: {text}" for key, text in value.items() if key != NAME_KEY]
        if not others:
            return name
        return format_html('<span title="{}">{}</span>', Truncator("; ".join(others)).chars(300), name or "…")

    def render_message(self, record):
        return message_name(record)

    def render_broadcast(self, value, record):
        name = record.broadcast.name if record.broadcast is not None else ""
        return f"#{value} {name}" if name else f"#{value}"

    def render_outcome(self, value, record):
        """The call's outcome, and under it the person's follow-up SMS when there is one."""
        called = format_html('<span class="outcome outcome-{}">{}</span>', value, outcome_label(value))
        state = getattr(record, "sms_state", None)
        if not state:
            return called
        reason = getattr(record, "sms_reason", "") or ""
        label = sms_label(state)
        return format_html('{}<br><span class="sms sms-{}" title="{}">{}</span>', called, state, reason, label)

    def render_status(self, value):
        return status_html(value)

    def render_error(self, value):
        if not value:
            return ""
        return format_html('<span title="{}">{}</span>', value, Truncator(value).chars(60))

    def order_queued_at(self, queryset, is_descending):
        # The primary key breaks ties so pages never repeat or skip a row.
        order = ("-queued_at", "-pk") if is_descending else ("queued_at", "pk")
        return queryset.order_by(*order), True

    def order_duration(self, queryset, is_descending):
        field = F("duration").desc(nulls_last=True) if is_descending else F("duration").asc(nulls_last=True)
        return queryset.order_by(field, "-pk"), True


def configure(table: tables.Table, request) -> tables.Table:
    """Sort `table` as the URL asks and show the URL's page of PER_PAGE rows.

    Unlike django-tables2's own RequestConfig paging, the URL does not choose the page
    size: `?per_page=100000` would cost a page of 100,000 rows. A page number past the
    end shows the last page, one that is not a number the first.
    """
    RequestConfig(request, paginate=False).configure(table)
    text = request.GET.get(table.prefixed_page_field, "")
    page = int(text) if text.isascii() and text.isdigit() else 1
    try:
        table.paginate(paginator_class=EstimatingPaginator, per_page=PER_PAGE, page=max(page, 1))
    except EmptyPage:
        table.page = table.paginator.page(table.paginator.num_pages)
    return table


# Column titles start with a capital letter, as the admin's do (the titles stay lazy translations).
for _column in CallTable.base_columns.values():
    if _column.verbose_name:
        _column.verbose_name = capfirst(_column.verbose_name)
