"""What every app's HTML forms share: Bootstrap classes, and service errors put back on a form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Value

_CHECK_WIDGETS = (forms.CheckboxInput, forms.CheckboxSelectMultiple, forms.RadioSelect)


def _add_class(widget: forms.Widget, css: str) -> None:
    classes = widget.attrs.get("class", "").split()
    if css not in classes:
        widget.attrs["class"] = " ".join([*classes, css])


def style_fields(form: forms.Form) -> None:
    """Bootstrap 5 classes on every widget (call again after replacing a field)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, _CHECK_WIDGETS):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        _add_class(widget, css)


def mark_invalid(form: forms.Form) -> None:
    """`is-invalid` on the widgets of the fields that have errors."""
    for name in form.errors:
        if name in form.fields:
            _add_class(form.fields[name].widget, "is-invalid")


class BootstrapFormMixin:
    """Bootstrap 5 classes on every widget, plus `is-invalid` on the fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)

    def full_clean(self):
        super().full_clean()
        mark_invalid(self)


def add_service_errors(form: forms.Form, exc: ValidationError, rename: dict | None = None) -> None:
    """Put a service's ValidationError on the form: an error keyed by a field of the form (after
    `rename`, service name -> form field) goes to that field, anything else on top of the form."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            name = rename.get(field, field)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)
    mark_invalid(form)


def narrow_people_and_teams(form: forms.Form, *, people: QuerySet | None,
                            teams: QuerySet | None, people_field: str, any_person,
                            any_team) -> None:
    """Turn a list filter's person field and its "team" field into choices of what the viewer
    may narrow by (`people` / `teams`: querysets of Staff / Team, or None), read in ONE query
    (a UNION); a field without options is removed from the form."""
    parts = [qs.annotate(kind=Value(kind)).values_list("pk", "name", "kind")
             for qs, kind in ((people, people_field), (teams, "team")) if qs is not None]
    rows = list(parts[0].union(*parts[1:], all=True)) if parts else []
    for field, blank in ((people_field, any_person), ("team", any_team)):
        options = sorted((r for r in rows if r[2] == field), key=lambda r: (r[1], r[0]))
        if not options:
            del form.fields[field]
            continue
        form.fields[field] = forms.TypedChoiceField(
            label=form.fields[field].label, required=False, coerce=int,
            choices=[("", blank), *[(pk, name) for pk, name, _kind in options]])
