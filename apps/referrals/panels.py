"""Home-page panel of the referrals app (settings.HOME_PANELS): for managers and
administrators, the referrals per month (bars) and the conversion and referral rates (lines)
of the last six months, with the numbers as a table under each chart (apps.referrals.reports;
two queries)."""

from __future__ import annotations

from apps.tenancy.models import Staff

from .reports import PANEL_MONTHS, PANEL_ROLES, chart_data, default_range, referral_report


def referral_charts_panel(staff: Staff) -> dict | None:
    if not staff.has_role(*PANEL_ROLES):
        return None
    first, last = default_range(staff.tenant, PANEL_MONTHS)
    report = referral_report(staff, first=first, last=last, medians=False)
    return {"template": "referrals/_home_panel.html", "report": report,
            "chart": chart_data(report)}
