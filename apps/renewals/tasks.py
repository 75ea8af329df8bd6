"""Periodic renewals jobs. Each runs inside one tenant's context (see apps.tenancy.tasks);
the daily beat entry fans them out per tenant through `tenancy.fan_out`."""

from __future__ import annotations

from apps.tenancy.models import Tenant
from apps.tenancy.tasks import tenant_task

from . import services


@tenant_task(name="renewals.send_reminders")
def send_reminders(tenant_id: int) -> int:
    """Today's renewal reminders (idempotent; see services.renewal_reminders_send).
    Returns how many reminders were sent."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return services.renewal_reminders_send(tenant=tenant)
