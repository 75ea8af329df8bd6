"""List filters shared by the pages and the API: one validation for both."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError


def clean_filter_form(form_class: type[forms.Form], filters: Mapping | None) -> dict:
    """The cleaned values of `form_class` for the query `filters` (a QueryDict or a dict).

    Only the form's own keys are read, and a repeated query parameter counts by its last value;
    unknown or invalid values raise ValidationError({field: [messages]}), which the pages show
    next to the filters and the API returns as field errors."""
    data = {}
    for key in form_class.base_fields:
        if filters and key in filters:
            value = filters.getlist(key)[-1] if hasattr(filters, "getlist") else filters[key]
            data[key] = "" if value is None else str(value).strip()
    form = form_class(data)
    if not form.is_valid():
        raise ValidationError({k: list(v) for k, v in form.errors.items()})
    return form.cleaned_data
