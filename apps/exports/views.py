"""The pages of background exports (thin: selectors read, tasks build). Each staff member sees
only the exports they asked for: anyone else's id — same tenant or not — is a 404.

* /exports/ — my exports, newest first (paginated).
* /exports/<pk>/ — one export: a progress bar while it is built (the fragment below, polled
  with htmx; the page can be left and come back to), the download once done, "expired" once
  the daily task deleted the file.
* /exports/<pk>/progress/ — that fragment.
* /exports/<pk>/download/ — the file (the job page when there is none, or no longer).
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views import View

from apps.core.xlsx import xlsx_file_response
from apps.tenancy.views_base import TenantObjectMixin

from .kinds import LIST_URLS
from .models import ExportJob
from .selectors import job_file, job_progress, jobs_progress, own_jobs

PAGE_SIZE = 25


class ExportJobMixin(TenantObjectMixin):
    model = ExportJob

    def scope_queryset(self, queryset):
        return own_jobs(self.staff, queryset)

    def get_job(self, pk: int) -> ExportJob:
        return get_object_or_404(self.get_queryset(), pk=pk)


def _context(job: ExportJob) -> dict:
    try:
        list_url = reverse(LIST_URLS[job.kind]) + (f"?{job.query}" if job.query else "")
    except (KeyError, NoReverseMatch):
        list_url = ""
    return {"job": job, "progress": job_progress(job), "list_url": list_url}


class ExportJobListView(ExportJobMixin, View):
    def get(self, request):
        page = Paginator(self.get_queryset(), PAGE_SIZE).get_page(request.GET.get("page"))
        jobs = list(page.object_list)
        rows = [{"job": job, "progress": progress}
                for job, progress in zip(jobs, jobs_progress(jobs), strict=True)]
        return render(request, "exports/job_list.html",
                      {"page": page, "rows": rows, "keep_days": settings.EXPORT_KEEP_DAYS})


class ExportJobDetailView(ExportJobMixin, View):
    def get(self, request, pk):
        return render(request, "exports/job_detail.html", _context(self.get_job(pk)))


class ExportJobProgressView(ExportJobMixin, View):
    def get(self, request, pk):
        return render(request, "exports/job_progress.html", _context(self.get_job(pk)))


class ExportJobDownloadView(ExportJobMixin, View):
    def get(self, request, pk):
        job = self.get_job(pk)
        path = job_file(job)
        if path is None:
            return redirect(job)
        try:
            handle = path.open("rb")
        except FileNotFoundError:  # expired between the check and the opening
            return redirect(job)
        return xlsx_file_response(handle, job.download_name, job.ascii_name)
