"""An export job's status page (polled by HTMX) and its download; both only for the job's owner."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from bizloom.platform import export_jobs, exporting
from bizloom.platform.exportjobs.models import ExportJob

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": exporting.XLSX_CONTENT_TYPE}


def _own_job(request: HttpRequest, pk: int) -> ExportJob:
    # Another user's job is a 404, not a 403: its existence is not disclosed.
    return get_object_or_404(ExportJob, pk=pk, owner=request.user, expires_at__gt=timezone.now())


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """"Your export is being prepared", then the download link; HTMX polls the status partial."""
    job = _own_job(request, pk)
    htmx = getattr(request, "htmx", None)
    partial = htmx is not None and bool(htmx) and not htmx.history_restore_request
    context = {"job": job, "status_url": reverse("exportjobs:detail", args=[job.pk]),
               "download_url": reverse("exportjobs:download", args=[job.pk])}
    response = render(request, "platform/exports/_status.html" if partial else "platform/exports/job.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def job_download(request: HttpRequest, pk: int) -> FileResponse:
    """The finished file, as an attachment named with the list's (possibly Chinese) title (RFC 5987)."""
    job = _own_job(request, pk)
    if job.status != ExportJob.Status.DONE:
        raise Http404
    try:
        stream = open(export_jobs.export_path(job), "rb")  # noqa: SIM115 - FileResponse closes it
    except (OSError, ValueError):
        raise Http404 from None
    response = FileResponse(stream, as_attachment=True, filename=job.filename,
                            content_type=CONTENT_TYPES.get(job.format, "application/octet-stream"))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
