"""Shared API plumbing: pagination and the single error format.

Every error answers as::

    {"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"phone": ["..."]}}}
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler as drf_exception_handler

from .pagination import CountSavingPaginator


class Pagination(PageNumberPagination):
    django_paginator_class = CountSavingPaginator
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {self.page_query_param: [_("Page %(page)s does not exist.") % {
                    "page": request.query_params.get(self.page_query_param, "")}]})


def _flatten(detail):
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [str(x) if not isinstance(x, (dict, list)) else _flatten(x) for x in detail]
    return [str(detail)]


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = {"status": response.status_code, "code": "error", "message": "", "fields": {}}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "invalid"
        body["message"] = _("Please correct the errors below.")
        detail = exc.detail
        if isinstance(detail, dict):
            body["fields"] = _flatten(detail)
        else:
            body["fields"] = {"non_field_errors": _flatten(detail)}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        body["code"] = codes if isinstance(codes, str) else "error"
        body["message"] = str(exc.detail)
    response.data = {"error": body}
    return response
