"""Periodic referral jobs. Each runs inside one tenant's context (apps.tenancy.tasks); the beat
entries in settings fan them out per tenant through `tenancy.fan_out`."""

from __future__ import annotations

from apps.tenancy.models import Tenant
from apps.tenancy.tasks import tenant_task

from . import board, lifecycle


@tenant_task(name="referrals.expire_referrals")
def expire_referrals(tenant_id: int) -> int:
    """Reject as expired the referrals with no deal within the policy's conversion window
    (idempotent; see lifecycle.referrals_expire). Returns how many expired."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return lifecycle.referrals_expire(tenant=tenant)


@tenant_task(name="referrals.record_honour_awards")
def record_honour_awards(tenant_id: int) -> int:
    """Record the honour awards (top three staff referrers) of LAST month in the tenant's time
    zone (idempotent; see board.honour_awards_record). Returns how many awards were written
    (0 when they were recorded already or nobody had a success)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    result = board.honour_awards_record(tenant=tenant, month=board.last_month(tenant))
    return len(result.awards) if result.created else 0
