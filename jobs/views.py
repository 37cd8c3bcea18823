"""The progress page of a background job: state, progress, outcome, and a link back.

Staff only (the admin's login check); a job is shown to the one who started it, to
superusers and Managers (``Job.may_be_seen_by``), to others as 403. While the job
waits or runs the page reloads itself.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from .models import Job, JobState

# The page reloads itself this often (seconds) while the job is not finished.
AUTO_REFRESH_SECONDS = 2


def job_url(job: Job) -> str:
    return reverse("jobs:job", args=[job.pk])


@require_GET
def _job_detail(request, pk):
    # Not `params`: a long import waits there with its numbers (megabytes), read every reload.
    job = get_object_or_404(Job.objects.select_related("started_by").defer("params"), pk=pk)
    if not job.may_be_seen_by(request.user):
        raise PermissionDenied
    if job.state == JobState.RUNNING and job.updated_at < timezone.now() - timedelta(seconds=settings.JOBS_STALE_AFTER):
        Job.objects.filter(pk=job.pk).fail_stale()
        job.refresh_from_db()
    back_url = job.return_url
    if not back_url or not url_has_allowed_host_and_scheme(
        back_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back_url = reverse("admin:index")
    context = {
        **admin.site.each_context(request),
        "title": job.title,
        "job": job,
        "outcome": job.describe(),
        "auto_refresh": AUTO_REFRESH_SECONDS if job.is_active else None,
        "back_url": back_url,
    }
    return TemplateResponse(request, "jobs/job.html", context)


job_detail = admin.site.admin_view(_job_detail)
