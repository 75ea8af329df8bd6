"""Periodic ownership jobs. Each runs inside one tenant's context (see apps.tenancy.tasks);
the nightly beat entry fans them out per tenant through `tenancy.fan_out`."""

from __future__ import annotations

from apps.tenancy.models import Tenant
from apps.tenancy.tasks import tenant_task

from . import services


@tenant_task(name="ownership.release_due_customers")
def release_due_customers(tenant_id: int) -> int:
    """Tonight's release to the public pool (idempotent; see services.pool_release_due).
    Returns how many customers were released."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return services.pool_release_due(tenant=tenant)
