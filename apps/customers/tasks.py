"""Periodic customer jobs. Each runs inside one tenant's context (see apps.tenancy.tasks)."""

from __future__ import annotations

import zoneinfo

from django.db.models import Count
from django.utils import timezone

from apps.tenancy.models import Team, Tenant
from apps.tenancy.tasks import tenant_task

from .models import Customer, TeamCustomerCount


def tenant_today(tenant: Tenant):
    return timezone.now().astimezone(zoneinfo.ZoneInfo(tenant.time_zone)).date()


@tenant_task(name="customers.count_team_customers")
def count_team_customers(tenant_id: int) -> int:
    """Today's snapshot (in the tenant's time zone): one row per team, plus one with team=None
    for unassigned customers. Idempotent: a row is written only when its count changed, so a
    second run on the same day leaves every row as it was. Returns how many rows it wrote."""
    tenant = Tenant.objects.get(pk=tenant_id)
    day = tenant_today(tenant)
    counts: dict[int | None, int] = {pk: 0 for pk in Team.objects.values_list("pk", flat=True)}
    counts[None] = 0
    for row in Customer.objects.order_by().values("team_id").annotate(n=Count("id")):
        counts[row["team_id"]] = row["n"]
    existing = {row.team_id: row for row in TeamCustomerCount.objects.filter(day=day)}
    written = 0
    for team_id, n in counts.items():
        row = existing.get(team_id)
        if row is not None and row.customers == n:
            continue
        TeamCustomerCount.objects.update_or_create(
            tenant_id=tenant_id, team_id=team_id, day=day, defaults={"customers": n})
        written += 1
    return written
