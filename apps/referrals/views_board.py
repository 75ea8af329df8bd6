"""Pages of the honour board (thin: apps.referrals.board ranks and records).

* /referrals/board/ — the month's or quarter's top 20 (?period=month|quarter, ?start=a day of
  it, ?audience=all|staff|customer), previous/next links, the awards of the period's months
  and, for managers and administrators, the link to record last month's awards. Everyone who
  works with referrals reads it (administrators, managers, sales, customer service, finance);
  salespeople see customers' names masked.
* /referrals/board/awards/?month=2026-10 — managers and administrators: the confirmation page
  (the top three staff that would be recorded), then POST records them.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from apps.core.filters import clean_filter_form
from apps.core.forms import add_service_errors
from apps.ownership.selectors import tenant_today
from apps.tenancy.views_base import StaffRequiredMixin

from . import board
from .forms_board import AwardMonthForm, BoardFilterForm


class BoardView(StaffRequiredMixin, View):
    required_roles = board.VIEW_ROLES

    def get(self, request):
        tenant, staff = self.tenant, self.staff
        today = tenant_today(tenant)
        errors = {}
        try:
            filters = clean_filter_form(BoardFilterForm, request.GET)
        except ValidationError as exc:
            errors = exc.message_dict
            filters = {}
        kind = filters.get("period") or board.MONTH
        audience = filters.get("audience") or board.ALL
        period = board.period_bounds(tenant, kind, filters.get("start") or today)
        rows = board.leaderboard(tenant, period=kind, start=period.first, audience=audience)
        for row in rows:
            row.shown_name = board.shown_name(row, staff)
        awards = board.awards_of(period.month_starts)
        for award in awards:
            award.month_label = board.period_bounds(tenant, board.MONTH, award.month).label
        can_record = staff.has_role(*board.RECORD_ROLES)
        record_month = board.last_month(tenant, today)
        form = BoardFilterForm(initial={"period": kind, "start": period.first,
                                        "audience": audience})
        return render(request, "referrals/board.html", {
            "form": form, "filter_errors": errors, "period": period, "audience": audience,
            "rows": rows, "awards": awards, "is_current": period.contains(today),
            "tabs": [(board.ALL, _("All")), (board.STAFF, _("Staff")),
                     (board.CUSTOMER, _("Customers"))],
            "previous_url": board.board_url(kind, period.previous_start) + f"&audience={audience}",
            "next_url": (board.board_url(kind, period.next_start) + f"&audience={audience}"
                         if period.next_start <= today else ""),
            "can_record": can_record, "record_month": record_month,
            "record_label": board.period_bounds(tenant, board.MONTH, record_month).label})


class AwardsRecordView(StaffRequiredMixin, View):
    """GET: what would be recorded for ?month= (default last month), with the button; POST:
    record (a month not over is refused with the reason; a month recorded already says so)."""

    required_roles = board.RECORD_ROLES

    def get(self, request):
        form = AwardMonthForm(request.GET or {"month": board.last_month(self.tenant)})
        return self.render_page(form)

    def post(self, request):
        form = AwardMonthForm(request.POST)
        if form.is_valid():
            month = form.cleaned_data["month"]
            try:
                result = board.honour_awards_record(tenant=self.tenant, month=month,
                                                    actor=self.staff)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                label = board.period_bounds(self.tenant, board.MONTH, result.month).label
                if result.created:
                    messages.success(request, _("The honour awards of %(month)s are recorded.")
                                     % {"month": label})
                elif result.awards:
                    messages.info(request, _("The honour awards of %(month)s were recorded "
                                             "already: nothing changed.") % {"month": label})
                else:
                    messages.info(request, _("No staff member had a successful referral in "
                                             "%(month)s: nothing to record.") % {"month": label})
                return redirect(board.board_url(board.MONTH, result.month))
        return self.render_page(form, status=400)

    def render_page(self, form, *, status=200):
        tenant = self.tenant
        month, preview, recorded, is_open, label = None, [], [], False, ""
        if form.is_valid():
            month = form.cleaned_data["month"].replace(day=1)
            label = board.period_bounds(tenant, board.MONTH, month).label
            is_open = board.award_month_open(tenant, month)
            recorded = board.awards_of([month])
            if not recorded and not is_open:
                preview = board.leaderboard(tenant, period=board.MONTH, start=month,
                                            audience=board.STAFF, limit=board.AWARD_PLACES)
        return render(self.request, "referrals/board_record.html", {
            "form": form, "month": month, "month_label": label, "preview": preview,
            "recorded": recorded, "is_open": is_open}, status=status)
