"""Reads about ownership shared by pages, the API and the other services."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from apps.tenancy.models import Tenant

from .models import OwnershipPolicy
from .rules import DEFAULT_POLICY, PolicyRules


def tenant_today(tenant: Tenant, now: dt.datetime | None = None) -> dt.date:
    return local_date(tenant, now or timezone.now())


def local_date(tenant: Tenant, moment: dt.datetime | None) -> dt.date | None:
    if moment is None:
        return None
    return moment.astimezone(zoneinfo.ZoneInfo(tenant.time_zone)).date()


def local_midnight(tenant: Tenant, day: dt.date) -> dt.datetime:
    """The aware start of `day` in the tenant's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(tenant.time_zone))


def policy_rules(row: OwnershipPolicy | None) -> PolicyRules:
    if row is None:
        return DEFAULT_POLICY
    return PolicyRules(
        version=row.version, effective_from=row.effective_from,
        release_after_days=row.release_after_days, revisit_window_days=row.revisit_window_days,
        warn_before_days=row.warn_before_days, max_customers_per_owner=row.max_customers_per_owner,
        daily_claim_cap=row.daily_claim_cap, reclaim_after_days=row.reclaim_after_days)


def policy_for(tenant: Tenant, day: dt.date | None = None) -> PolicyRules:
    """The policy in force on `day` (default: today in the tenant's time zone); call inside the
    tenant's context."""
    day = day or tenant_today(tenant)
    row = (OwnershipPolicy.objects.filter(effective_from__lte=day)
           .order_by("-effective_from", "-version").first())
    return policy_rules(row)
