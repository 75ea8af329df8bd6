"""The month range of the referral reports (page and API): `from` and `to` as YYYY-MM."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Tenant

from .reports import DEFAULT_MONTHS, MAX_MONTHS, add_months, month_start


class MonthField(forms.DateField):
    """A calendar month typed as YYYY-MM (an `<input type="month">`); cleans to its first day."""

    input_formats = ["%Y-%m"]
    widget = forms.DateInput(format="%Y-%m", attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {"invalid": _("Enter a month as YYYY-MM, e.g. 2026-01.")}


class ReportRangeForm(BootstrapFormMixin, forms.Form):
    """`from` and `to` (both optional): without `from`, the 12 months up to `to`; without
    `to`, 12 months from `from` (at most up to the current month); neither: the last 12
    months. At most 36 months; `to` not before `from`."""

    def __init__(self, *args, tenant: Tenant | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean(self):
        data = super().clean()
        first, last = data.get("from"), data.get("to")
        if self.errors:
            return data
        if self.tenant is not None and (first is None or last is None):
            current = month_start(tenant_today(self.tenant))
            if first is None and last is None:
                first, last = add_months(current, 1 - DEFAULT_MONTHS), current
            elif first is None:
                first = add_months(last, 1 - DEFAULT_MONTHS)
            else:
                last = max(first, min(add_months(first, DEFAULT_MONTHS - 1), current))
        if first is not None and last is not None:
            if last < first:
                self.add_error("to", _("The last month is before the first month."))
            elif (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
                self.add_error("to", _("Choose at most %(months)d months.") % {
                    "months": MAX_MONTHS})
        data["from"], data["to"] = first, last
        return data


# `from` is a Python keyword: the two fields are declared here rather than in the class body.
ReportRangeForm.base_fields["from"] = MonthField(label=_("From month"), required=False)
ReportRangeForm.base_fields["to"] = MonthField(label=_("To month"), required=False)
ReportRangeForm.declared_fields.update({"from": ReportRangeForm.base_fields["from"],
                                        "to": ReportRangeForm.base_fields["to"]})
