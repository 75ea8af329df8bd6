"""Home-page panel of the renewals app (settings.HOME_PANELS)."""

from __future__ import annotations

from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Staff
from apps.tenancy.roles import Role

from .selectors import contracts_expiring, lead_days_for

PANEL_ROLES = (Role.SALES, Role.MANAGER)


def expiring_contracts_panel(staff: Staff) -> dict | None:
    """How many contracts `staff` follows end within the largest lead day without having
    been renewed (a salesperson's own, a manager's team). Two queries."""
    if not staff.has_role(*PANEL_ROLES):
        return None
    days = lead_days_for(staff.tenant)[0]
    count = contracts_expiring(staff, today=tenant_today(staff.tenant), within_days=days).count()
    scope = "team" if staff.is_manager else "own"
    return {"template": "renewals/_home_panel.html", "count": count, "scope": scope,
            "days": days}
