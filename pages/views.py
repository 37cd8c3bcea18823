"""The staff pages next to the admin: dashboard, send page, broadcast progress, calls table and export.

Every view goes through `staff_page(...)`: the admin's own login check (anonymous and
non-staff users are sent to the login page) plus the listed permissions (a logged-in
staff member without them gets the 403 page). Each page runs a fixed number of SQL
queries whatever the number of calls.
"""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, gettext, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from audiences.sources import source_label, with_source_label
from calls import from_broadcast, planning, previous_people, send_flow, steering
from calls.jobs import REFRESH, REFRESH_JOB_LIMIT
from calls.lifecycle import BroadcastState, TransitionRefused
from calls.models import Broadcast, Call, CallState
from calls.outcomes import status_of
from calls.permissions import REFRESH_PERMISSION, SEND_PERMISSION, VIEW_BROADCASTS_PERMISSION, VIEW_CALLS_PERMISSION
from calls.recording import SendRefused, resend_calls
from calls.resend_plan import origin_of, resend_plan
from calls.return_to import RETURN_PARAMETER, return_link
from calls.statistics import refresh_calls
from calls.tasks import resume_stalled_sending, schedule_refresh
from exolve_portal import spreadsheets
from exolve_portal.exolve import sandbox_account
from jobs.models import Job, JobState
from jobs.tasks import start_job
from jobs.views import job_url

from . import dashboard as stats
from .exports import export_filename, export_response, saved_export
from .filters import CallFilterForm
from .jobs import EXPORT, export_key
from .tables import CallTable, calls_queryset
from .tables import configure as configure_table

# The broadcast page reloads itself this often (seconds) while calls are pending.
AUTO_REFRESH_SECONDS = 5
# "Refresh statistics now" asks Exolve in the request about at most EXOLVE_REFRESH_IN_REQUEST
# calls; more (up to REFRESH_JOB_LIMIT) are refreshed by a background job.


def staff_page(*permissions):
    """Logged-in active staff (the admin's check) with every one of `permissions`, else 403."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorator


def page_context(request, title, **extra) -> dict:
    """The admin's context (sidebar, user links) plus the page's own."""
    return {**admin.site.each_context(request), "title": title, **extra}


# --- Dashboard ------------------------------------------------------------------


@staff_page(VIEW_CALLS_PERMISSION, VIEW_BROADCASTS_PERMISSION)
def dashboard(request):
    totals = stats.day_totals()
    periods = stats.period_stats(totals=totals)
    context = page_context(
        request,
        gettext("Dashboard"),
        periods=periods,
        today=periods[0],
        week=periods[1],
        month=periods[2],
        chart=stats.build_chart(stats.daily_counts(totals=totals)),
        outcome_rows=stats.outcome_rows(periods),
        broadcasts=stats.latest_broadcasts(),
        scheduled=planning.scheduled_broadcasts(),
        active_tab="dashboard",
    )
    return TemplateResponse(request, "pages/dashboard.html", context)


# --- Send -----------------------------------------------------------------------


@staff_page(SEND_PERMISSION)
def send(request):
    """Step 1: what to send, from which number, to whom -> preview. Step 2: confirm -> broadcast.

    The one send page: the voice messages' "Send…" action (calls.admin_send) and the old
    admin URL lead here with the message preselected (``?voice_message=``) and, from the
    action, the change list to go back to (``?return=``, kept through both steps). The
    form's token makes a double-submitted confirmation one broadcast.
    """
    selection = from_broadcast.selection_from(request.GET)  # None, or people of a previous broadcast
    if selection is not None and not request.user.has_perms((VIEW_BROADCASTS_PERMISSION, VIEW_CALLS_PERMISSION)):
        raise PermissionDenied
    initial = {k: request.GET[k] for k in ("voice_message", "source") if request.GET.get(k)}
    step = send_flow.handle(request, initial=initial, selection=selection)
    if step.broadcast is not None:
        return redirect("portal:broadcast", pk=step.broadcast.pk)
    form, preview, confirm = step.form, step.preview, step.confirm
    back = return_link(request.GET.get(RETURN_PARAMETER))
    voice_message_count = form.fields["voice_message"].queryset.count()
    context = page_context(
        request,
        gettext("Send a voice message"),
        form=form,
        preview=preview,
        confirm=confirm,
        chosen_message=form.cleaned_data["voice_message"] if preview else None,
        chosen_source=dict(form.fields["source"].choices).get(form.cleaned_data["source"]) if preview else None,
        voice_message_count=voice_message_count,
        source_count=len(form.fields["source"].choices),
        sandbox_hints=_sandbox_hints(),
        return_link=back,
        # The forms post back here with the way back, so it survives the preview.
        send_url=from_broadcast.send_url(reverse("portal:send"), back.as_query() if back else "", selection),
        from_selection=selection,
        active_tab="send",
    )
    return TemplateResponse(request, "pages/send.html", context)


def _sandbox_hints() -> dict | None:
    """What the sandbox accepts, shown next to the fields in sandbox mode (None otherwise)."""
    if not settings.EXOLVE_SANDBOX:
        return None
    return {
        "source_numbers": sandbox_account.SANDBOX_SOURCE_NUMBERS,
        "media_ids": sandbox_account.DEFAULT_MEDIA_IDS,
        "outcome_digits": sorted(sandbox_account.FINAL_STATUS_BY_LAST_DIGIT.items()),
    }


# --- Broadcast ------------------------------------------------------------------


@staff_page(VIEW_BROADCASTS_PERMISSION, VIEW_CALLS_PERMISSION)
def broadcast_detail(request, pk):
    broadcast = get_object_or_404(
        with_source_label(Broadcast.objects.select_related("created_by", "voice_message").defer("voice_message__raw")),
        pk=pk,
    )
    counts = stats.broadcast_counts(broadcast)
    table = CallTable(calls_queryset().filter(broadcast=broadcast), exclude=("broadcast", "message"))
    configure_table(table, request)
    skipped = [(raw, reason) for raw, reason in broadcast.invalid_numbers]
    lifecycle = lifecycle_context(request, broadcast, counts)
    may_resend = lifecycle["status"].allows("resend") and request.user.has_perm(SEND_PERMISSION)
    context = page_context(
        request,
        gettext("Broadcast #%(pk)s") % {"pk": broadcast.pk},
        broadcast=broadcast,
        source_label=source_label(broadcast),  # the operator's, as recorded now
        counts=counts,
        **lifecycle,
        table=table,
        skipped_invalid=skipped,
        auto_refresh=AUTO_REFRESH_SECONDS if counts["pending"] else None,
        export_query=urlencode({"broadcast": broadcast.pk}),
        can_refresh=request.user.has_perm(REFRESH_PERMISSION),
        attempts=stats.attempt_outcomes(broadcast),
        repeats=origin_of(broadcast),
        resendable_count=(
            stats.resend_no_answer_busy(broadcast).count()
            if may_resend and steering.may_steer(request.user, broadcast)
            else 0
        ),
        # "New broadcast to these people": as many people per outcome (for those who may send).
        from_choices=previous_people.counted_choices(broadcast) if request.user.has_perm(SEND_PERMISSION) else None,
        active_tab="calls",
    )
    return TemplateResponse(request, "pages/broadcast.html", context)


@staff_page(VIEW_BROADCASTS_PERMISSION, SEND_PERMISSION)
@require_http_methods(["GET", "POST"])
def broadcast_resend(request, pk):
    """Send again the calls that got no answer or were busy: the first POST asks (with the count), the second does it.

    Opened by GET (a reload of the confirmation, a bookmark) it asks again: only the
    confirming POST sends.

    Each call is resent at most once (`recording.resend_calls`), however often this is submitted.
    Who may: as for stop, pause and move, the sender and Managers (`steering.may_steer`).
    """
    broadcast = get_object_or_404(Broadcast, pk=pk)  # its plan too: the resend rings with it
    if not steering.may_steer(request.user, broadcast):
        raise PermissionDenied
    shown = status_of(broadcast)
    if not shown.allows("resend"):
        messages.info(request, str(steering.refusal(shown.state, "resend")))
        return redirect("portal:broadcast", pk=broadcast.pk)
    candidates = stats.resend_no_answer_busy(broadcast)
    if request.method != "POST" or request.POST.get("confirmed") != "yes":
        count = candidates.count()
        context = page_context(
            request,
            gettext("Send again the ones who did not answer or were busy?"),
            broadcast=broadcast,
            count=count,
            resend=resend_plan(broadcast, request.user, count),
            active_tab="calls",
        )
        return TemplateResponse(request, "pages/resend_confirm.html", context)
    try:
        done = resend_calls(list(candidates.select_related("voice_message")), request.user)
    except SendRefused as exc:
        messages.error(request, str(exc))
        return redirect("portal:broadcast", pk=broadcast.pk)
    if not done.broadcasts:
        messages.info(request, gettext("Nothing to send again: these calls were already sent again, or none is left."))
        return redirect("portal:broadcast", pk=broadcast.pk)
    messages.success(
        request,
        ngettext(
            "Queued %(count)d call again. It is being sent in the background.",
            "Queued %(count)d calls again. They are being sent in the background.",
            done.queued,
        )
        % {"count": done.queued},
    )
    return redirect("portal:broadcast", pk=done.broadcasts[0].pk)


def lifecycle_context(request, broadcast, counts) -> dict:
    """The broadcast's state in the staff's words (calls/lifecycle.py `status`), and which buttons to show."""
    states = {state: count for _label, state, count in counts["states"]}
    counts = {**counts, "canceled": states.get(CallState.CANCELED, 0)}
    waiting = planning.waiting_by_zone(broadcast)
    queued = states.get(CallState.QUEUED, 0)
    shown = status_of(broadcast, counts)
    may_steer = steering.may_steer(request.user, broadcast)
    total = counts["total"] or 1
    outcomes = counts["total"] - counts["pending"] - counts["not_called"]
    return {
        "status": shown,
        "shown_state": shown.state,
        "shown_state_label": shown.label,
        "next_step": planning.next_step(broadcast, counts, queued, waiting),
        "waiting_by_zone": _waiting_for_hours(broadcast, waiting),
        "steer_actions": list(shown.steer_actions) if may_steer else [],
        # The progress bar: calls with an outcome, and (apart) calls that will never be made.
        "bar": {
            "outcomes": outcomes,
            "outcomes_percent": round(100 * outcomes / total, 1),
            "not_made": counts["not_called"],
            "not_made_percent": round(100 * counts["not_called"] / total, 1),
        },
    }


def _waiting_for_hours(broadcast, waiting):
    """The zones whose calls wait for calling hours (not merely for the start, nor for a resume)."""
    if broadcast.state in (BroadcastState.PAUSED, BroadcastState.STOPPED):
        return []
    if broadcast.state == BroadcastState.SCHEDULED and broadcast.start_at:
        return [item for item in waiting if item.until > broadcast.start_at]
    return waiting


@staff_page(VIEW_BROADCASTS_PERMISSION, SEND_PERMISSION)
@require_http_methods(["GET", "POST"])
def broadcast_steer(request, pk, action):
    """Stop, pause, resume or move: the first POST asks to confirm (with the counts), the second does it.

    Opened by GET (a reload of the confirmation, a bookmark) it asks again; an action
    the broadcast no longer allows (calls/lifecycle.py) goes back to its page saying why.
    """
    broadcast = get_object_or_404(Broadcast.objects.select_related("created_by"), pk=pk)
    if not steering.may_steer(request.user, broadcast):
        raise PermissionDenied
    page = redirect("portal:broadcast", pk=broadcast.pk)
    confirmed = request.method == "POST" and request.POST.get("confirmed") == "yes"
    shown = status_of(broadcast)
    if not confirmed and not shown.allows(action):
        messages.info(request, str(steering.refusal(shown.state, action)))
        return page
    start_at = None
    if action == "move":
        start_at = _parse_start(request.POST.get("start_at", ""))
    if not confirmed or (action == "move" and start_at is None):
        waiting = steering.waiting_count(broadcast)
        context = page_context(
            request,
            STEER_TITLES[action](),
            broadcast=broadcast,
            action=action,
            waiting=waiting,
            start_at=start_at,
            start_value=timezone.localtime(start_at or broadcast.start_at or timezone.now()).strftime("%Y-%m-%dT%H:%M"),
            zone_name=timezone.get_current_timezone_name(),
            bad_start=action == "move" and "start_at" in request.POST and start_at is None,
            active_tab="calls",
        )
        return TemplateResponse(request, "pages/steer_confirm.html", context)
    try:
        if action == "move":
            steering.move(broadcast, start_at, request.user)
            text = gettext("The start was moved to %(when)s.") % {"when": planning.format_local(start_at)}
        else:  # stop, pause, resume: the same words as the audit trail
            text = steering.summary(action, getattr(steering, action)(broadcast, request.user))
    except TransitionRefused as exc:
        messages.error(request, str(exc))
        return page
    messages.success(request, text)
    return page


STEER_TITLES = {
    "stop": lambda: gettext("Stop this broadcast?"),
    "pause": lambda: gettext("Pause this broadcast?"),
    "resume": lambda: gettext("Resume this broadcast?"),
    "move": lambda: gettext("Move the start of this broadcast?"),
}


def _parse_start(text: str):
    """A datetime-local value ("2026-12-01T10:00") in the staff member's zone, or None."""
    try:
        moment = parse_datetime(text.strip())
    except ValueError:
        return None
    if moment is None:
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@staff_page(REFRESH_PERMISSION)
@require_POST
def broadcast_refresh(request, pk):
    """Ask Exolve now for the statistics of the broadcast's calls that have no final status yet."""
    broadcast = get_object_or_404(Broadcast.objects.only("pk"), pk=pk)
    if broadcast.pk in resume_stalled_sending():
        messages.warning(request, gettext("Sending of this broadcast had stopped; it has been started again."))
    pending = Call.objects.filter(broadcast=broadcast, state=CallState.SENT, call_id__isnull=False).order_by("pk")
    pks = list(pending.values_list("pk", flat=True)[:REFRESH_JOB_LIMIT])
    if len(pks) > settings.EXOLVE_REFRESH_IN_REQUEST:
        # Many calls: in the background with a progress page, so a slow Exolve is no 502.
        job, _started = start_job(
            REFRESH,
            user=request.user,
            params={"pks": pks},
            total=len(pks),
            return_url=reverse("portal:broadcast", args=[broadcast.pk]),
        )
        return redirect(job_url(job))
    calls = list(pending.filter(pk__in=pks).only("pk", "call_id", "sent_at", "destination", "state"))
    if not calls:
        messages.info(request, gettext("Nothing to refresh: no call of this broadcast is waiting for its outcome."))
    else:
        summary = refresh_calls(calls)
        schedule_refresh()
        level = messages.WARNING if summary.failed else messages.SUCCESS
        messages.add_message(
            request,
            level,
            summary.message(),
        )
        for destination, reason in summary.errors[:5]:
            messages.error(request, f"{destination}: {reason}")
    return redirect("portal:broadcast", pk=broadcast.pk)


# --- Calls table and export -----------------------------------------------------


@staff_page(VIEW_CALLS_PERMISSION)
def calls_list(request):
    form = CallFilterForm(request.GET or None)
    table = CallTable(form.filter(calls_queryset()))
    configure_table(table, request)
    filters = {name: request.GET[name] for name in form.fields if request.GET.get(name)}
    context = page_context(
        request,
        gettext("Calls report"),
        form=form,
        table=table,
        filtered=bool(form.applied()),
        export_query=urlencode(filters),
        active_tab="calls",
    )
    return TemplateResponse(request, "pages/calls.html", context)


@staff_page(VIEW_CALLS_PERMISSION)
def calls_export(request, file_format):
    """The filtered calls as CSV (streamed), CSV for Excel or XLSX (built on disk, then sent).

    More than EXOLVE_EXPORT_IN_REQUEST calls would outlast a web request: a background
    job writes the file and its progress page offers it when ready.
    """
    form = CallFilterForm(request.GET or None)
    queryset = form.filter(Call.objects.all())
    stem = "calls"
    if form.applied().get("broadcast"):
        stem = f"broadcast-{form.applied()['broadcast']}-calls"
    filename = export_filename(file_format, stem)
    count = queryset.count()
    if count <= settings.EXOLVE_EXPORT_IN_REQUEST:
        return export_response(queryset, file_format, filename)
    filters = {name: request.GET[name] for name in form.fields if request.GET.get(name)}
    back = reverse("portal:calls") + (f"?{urlencode(filters)}" if filters else "")
    # Reloading the page, or clicking again, finds the export already being made.
    job, started = start_job(
        EXPORT,
        user=request.user,
        params={"filters": filters, "format": file_format, "filename": filename, "language": get_language()},
        total=count,
        return_url=back,
        exclusive=export_key(request.user, form.applied(), file_format),
    )
    if not started:
        messages.info(request, gettext("This export is already being prepared; here is its progress."))
    return redirect(job_url(job))


@staff_page(VIEW_CALLS_PERMISSION)
def calls_export_download(request, pk):
    """The file of a finished background export, for the one who asked (or who may see the job)."""
    job = get_object_or_404(Job, pk=pk, kind=EXPORT, state=JobState.DONE)
    if not job.may_be_seen_by(request.user):
        raise PermissionDenied
    path = saved_export(job.result.get("file", ""))
    if path is None:
        messages.info(request, gettext("That export's file has been deleted since; export again to get a new one."))
        return redirect(job_url(job))
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=job.result["filename"],
        content_type=spreadsheets.CONTENT_TYPES[job.params["format"]],
    )
