"""The finance workbook pages (thin: apps.commissions.workbook writes, tasks_workbook builds).

* /commissions/settlements/<pk>/workbook/ — finance and administrators (403 for others; another
  tenant's settlement 404): a month of at most WORKBOOK_DIRECT_MAX_LINES lines is sent at once
  (written to a temporary file, then streamed); a larger one is served when its built file is
  there, otherwise the build is started (or joined) and a progress page shown.
* /commissions/settlements/<pk>/workbook/progress/ — the progress fragment the page polls with
  htmx (a bar, then the download link); it never starts anything.
"""

from __future__ import annotations

import tempfile

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views import View

from apps.core.xlsx import xlsx_file_response
from apps.tenancy.views_base import TenantObjectMixin

from .models import Settlement
from .tasks_workbook import DONE, workbook_progress, workbook_request
from .workbook import (
    WORKBOOK_DIRECT_MAX_LINES,
    WORKBOOK_ROLES,
    line_stats,
    workbook_ascii_filename,
    workbook_filename,
    workbook_path,
    workbook_write,
)


def workbook_file_response(settlement: Settlement, handle) -> FileResponse:
    """`handle` (an open binary file) sent as the settlement's workbook download."""
    return xlsx_file_response(handle, workbook_filename(settlement),
                              workbook_ascii_filename(settlement))


def workbook_download(settlement: Settlement, staff, stats=None):
    """(response, progress): the file response when the workbook can be sent now (small month,
    or built), else (None, the build's progress after starting or joining it)."""
    stats = stats if stats is not None else line_stats(settlement)
    if stats[0] <= WORKBOOK_DIRECT_MAX_LINES:
        handle = tempfile.TemporaryFile()
        workbook_write(settlement, handle, total_lines=stats[0])
        handle.seek(0)
        return workbook_file_response(settlement, handle), None
    progress = workbook_request(settlement, staff, stats)
    if progress["state"] == DONE:
        path = workbook_path(settlement, progress["fingerprint"])
        try:
            return workbook_file_response(settlement, path.open("rb")), progress
        except FileNotFoundError:
            raise Http404 from None
    return None, progress


class WorkbookView(TenantObjectMixin, View):
    model = Settlement
    required_roles = WORKBOOK_ROLES

    def get(self, request, pk):
        settlement = get_object_or_404(self.get_queryset(), pk=pk)
        response, progress = workbook_download(settlement, self.staff)
        if response is not None:
            return response
        return render(request, "commissions/workbook_progress.html",
                      {"settlement": settlement, "progress": _progress_context(progress)})


class WorkbookProgressView(TenantObjectMixin, View):
    model = Settlement
    required_roles = WORKBOOK_ROLES

    def get(self, request, pk):
        settlement = get_object_or_404(self.get_queryset(), pk=pk)
        return render(request, "commissions/workbook_progress_fragment.html",
                      {"settlement": settlement,
                       "progress": _progress_context(workbook_progress(settlement))})


def _progress_context(progress: dict) -> dict:
    total = progress.get("total") or 0
    percent = int(progress["current"] * 100 / total) if total else 0
    return {**progress, "percent": min(percent, 100)}
