"""The manager dashboard (issue 9 item 3) through the whole stack, on the base bench data.

* Data: the base bench tenants (`bench.data`, loaded by the driver: 20 tenants x 50 000
  customers, each with 4 teams, a manager per team and an admin). Nothing is written.
* **dashboard_manager_p95_ms**: `GET /dashboards/manager/` (URL name "dashboards:manager")
  with Django's test Client (`force_login`: sessions in Redis, TenantMiddleware, the view,
  `apps.dashboards.selectors.manager_dashboard` and the template), as MANAGERS managers of
  teams spread over the bench tenants (a different team number in each), cycling over them:
  WARMUP requests, then REQUESTS timed ones; every answer must be 200 with the charts' data
  (`bench.util.time_page`). p50, max, the time in database round trips and the queries of
  one request are reported too.
* Diagnostics (no target): the same page as the admin of `bench-01` (the whole tenant:
  `dashboard_admin_*`, WARMUP + REQUESTS as above), and as the admin of each tenant of
  DIAGNOSTIC_TENANTS that another scenario has loaded (`bench-followups`: ~700 000 follow-up
  tasks due this month over 1 000 000 customers; `bench-referrals`: 1 000 000 referrals) --
  skipped when the tenant is absent; DIAG_WARMUP + DIAG_REQUESTS requests, the page being
  slow there. In `bench-followups` also as a manager of its first team
  (`dashboard_manager_followups_*`: ~70 000 of those tasks), the manager FOLLOWUPS_MANAGER
  created once through `staff_create` (the followups scenario counts only its salespeople).
  The base bench tenants hold customers only (no referrals, follow-ups, contracts or
  disputes): there the page's queries find little, so these diagnostics show what it costs
  with data behind its charts.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create
from bench.util import BenchContext, PageTiming, time_page

NAME = "dashboards"
DESCRIPTION = "GET /dashboards/manager/ through the whole stack (managers; admins as diagnostics)"
TARGETS = {"dashboard_manager_p95_ms": ("<=", 150.0)}

URL_NAME = "dashboards:manager"
MANAGERS = 5
WARMUP = 20
REQUESTS = 200
DIAG_WARMUP = 5
DIAG_REQUESTS = 40
DIAGNOSTIC_TENANTS = {"followups": "bench-followups", "referrals": "bench-referrals"}
FOLLOWUPS_MANAGER = "bench-followups-m1"


def _check(response) -> None:
    if b'id="dashboard-charts"' not in response.content:
        raise AssertionError("the manager dashboard came back without its charts' data")


def _managers(ctx: BenchContext) -> list[Staff]:
    """One manager in each of MANAGERS tenants spread over the bench tenants, a different
    team number each time."""
    step = max(1, len(ctx.tenants) // MANAGERS)
    chosen = []
    for n, bt in enumerate(ctx.tenants[::step][:MANAGERS]):
        manager = bt.managers[n % len(bt.managers)]
        if manager.team_id is None:
            raise AssertionError(f"{manager} has no team")
        chosen.append(manager)
    return chosen


def _admin_of(slug: str) -> Staff | None:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        return None
    with tenant_context(tenant):
        return (Staff.objects.select_related("user").filter(active=True, roles__contains=[Role.ADMIN])
                .order_by("id").first())


def _followups_manager() -> Staff | None:
    """The manager of the first team of bench-followups (created once); None without it."""
    tenant = Tenant.objects.filter(slug=DIAGNOSTIC_TENANTS["followups"]).first()
    if tenant is None:
        return None
    with tenant_context(tenant):
        manager = Staff.objects.select_related("user").filter(
            user__username=FOLLOWUPS_MANAGER).first()
        team = Team.objects.order_by("id").first()
    if manager is None and team is not None:
        with transaction.atomic():
            manager = staff_create(tenant=tenant, actor=None, username=FOLLOWUPS_MANAGER,
                                   password=None, name="经理1", roles=[Role.MANAGER], team=team)
    return manager


def _metrics(prefix: str, timing: PageTiming) -> dict[str, float]:
    return {f"{prefix}_p95_ms": timing.p95_ms, f"{prefix}_p50_ms": timing.p50_ms,
            f"{prefix}_max_ms": timing.max_ms, f"{prefix}_db_mean_ms": timing.db_mean_ms,
            f"{prefix}_queries": len(timing.queries)}


def _log_queries(ctx: BenchContext, timing: PageTiming) -> None:
    for q in timing.queries:
        ctx.log(f"    {q['time']}s  {q['sql'][:200]}")


def run(ctx: BenchContext) -> dict[str, float]:
    url = reverse(URL_NAME)
    managers = _managers(ctx)
    ctx.log(f"  managers: {', '.join(m.user.username for m in managers)}")
    timing = time_page(url, [m.user for m in managers], warmup=WARMUP, requests=REQUESTS,
                       check=_check)
    ctx.log(f"  manager: {timing.summary()}")
    _log_queries(ctx, timing)
    out = _metrics("dashboard_manager", timing)

    admin = ctx.tenants[0].admin
    timing = time_page(url, [admin.user], warmup=WARMUP, requests=REQUESTS, check=_check)
    ctx.log(f"  admin {admin.user.username}: {timing.summary()}")
    out.update(_metrics("dashboard_admin", timing))

    diagnostics = [(f"dashboard_admin_{key}", slug, _admin_of(slug))
                   for key, slug in DIAGNOSTIC_TENANTS.items()]
    diagnostics.append(("dashboard_manager_followups", FOLLOWUPS_MANAGER, _followups_manager()))
    for prefix, name, staff in diagnostics:
        if staff is None:
            ctx.log(f"  {name}: no such tenant (or no such staff) -- skipped")
            continue
        timing = time_page(url, [staff.user], warmup=DIAG_WARMUP, requests=DIAG_REQUESTS,
                           check=_check)
        ctx.log(f"  {staff.user.username}: {timing.summary()}")
        _log_queries(ctx, timing)
        out.update(_metrics(prefix, timing))
    return out
