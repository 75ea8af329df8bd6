"""The HTTP side of every list export (the export views call it)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from apps.core.xlsx import xlsx_download

from .kinds import LIST_URLS, prepare
from .services import export_job_request


def export_response(request, staff, kind: str) -> HttpResponse:
    """The export of `kind` for the list query of `request`, as `staff` sees the list: the
    .xlsx at once up to settings.EXPORT_DIRECT_MAX_ROWS rows, else a background job (the
    answer redirects to its page). Invalid filters send the user back to the list, which says
    why."""
    try:
        prepared = prepare(kind, staff, request.GET)
    except ValidationError:
        return redirect(f"{reverse(LIST_URLS[kind])}?{request.GET.urlencode()}")
    if prepared.rows > settings.EXPORT_DIRECT_MAX_ROWS:
        job = export_job_request(staff=staff, kind=kind, query=request.GET.urlencode(),
                                 rows=prepared.rows, filename=prepared.filename)
        return redirect(job)
    return xlsx_download(prepared.write, *prepared.filename)
