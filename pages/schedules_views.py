"""The staff pages of repeating broadcasts: the list, the form (new and change), a schedule's page.

The work is done by the schedules app (its form, schedules.steering); these views check
who may do what and show the outcome. A schedule's page shows the next runs (computed,
at most NEXT_RUNS) and the past ones a page at a time, with their broadcasts' outcomes
counted in one query.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from calls.models import Broadcast
from calls.outcomes import Outcome, labelled, status_of, with_outcome_counts
from schedules import runs, steering
from schedules.forms import ScheduleForm
from schedules.models import Schedule, ScheduleState
from schedules.permissions import (
    ADD_SCHEDULES_PERMISSION,
    CHANGE_SCHEDULES_PERMISSION,
    END_SCHEDULES_PERMISSION,
    PAUSE_SCHEDULES_PERMISSION,
    VIEW_SCHEDULES_PERMISSION,
)

from .views import page_context, staff_page

SCHEDULES_SHOWN = 200  # a team keeps a few dozen; the admin finds any
NEXT_RUNS = 10
RUNS_PER_PAGE = 20


@staff_page(VIEW_SCHEDULES_PERMISSION)
def schedules(request):
    shown = Schedule.objects.select_related("voice_message").order_by("state", "name", "pk")[:SCHEDULES_SHOWN]
    context = page_context(
        request,
        gettext("Repeating broadcasts"),
        schedules=shown,
        can_add=request.user.has_perm(ADD_SCHEDULES_PERMISSION),
        active_tab="schedules",
    )
    return TemplateResponse(request, "pages/schedules.html", context)


@staff_page(ADD_SCHEDULES_PERMISSION)
@require_http_methods(["GET", "POST"])
def schedule_new(request):
    return _form_page(request, Schedule(), gettext("New repeating broadcast"))


@staff_page(VIEW_SCHEDULES_PERMISSION, CHANGE_SCHEDULES_PERMISSION)
@require_http_methods(["GET", "POST"])
def schedule_edit(request, pk):
    schedule = get_object_or_404(Schedule, pk=pk)
    if schedule.state == ScheduleState.ENDED:
        messages.error(request, gettext("This repeating broadcast has ended and cannot be changed; make a new one."))
        return redirect("portal:schedule", pk=pk)
    return _form_page(request, schedule, gettext("Change “%(name)s”") % {"name": schedule.name})


def _form_page(request, schedule, title):
    form = ScheduleForm(request.POST or None, instance=schedule, user=request.user)
    if request.method == "POST" and form.is_valid():
        new = schedule.pk is None
        changed = [str(form.fields[name].label) for name in form.changed_data]
        steering.save_schedule(form.filled_instance(), form.cleaned_data["contact_lists"], request.user, changed)
        if new:
            messages.success(request, gettext("The repeating broadcast was saved. Its runs appear below."))
        else:
            messages.success(request, gettext("The changes were saved; they apply to the next runs only."))
        return redirect("portal:schedule", pk=schedule.pk)
    context = page_context(request, title, form=form, schedule=schedule, active_tab="schedules")
    return TemplateResponse(request, "pages/schedule_form.html", context)


@staff_page(VIEW_SCHEDULES_PERMISSION)
def schedule_detail(request, pk):
    schedule = get_object_or_404(Schedule.objects.select_related("voice_message", "created_by", "updated_by"), pk=pk)
    paginator = Paginator(schedule.runs.order_by("-run_date"), RUNS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    past = list(page.object_list)
    counted = with_outcome_counts(Broadcast.objects.filter(pk__in=[r.broadcast_id for r in past if r.broadcast_id]))
    broadcasts = {broadcast.pk: broadcast for broadcast in counted}
    rows = []
    for run in past:
        broadcast = broadcasts.get(run.broadcast_id)
        counts = [(label, value) for label, key, value in labelled(broadcast.__dict__)] if broadcast else []
        rows.append({"run": run, "broadcast": broadcast, "counts": counts,
                     "status": status_of(broadcast) if broadcast else None})  # fmt: skip
    user = request.user
    context = page_context(
        request,
        schedule.name,
        schedule=schedule,
        lists=schedule.contact_lists.order_by("name")[:SCHEDULES_SHOWN],
        upcoming=runs.upcoming(schedule, limit=NEXT_RUNS),
        left=runs.runs_left(schedule),
        page=page,
        rows=rows,
        outcomes=Outcome.choices,
        can_pause=user.has_perm(PAUSE_SCHEDULES_PERMISSION) and schedule.state == ScheduleState.ACTIVE,
        can_resume=user.has_perm(PAUSE_SCHEDULES_PERMISSION) and schedule.state == ScheduleState.PAUSED,
        can_edit=user.has_perm(CHANGE_SCHEDULES_PERMISSION) and schedule.state != ScheduleState.ENDED,
        can_end=user.has_perm(END_SCHEDULES_PERMISSION) and schedule.state != ScheduleState.ENDED,
        active_tab="schedules",
    )
    return TemplateResponse(request, "pages/schedule.html", context)


STEERING = {
    "pause": (PAUSE_SCHEDULES_PERMISSION, steering.pause),
    "resume": (PAUSE_SCHEDULES_PERMISSION, steering.resume),
    "end": (END_SCHEDULES_PERMISSION, steering.end),
}


@staff_page(VIEW_SCHEDULES_PERMISSION)
@require_POST
def schedule_steer(request, pk, action):
    schedule = get_object_or_404(Schedule, pk=pk)
    permission, act = STEERING[action]
    if not request.user.has_perm(permission):
        messages.error(request, gettext("You may not do this; ask a Manager."))
    elif act(schedule, request.user):
        words = {
            "pause": gettext("Paused: no run is created until it is resumed."),
            "resume": gettext("Resumed: runs are created again from now on."),
            "end": gettext("Ended: no more runs will be created."),
        }
        messages.success(request, words[action])
    else:
        messages.info(request, gettext("Nothing was changed: the repeating broadcast was already in that state."))
    return redirect("portal:schedule", pk=pk)
