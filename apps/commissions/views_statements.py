"""Personal statements (个人提成明细): every line of one person in one month, each with the deal or
event behind it, and the person's totals.

* /commissions/statement/?month=YYYY-MM — my own statement (everyone with a role; default the
  latest calculated month);
* /commissions/statement/<staff_pk>/?month=YYYY-MM — another person's: managers for the people
  of their team, finance and administrators for anyone; anyone else gets 404 (as for a person
  of another tenant).

A month that is not calculated yet (no settlement, or still open) shows a note and no lines.
`statement_for` is shared with the API (apps.commissions.api_statements)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views import View

from apps.core.filters import clean_filter_form
from apps.tenancy.models import Staff
from apps.tenancy.roles import Role
from apps.tenancy.views_base import StaffRequiredMixin

from . import settlements
from .forms_settlements import StatementMonthForm
from .models import CommissionLine, Settlement
from .views_settlements import decorate_lines, default_calculate_month, summary_table

PAGE_SIZE = 50


def may_see_statement(viewer: Staff, person: Staff) -> bool:
    """Own statement always; finance and administrators anyone's; a manager their team's."""
    if viewer.pk == person.pk or viewer.has_role(Role.ADMIN, Role.FINANCE):
        return True
    return bool(viewer.is_manager and viewer.team_id and person.team_id == viewer.team_id)


def statement_person(viewer: Staff, staff_pk: int | None) -> Staff:
    """The person whose statement is asked for (404 when not found or not allowed)."""
    if staff_pk is None:
        return viewer
    person = get_object_or_404(Staff.objects.select_related("team"), pk=staff_pk)
    if not may_see_statement(viewer, person):
        raise Http404
    return person


def default_statement_month(tenant) -> dt.date:
    """The latest calculated month (any status past open), else last month."""
    month = (Settlement.objects.exclude(status=Settlement.Status.OPEN)
             .order_by("-month").values_list("month", flat=True).first())
    return month or default_calculate_month(tenant)


@dataclass
class Statement:
    person: Staff
    month: dt.date
    settlement: Settlement | None
    lines: object               # QuerySet[CommissionLine] (none() when not calculated)
    summary: object | None      # the person's PersonRow (None: no lines or not calculated)

    @property
    def calculated(self) -> bool:
        return self.settlement is not None and self.settlement.status != Settlement.Status.OPEN


def statement_for(tenant, person: Staff, month: dt.date) -> Statement:
    """The statement of `person` for `month` (any day of it); the caller checked the viewer."""
    settlement = settlements.settlement_get(tenant, month)
    month = month.replace(day=1)
    if settlement is None or settlement.status == Settlement.Status.OPEN:
        return Statement(person, month, settlement, CommissionLine.objects.none(), None)
    lines = (CommissionLine.objects.filter(settlement=settlement, staff=person)
             .select_related("deal", "team").order_by("position", "id"))
    rows = settlements.person_summaries(settlement, staff_ids=[person.pk])
    return Statement(person, month, settlement, lines, rows[0] if rows else None)


def statement_month(tenant, query) -> dt.date:
    """The month of `?month=` (ValidationError when it is not YYYY-MM), default the latest
    calculated month."""
    return clean_filter_form(StatementMonthForm, query).get("month") or \
        default_statement_month(tenant)


class StatementView(StaffRequiredMixin, View):
    required_roles = settlements.READ_ROLES

    def http_method_not_allowed(self, request, *args, **kwargs):
        # A person the caller may not see is 404 whatever the method: look them up first.
        statement_person(self.staff, kwargs.get("staff_pk"))
        return super().http_method_not_allowed(request, *args, **kwargs)

    def get(self, request, staff_pk=None):
        person = statement_person(self.staff, staff_pk)
        form = StatementMonthForm(request.GET or None)
        status = 200
        try:
            month = statement_month(self.tenant, request.GET)
        except ValidationError:
            form.is_valid()
            month, status = default_statement_month(self.tenant), 400
        if status == 200:
            form = StatementMonthForm(initial={"month": month})
        statement = statement_for(self.tenant, person, month)
        page = Paginator(statement.lines, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = decorate_lines(page.object_list)
        summary = summary_table([statement.summary]) if statement.summary else None
        return render(request, "commissions/statement.html", {
            "statement": statement, "person": person, "form": form, "page_obj": page,
            "summary": summary, "own": person.pk == self.staff.pk,
            "reads_settlements": self.staff.has_role(Role.ADMIN, Role.FINANCE, Role.MANAGER)},
            status=status)
