"""Periodic customer jobs. Each runs inside one tenant's context (see apps.tenancy.tasks)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from apps.tenancy.models import Tenant
from apps.tenancy.tasks import tenant_task

from . import services


def tenant_today(tenant: Tenant) -> dt.date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(tenant.time_zone))


@tenant_task(name="customers.count_team_customers")
def count_team_customers(tenant_id: int) -> int:
    """Today's team customer counts (today in the tenant's time zone); returns how many rows
    changed (see services.team_customer_counts_record)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return services.team_customer_counts_record(tenant=tenant, day=tenant_today(tenant))
