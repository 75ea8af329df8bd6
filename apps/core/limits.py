"""The size limit of a whole request body (settings.REQUEST_MAX_BYTES).

Django limits the form fields of a body (DATA_UPLOAD_MAX_MEMORY_SIZE) but not its files: a
multipart upload of any size is streamed to a temporary file before a form or service can
refuse it. This refuses a body whose declared length is over the limit before anything reads
it; each upload then has its own, smaller limit checked with its content (dispute evidence:
EVIDENCE_MAX_BYTES, customer imports: IMPORT_MAX_BYTES). A body without a Content-Length is
read as empty by Django, so it cannot get around the check."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.REQUEST_MAX_BYTES
        if length > limit:
            message = _("The request is too large (at most %(size)s).") % {
                "size": filesizeformat(limit)}
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"status": 413, "code": "too_large",
                                               "message": message, "fields": {}}}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
