"""The membership-card list as .xlsx (issue 9, exports): the cards the card list page
(/vip/vip-cards/) shows for the same viewer and the same filters (apps.vip.cards.card_list:
visible_cards, status, kind, tier, team, search), newest first, in one pass.

Columns (Chinese headers in the site language): card number, customer, mobile phone, tier (its
name in the scheme in force), kind, status, team, issued on (a date), issued by, why void, void
since (the tenant's local date and time). The mobile number is shown in full to a viewer who
may see the customer (apps.customers.selectors.visible_customers), else masked 139****5678, as
the other lists do. Text cells are escaped against formula injection (apps.core.xlsx).

Size: written to a temporary file with openpyxl write-only, the query read in chunks of CHUNK
rows, so the memory stays flat. Beyond some 50 000 rows a request is long: the model for a
background build with a progress bar is the finance workbook (apps/commissions/tasks_workbook.py).
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from apps.core.identity import mask_phone
from apps.core.xlsx import DATE, DATETIME, Column, XlsxSheet, local_naive
from apps.customers.selectors import visible_customers
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Staff, Tenant

from .cards import tier_names
from .models import VipCard

#: Rows read from the database at a time.
CHUNK = 2000


def export_columns() -> list[Column]:
    return [Column(_("Card number"), 14), Column(_("Customer"), 12),
            Column(_("Mobile phone"), 14), Column(_("Tier"), 10), Column(_("Kind"), 12),
            Column(_("Status"), 8), Column(_("Team"), 12), Column(_("Issued on"), 12, DATE),
            Column(_("Issued by"), 12), Column(_("Why void"), 14),
            Column(_("Void since"), 17, DATETIME)]


def export_filename(tenant: Tenant) -> tuple[str, str]:
    """(会员卡-2026-12-07.xlsx in the site language, the ASCII fallback)."""
    day = tenant_today(tenant).isoformat()
    with translation.override(settings.LANGUAGE_CODE):
        name = _("Membership cards-%(day)s.xlsx") % {"day": day}
    return name, f"vip-cards-{day}.xlsx"


def cards_xlsx(staff: Staff, cards: QuerySet, target) -> int:
    """Write `cards` (card_list's queryset for `staff`) to `target` (a path or a binary file).
    Returns the number of cards written."""
    tenant = staff.tenant
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    names = tier_names(tenant)
    shown = Exists(visible_customers(staff).filter(pk=OuterRef("customer_id")))
    with translation.override(settings.LANGUAGE_CODE):
        kinds = {k: str(v) for k, v in VipCard.Kind.choices}
        statuses = {k: str(v) for k, v in VipCard.Status.choices}
        reasons = {k: str(v) for k, v in VipCard.VoidReason.choices}
        book = Workbook(write_only=True)
        sheet = XlsxSheet(book, _("Membership cards"), export_columns())
        for c in cards.annotate(phone_shown=shown).iterator(chunk_size=CHUNK):
            phone = c.customer.phone
            sheet.append([
                c.number, c.customer.name, phone if c.phone_shown else mask_phone(phone),
                names.get(c.tier, c.tier), kinds.get(c.kind, c.kind),
                statuses.get(c.status, c.status), c.team.name if c.team else "", c.issued_on,
                c.issued_by.name if c.issued_by else "", reasons.get(c.void_reason, ""),
                local_naive(c.voided_at, zone)])
        book.save(target)
    return sheet.rows
