"""Serving evidence files (the page and the API share it)."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from .models import DisputeEvidence


def evidence_response(dispute, evidence_pk) -> FileResponse:
    """The evidence file `evidence_pk` of `dispute` (already checked visible to the caller),
    served so that a browser never runs it: nosniff, a sandboxing CSP, not cached."""
    evidence = get_object_or_404(DisputeEvidence.objects.filter(dispute=dispute), pk=evidence_pk)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=evidence.content_type,
                            as_attachment=evidence.content_type == "application/pdf",
                            filename=evidence.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
