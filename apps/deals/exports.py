"""The deal list as .xlsx (issue 9, exports): the deals the list page shows for the same viewer
and the same filters (apps.deals.selectors.deal_list: visibility, search, kind, team,
participant, signing dates), newest signing first, in one pass, with a totals row.

Columns (Chinese headers in the site language): contract number, customer, kind, amount,
refunded, net (amount − refunded; numbers, 0.00), signing date (a date), units, participants
(name（role）、…), team, owner. The totals row adds up amount, refunded and net over every
row written (Decimal: equal to the database to the cent). Text cells are escaped against
formula injection (apps.core.xlsx). The list shows no phone or ID number: neither does the file.

Size: written to a temporary file with openpyxl write-only, the query read in chunks of CHUNK
rows (the participants prefetched per chunk), so the memory stays flat. Beyond some 50 000 rows
a request is long: the model for a background build with a progress bar is the finance
workbook (apps/commissions/tasks_workbook.py).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from apps.core.xlsx import DATE, INTEGER, MONEY, Column, XlsxSheet
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Staff, Tenant

from .models import Deal

#: Rows read from the database at a time.
CHUNK = 2000


def export_columns() -> list[Column]:
    return [Column(_("Contract number"), 14), Column(_("Customer"), 12), Column(_("Kind"), 8),
            Column(_("Amount"), 12, MONEY), Column(_("Refunded"), 12, MONEY),
            Column(_("Net"), 12, MONEY), Column(_("Signed on"), 12, DATE),
            Column(_("Units"), 6, INTEGER), Column(_("Participants"), 30), Column(_("Team"), 12),
            Column(_("Owner"), 12)]


def export_filename(tenant: Tenant) -> tuple[str, str]:
    """(成交-2026-12-07.xlsx in the site language, the ASCII fallback)."""
    day = tenant_today(tenant).isoformat()
    with translation.override(settings.LANGUAGE_CODE):
        name = _("Deals-%(day)s.xlsx") % {"day": day}
    return name, f"deals-{day}.xlsx"


def deals_xlsx(staff: Staff, deals: QuerySet, target) -> int:
    """Write `deals` (deal_list's queryset for `staff`) and a totals row to `target` (a path or
    a binary file). Returns the number of deals written (the totals row not counted)."""
    amount = refunded = Decimal("0.00")
    count = 0
    with translation.override(settings.LANGUAGE_CODE):
        kinds = {k: str(v) for k, v in Deal.Kind.choices}
        book = Workbook(write_only=True)
        sheet = XlsxSheet(book, _("Deals"), export_columns())
        for d in deals.iterator(chunk_size=CHUNK):
            people = "、".join(f"{p.staff.name}（{p.role.name}）" for p in d.participants.all())
            back = d.refunded_amount or Decimal("0.00")
            sheet.append([d.contract_number, d.customer.name, kinds.get(d.kind, d.kind),
                          d.amount, back, d.amount - back, d.signed_on, d.units, people,
                          d.team.name if d.team else "", d.owner.name if d.owner else ""])
            amount += d.amount
            refunded += back
            count += 1
        sheet.append_total([_("Total"), "", "", amount, refunded, amount - refunded,
                            None, None, "", "", ""])
        book.save(target)
    return count
