"""Home-page panels of the ownership app (settings.HOME_PANELS)."""

from __future__ import annotations

from apps.tenancy.models import Staff

from .selectors import EXPIRING_ROLES, expiring_customers, policy_for, tenant_today


def expiring_panel(staff: Staff) -> dict | None:
    """How many customers `staff` watches lose their protection within the warning days
    (a salesperson's own, a manager's team, an admin's company). Two queries."""
    if not staff.has_role(*EXPIRING_ROLES):
        return None
    today = tenant_today(staff.tenant)
    policy = policy_for(staff.tenant, today)
    count = expiring_customers(staff, today=today, policy=policy).count()
    scope = "all" if staff.is_admin or staff.is_manager else "own"
    return {"template": "ownership/_home_panel.html", "count": count, "scope": scope,
            "warn_days": policy.warn_before_days}
