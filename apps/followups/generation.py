"""The daily generation of follow-ups (the job `followups.generate`, per tenant).

For the days from today to today + the plan's `days_ahead`, one set-based INSERT … SELECT per
rule makes the tasks its rule gives, each with a `source_key` naming the rule, the customer
(or contract) and the period; the unique key makes a second run — or a run for overlapping
days — create nothing new (ON CONFLICT DO NOTHING). Before that, the grades of buyers are
refreshed from their units of the last 365 days.

Which days a customer is due (spread over the days and windows by the customer's id, so a
tenant's work is even across the calendar rather than piled on one day):

* grade A/B/C every N days: the days d with (d − 2000-01-01 + id) mod N = 0;
* VIP phone care every N months, SMS every M months: on day 1 + id mod 28 of the months m
  with (12·year + month − 1 + id) mod N = 0;
* birthday greetings on the birthday (29 February on the 28th in other years), for the
  customers whose tier has the greeting, or every customer (plan "all");
* renewal reminders at each of the renewals module's lead days before a contract's end, for
  contracts not renewed yet.

A day the rules give that is a public holiday moves to the next day that is not one when the
plan avoids holidays (PlanRules.due_day; the source_key keeps the rule's day, so the move never
makes a second task); birthdays stay on the day.

The assignee is the customer's owner (for a contract, its owner, else the customer's); only
active staff get tasks, so customers in the public pool get none until someone claims them.
Tasks go at the start of a calling window of their day. After-sale visits are made when the
deal is entered (services.followups_after_deal), complaints by people and by results.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from apps.core.versioning import advisory_lock
from apps.ownership.selectors import tenant_today
from apps.renewals.selectors import lead_days_for
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant
from apps.vip.selectors import care_plan

from .plan_versions import plan_for
from .plans import PlanRules

#: pg_advisory_xact_lock(job, tenant): one generation per tenant at a time.
LOCK_GENERATE = 8002
EPOCH = dt.date(2000, 1, 1)
YEAR_DAYS = 365

_COLUMNS = """(tenant_id, customer_id, assignee_id, team_id, channel, purpose, due_at, title,
               status, source_key, contract_id, attempt, result, result_notes, next_step,
               cancel_reason, created_at)"""
_CONFLICT = "ON CONFLICT (tenant_id, source_key) WHERE source_key <> '' DO NOTHING"


@dataclass
class Generated:
    grades_changed: int = 0
    created: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.created.values())


def _values(rows: list[tuple]) -> tuple[str, list]:
    """A VALUES list of typed rows — (rule day, due day, integers…) — and its parameters."""
    width = len(rows[0])
    one = "(" + ", ".join(["%s::date", "%s::date"] + ["%s::int"] * (width - 2)) + ")"
    return ", ".join([one] * len(rows)), [v for row in rows for v in row]


def refresh_grades(tenant: Tenant, plan: PlanRules, today: dt.date) -> int:
    """Set each buyer's grade from their units over the last 365 days (deals not fully
    refunded): the plan's first grade reached, else D. Customers who never bought keep the
    grade given by hand. Returns how many changed."""
    if not plan.grades:
        return 0
    case = " ".join(f"WHEN coalesce(u.n, 0) >= {int(g.min_units)} THEN '{g.grade}'"
                    for g in plan.grades)
    with connection.cursor() as cur:
        # Only validated integers and grade letters are formatted in.
        cur.execute(f"""
            WITH u AS (
                SELECT customer_id,
                       sum(units) FILTER (WHERE signed_on > %s AND refunded_amount < amount) AS n
                  FROM deals_deal WHERE tenant_id = %s GROUP BY customer_id)
            UPDATE customers_customer c
               SET grade = CASE {case} ELSE 'D' END
              FROM u
             WHERE c.id = u.customer_id AND c.tenant_id = %s
               AND c.grade <> CASE {case} ELSE 'D' END""",  # noqa: S608
                    [today - dt.timedelta(days=YEAR_DAYS), tenant.pk, tenant.pk])
        return cur.rowcount


def _insert(sql_from: str, params: list, *, tenant: Tenant, plan: PlanRules, now: dt.datetime,
            channel: str, purpose: str, key: str, slot: str = "c.id",
            assignee: str = "c.owner_id", team: str = "s.team_id",
            contract: str = "NULL") -> int:
    starts = [start.strftime("%H:%M") for start, _end in plan.windows]
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO followups_followuptask {_COLUMNS}
            SELECT %s, c.id, {assignee}, {team}, %s, %s,
                   (v.due + ((%s::text[])[1 + ({slot}) %% %s])::time) AT TIME ZONE %s,
                   '', 'open', {key}, {contract}, 1, '', '', '', '', %s
            {sql_from}
            {_CONFLICT}""",
                    [tenant.pk, channel, purpose, starts, len(starts), tenant.time_zone, now,
                     *params])
        return cur.rowcount


def generate_grade_visits(tenant: Tenant, plan: PlanRules, days: list[dt.date],
                          now: dt.datetime) -> int:
    created = 0
    for grade, every in plan.every_days().items():
        rows = [(day, plan.due_day(day), (-(day - EPOCH).days) % every) for day in days]
        values, params = _values(rows)
        created += _insert(f"""
            FROM customers_customer c
            JOIN tenancy_staff s ON s.id = c.owner_id AND s.active
            JOIN (VALUES {values}) AS v(day, due, r) ON c.id %% {int(every)} = v.r
           WHERE c.tenant_id = %s AND c.grade = %s""", [*params, tenant.pk, grade],
            tenant=tenant, plan=plan, now=now, channel="phone", purpose="periodic",
            key="'grade:' || c.id || ':' || v.day")
    return created


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def generate_vip_care(tenant: Tenant, plan: PlanRules, days: list[dt.date],
                      now: dt.datetime) -> int:
    if not plan.vip_care:
        return 0
    created = 0
    rows = [(day, plan.due_day(day), day.day, _month_index(day)) for day in days
            if day.day <= 28]
    if not rows:
        return 0
    values, params = _values(rows)
    for care in care_plan(tenant, days[0]):
        for every, channel, kind in ((care["phone_every_months"], "phone", "vip_phone"),
                                     (care["sms_every_months"], "sms", "vip_sms")):
            if not every:
                continue
            created += _insert(f"""
                FROM vip_customertier ct
                JOIN customers_customer c ON c.id = ct.customer_id
                JOIN tenancy_staff s ON s.id = c.owner_id AND s.active
                JOIN (VALUES {values}) AS v(day, due, dom, ym) ON 1 + c.id %% 28 = v.dom
               WHERE ct.tenant_id = %s AND ct.tier = %s AND (v.ym + c.id) %% {int(every)} = 0""",
                [*params, tenant.pk, care["tier"]], tenant=tenant, plan=plan, now=now,
                channel=channel, purpose="vip_care",
                key=f"'{kind}:' || c.id || ':' || to_char(v.day, 'YYYY-MM')")
    return created


def generate_birthdays(tenant: Tenant, plan: PlanRules, days: list[dt.date],
                       now: dt.datetime) -> int:
    if plan.birthday == "off":
        return 0
    # Greetings go out on the day itself, holiday or not.
    rows = [(day, day, day.month, day.day) for day in days]
    rows += [(day, day, 2, 29) for day in days
             if day.month == 2 and day.day == 28 and not calendar.isleap(day.year)]
    values, params = _values(rows)
    where, extra = "", []
    if plan.birthday == "vip":
        tiers = [care["tier"] for care in care_plan(tenant, days[0]) if care["birthday_greeting"]]
        if not tiers:
            return 0
        where = ("AND EXISTS (SELECT 1 FROM vip_customertier ct WHERE ct.customer_id = c.id "
                 "AND ct.tenant_id = c.tenant_id AND ct.tier = ANY(%s))")
        extra = [tiers]
    return _insert(f"""
        FROM customers_customer c
        JOIN tenancy_staff s ON s.id = c.owner_id AND s.active
        JOIN (VALUES {values}) AS v(day, due, m, d)
          ON extract(month FROM c.birthday) = v.m AND extract(day FROM c.birthday) = v.d
       WHERE c.tenant_id = %s AND c.birthday IS NOT NULL {where}""",
        [*params, tenant.pk, *extra], tenant=tenant, plan=plan, now=now, channel="sms",
        purpose="birthday", key="'birthday:' || c.id || ':' || extract(year FROM v.day)")


def generate_renewals(tenant: Tenant, plan: PlanRules, days: list[dt.date],
                      now: dt.datetime) -> int:
    if not plan.renewal:
        return 0
    created = 0
    for lead in lead_days_for(tenant):
        values, params = _values([(day, plan.due_day(day)) for day in days])
        created += _insert(f"""
            FROM deals_contract k
            JOIN customers_customer c ON c.id = k.customer_id
            JOIN tenancy_staff s ON s.id = coalesce(
                (SELECT o.id FROM tenancy_staff o WHERE o.id = k.owner_id AND o.active),
                c.owner_id) AND s.active
            JOIN (VALUES {values}) AS v(day, due) ON k."end" = v.day + {int(lead)}
           WHERE k.tenant_id = %s AND k.renewed_by_id IS NULL""",  # noqa: S608
            [*params, tenant.pk],
            tenant=tenant, plan=plan, now=now, channel="phone", purpose="renewal",
            key=f"'renewal:' || k.id || ':{int(lead)}'", slot="k.id", assignee="s.id",
            contract="k.id")
    return created


def generate(tenant: Tenant | int, *, today: dt.date | None = None,
             now: dt.datetime | None = None) -> Generated:
    """The daily job's body for one tenant (idempotent): refresh the grades, then make the
    tasks of today and the plan's days ahead. Returns what changed."""
    if not isinstance(tenant, Tenant):
        tenant = Tenant.objects.get(pk=tenant)
    now = now or timezone.now()
    today = today or tenant_today(tenant, now)
    out = Generated()
    with tenant_context(tenant):
        advisory_lock(LOCK_GENERATE, tenant)
        _version, plan = plan_for(tenant, today)
        days = [today + dt.timedelta(days=i) for i in range(plan.days_ahead + 1)]
        out.grades_changed = refresh_grades(tenant, plan, today)
        out.created["periodic"] = generate_grade_visits(tenant, plan, days, now)
        out.created["vip_care"] = generate_vip_care(tenant, plan, days, now)
        out.created["birthday"] = generate_birthdays(tenant, plan, days, now)
        out.created["renewal"] = generate_renewals(tenant, plan, days, now)
    return out
