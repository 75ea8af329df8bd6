"""Periodic commission jobs. Each runs inside one tenant's context (apps.tenancy.tasks); the
daily beat entry fans them out per tenant through `tenancy.fan_out`."""

from __future__ import annotations

from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Tenant
from apps.tenancy.tasks import tenant_task

from . import settlements


@tenant_task(name="commissions.calculate_due")
def calculate_due(tenant_id: int) -> str:
    """On the tenant's calculation day (default the 1st), calculate last month and tell the
    approvers (see settlements.calculate_due). Returns the month calculated, or ""."""
    tenant = Tenant.objects.get(pk=tenant_id)
    settlement = settlements.calculate_due(tenant, tenant_today(tenant))
    return settlement.month.isoformat() if settlement is not None else ""


# Celery autodiscovers only `tasks` modules: the workbook task lives in its own module.
from . import tasks_workbook  # noqa: E402, F401
