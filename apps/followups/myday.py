""""My day" (我的今天): one person's open follow-ups — overdue, today's by calling window, the
days ahead — with the script of each purpose and the customer's key facts (tier, last deal,
open complaint). Shared by the page and the API; a fixed number of queries whatever the list
length (the page must answer in 80 ms at the 95th percentile: `make bench`, `followups`)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from apps.deals.models import Deal
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Staff, Tenant
from apps.vip.models import CustomerTier
from apps.vip.services import scheme_for

from . import windows
from .models import FollowUpTask, Purpose
from .plan_versions import plan_for

#: At most this many tasks per list (the full list is the follow-ups page, filtered).
LIST_LIMIT = 50
UPCOMING_DAYS = 7


@dataclass
class CustomerFacts:
    tier_name: str = ""
    last_deal_on: dt.date | None = None
    last_deal_amount: Decimal | None = None
    open_complaint: bool = False


@dataclass
class Window:
    """Today's calls of one calling window (index None: outside the windows, e.g. SMS)."""
    index: int | None
    label: str
    tasks: list[FollowUpTask] = field(default_factory=list)


@dataclass
class MyDay:
    day: dt.date
    now: dt.datetime
    overdue: list[FollowUpTask]
    overdue_count: int
    today: list[FollowUpTask]
    #: All of today's open follow-ups (the list shows the first LIST_LIMIT * 2).
    today_count: int
    windows: list[Window]
    upcoming: list[FollowUpTask]
    done_today: int
    scripts: dict[str, str]
    facts: dict[int, CustomerFacts]



def day_bounds(tenant: Tenant, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    start = dt.datetime.combine(day, dt.time.min, zone)
    return start, start + dt.timedelta(days=1)


def customer_facts(customer_ids: set[int], tenant: Tenant) -> dict[int, CustomerFacts]:
    """Tier name, last deal and open complaint of each customer: three queries (and the tier
    scheme's, cached per process after the first)."""
    facts = {pk: CustomerFacts() for pk in customer_ids}
    if not customer_ids:
        return facts
    tiers = list(CustomerTier.objects.filter(customer_id__in=customer_ids)
                 .values_list("customer_id", "tier", "tier_order"))
    if tiers:
        _version, rules = scheme_for(tenant)
        for pk, tier, order in tiers:
            facts[pk].tier_name = rules.stored(tier, order).name
    last_deals = (Deal.objects.filter(customer_id__in=customer_ids)
                  .order_by("customer_id", "-signed_on", "-id").distinct("customer_id")
                  .values_list("customer_id", "signed_on", "amount"))
    for pk, signed_on, amount in last_deals:
        facts[pk].last_deal_on, facts[pk].last_deal_amount = signed_on, amount
    for pk in (FollowUpTask.objects.filter(customer_id__in=customer_ids,
                                           purpose=Purpose.COMPLAINT,
                                           status=FollowUpTask.Status.OPEN)
               .order_by().values_list("customer_id", flat=True).distinct()):
        facts[pk].open_complaint = True
    return facts


#: What the page and the API show of a task and its customer (a day lists up to 150 tasks:
#: loading every column cost a tenth of the request, `make bench`).
DAY_FIELDS = ("id", "tenant_id", "customer_id", "assignee_id", "status", "purpose", "channel",
              "due_at", "title", "attempt", "customer__id", "customer__name", "customer__phone")


def _open(staff: Staff) -> QuerySet:
    return (FollowUpTask.objects.filter(assignee=staff, status=FollowUpTask.Status.OPEN)
            .select_related("customer").only(*DAY_FIELDS).order_by("due_at", "id"))


def my_day(staff: Staff, *, tenant: Tenant | None = None,
           now: dt.datetime | None = None) -> MyDay:
    """The person's day, in the tenant in context."""
    tenant = tenant or staff.tenant
    now = now or timezone.now()
    day = tenant_today(tenant, now)
    start, end = day_bounds(tenant, day)
    _version, plan = plan_for(tenant, day)
    overdue = list(_open(staff).filter(due_at__lt=start)[:LIST_LIMIT])
    overdue_count = (len(overdue) if len(overdue) < LIST_LIMIT
                     else _open(staff).filter(due_at__lt=start).count())
    ahead = list(_open(staff).filter(
        due_at__gte=start, due_at__lt=end + dt.timedelta(days=UPCOMING_DAYS))[:LIST_LIMIT * 2])
    today = [t for t in ahead if t.due_at < end]
    upcoming = [t for t in ahead if t.due_at >= end][:LIST_LIMIT]
    today_count = (len(today) if len(ahead) < LIST_LIMIT * 2 or upcoming
                   else _open(staff).filter(due_at__gte=start, due_at__lt=end).count())
    done_today = FollowUpTask.objects.filter(
        assignee=staff, status=FollowUpTask.Status.DONE, completed_at__gte=start,
        completed_at__lt=end).count()
    groups = [Window(i, f"{a:%H:%M}–{b:%H:%M}") for i, (a, b) in enumerate(plan.windows)]
    other = Window(None, "")
    for task in today:
        index = windows.window_index(task.due_at, plan.windows, tenant.time_zone)
        (groups[index] if index is not None else other).tasks.append(task)
    if other.tasks:
        groups.append(other)
    shown = overdue + today + upcoming
    return MyDay(day=day, now=now, overdue=overdue, overdue_count=overdue_count, today=today,
                 today_count=today_count,
                 windows=groups, upcoming=upcoming, done_today=done_today,
                 scripts={p: plan.script(p) for p in {t.purpose for t in shown}},
                 facts=customer_facts({t.customer_id for t in shown}, tenant))
