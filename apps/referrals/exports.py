"""The referral list as .xlsx (issue 9, exports): the referrals the list page shows for the same
viewer and the same filters and status tab (apps.referrals.selectors.referral_list), newest
first, in one pass.

Columns (Chinese headers in the site language): referred person, mobile phone, referrer,
channel, referral card (its code), status, reward (a number, 0.00), flagged, logged at (the tenant's local
date and time), logged by. The person's name and phone are shown exactly as on the list
(selectors.referral_rows, applied to each chunk of rows: in full when the viewer may see the
referred customer or the person is not a customer yet, else 张* and 139****5678). Text cells
are escaped against formula injection (apps.core.xlsx).

Size: written to a temporary file with openpyxl write-only, the query read in chunks of CHUNK
rows (one more query per chunk for the masking), so the memory stays flat. Beyond some 50 000
rows a request is long: the model for a background build with a progress bar is the finance
workbook (apps/commissions/tasks_workbook.py).
"""

from __future__ import annotations

import zoneinfo
from itertools import islice

from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from apps.core.xlsx import DATETIME, MONEY, Column, XlsxSheet, local_naive
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Staff, Tenant

from .models import Referral
from .selectors import referral_rows

#: Rows read from the database at a time.
CHUNK = 2000


def export_columns() -> list[Column]:
    return [Column(_("Referred person"), 12), Column(_("Mobile phone"), 14),
            Column(_("Referrer"), 12), Column(_("Channel"), 10), Column(_("Referral card"), 12),
            Column(_("Status"), 10), Column(_("Reward"), 12, MONEY), Column(_("Flagged"), 8),
            Column(_("Logged at"), 17, DATETIME), Column(_("Logged by"), 12)]


def export_filename(tenant: Tenant) -> tuple[str, str]:
    """(转介绍-2026-12-07.xlsx in the site language, the ASCII fallback)."""
    day = tenant_today(tenant).isoformat()
    with translation.override(settings.LANGUAGE_CODE):
        name = _("Referrals-%(day)s.xlsx") % {"day": day}
    return name, f"referrals-{day}.xlsx"


def _chunks(queryset: QuerySet):
    rows = queryset.iterator(chunk_size=CHUNK)
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def referrals_xlsx(staff: Staff, referrals: QuerySet, target) -> int:
    """Write `referrals` (referral_list's queryset for `staff`) to `target` (a path or a binary
    file). Returns the number of referrals written."""
    zone = zoneinfo.ZoneInfo(staff.tenant.time_zone)
    with translation.override(settings.LANGUAGE_CODE):
        statuses = {k: str(v) for k, v in Referral.Status.choices}
        channels = {k: str(v) for k, v in Referral.Channel.choices}
        yes = _("Yes")
        book = Workbook(write_only=True)
        sheet = XlsxSheet(book, _("Referrals"), export_columns())
        for chunk in _chunks(referrals):
            for r in referral_rows(staff, chunk):
                sheet.append([
                    r.display_name, r.display_phone, r.referrer_display,
                    channels.get(r.channel, r.channel), r.card.code if r.card else "",
                    statuses.get(r.status, r.status), r.reward_total,
                    yes if r.flagged else "", local_naive(r.created_at, zone),
                    r.created_by.name if r.created_by else ""])
        book.save(target)
    return sheet.rows
