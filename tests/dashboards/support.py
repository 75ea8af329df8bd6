"""The data of the dashboard tests: a tenant with customers, follow-ups due today, referrals in
several statuses logged by two teams this month, a dispute waiting for the team's manager, a
contract about to expire and settlements of this month and earlier ones.

Everything is placed relative to the tenant's today (the dashboards show "this month" and
"today"); nothing asserted depends on the day the suite runs."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

from django.utils import timezone

from apps.commissions.models import CommissionLine, Settlement
from apps.deals.models import Deal
from apps.disputes import services as dispute_services
from apps.followups.models import FollowUpTask
from apps.followups.myday import day_bounds
from apps.ownership.selectors import tenant_today
from apps.referrals.models import Referral
from apps.referrals.referrers import referrer_register_staff
from apps.referrals.reports import add_months
from tests.conftest import login
from tests.customers.factories import CustomerFactory
from tests.renewals.helpers import make_contract

_numbers = itertools.count(1)


def customer(world, owner):
    return CustomerFactory(tenant=world.tenant, actor=world.admin, owner=owner)


def task(world, assignee, cust, due_at, status=FollowUpTask.Status.OPEN):
    with world.context():
        return FollowUpTask.objects.create(
            tenant=world.tenant, customer=cust, assignee=assignee, team=assignee.team,
            channel="phone", purpose="periodic", due_at=due_at, status=status,
            completed_at=due_at if status == FollowUpTask.Status.DONE else None,
            result="reached" if status == FollowUpTask.Status.DONE else "",
            satisfaction=5 if status == FollowUpTask.Status.DONE else None)


def referral(world, referrer, by, status, *, when=None):
    """A referral logged by `by` now (or `when`) in `status`, with its own referred customer
    owned by `by` (and, once converted, a deal converted now)."""
    when = when or timezone.now()
    cust = customer(world, by)
    extra = {}
    if status in (*Referral.SUCCESS_STATUSES, Referral.Status.REVERSED):
        with world.context():
            deal = Deal.objects.create(
                tenant=world.tenant, customer=cust, kind=Deal.Kind.NEW, amount=Decimal("1000"),
                signed_on=tenant_today(world.tenant), contract_number=f"DB-{next(_numbers):05d}",
                owner=by, team=by.team, created_by=by)
        extra = {"deal": deal, "converted_at": when}
    if status == Referral.Status.REJECTED:
        extra = {"rejection_reason": "duplicate"}
    with world.context():
        return Referral.objects.create(
            tenant=world.tenant, referrer=referrer, channel=Referral.Channel.STAFF,
            name=cust.name, phone=cust.phone, customer=cust, status=status, created_by=by,
            created_at=when, **extra)


def settlement(world, month, status, lines):
    """A settlement of `month` with `lines` [(staff, kind, result)], then set to `status`."""
    total = sum((Decimal(r) for _s, _k, r in lines), Decimal("0.00"))
    with world.context():
        row = Settlement.objects.create(
            tenant=world.tenant, month=month, status=Settlement.Status.CALCULATED, runs=1,
            calculated_at=timezone.now(), calculated_by=world.finance, total=total,
            line_count=len(lines), people=len({s.pk for s, _k, _r in lines}))
        for position, (staff, kind, result) in enumerate(lines):
            CommissionLine.objects.create(tenant=world.tenant, settlement=row, staff=staff,
                                          team=staff.team, kind=kind, result=Decimal(result),
                                          position=position)
        if status != Settlement.Status.CALCULATED:
            Settlement.objects.filter(pk=row.pk).update(status=status)
            row.status = status
    return row


class Data:
    def __init__(self, world):
        w = self.world = world
        t = w.tenant
        self.today = tenant_today(t)
        self.month = self.today.replace(day=1)
        start, end = day_bounds(t, self.today)
        noon = start + dt.timedelta(hours=12)

        # Customers: three of sales, one of sales2.
        self.mine = [customer(w, w.sales) for _ in range(3)]
        customer(w, w.sales2)

        # Follow-ups of sales: two due today, one overdue, one done today; one of sales2.
        c = self.mine[0]
        task(w, w.sales, c, noon)
        task(w, w.sales, c, end - dt.timedelta(minutes=1))
        task(w, w.sales, c, start - dt.timedelta(hours=2))
        task(w, w.sales, c, start + dt.timedelta(hours=1), status=FollowUpTask.Status.DONE)
        task(w, w.sales2, self.mine[1], noon)

        # Referrals this month: team 1 (sales, sales2) and team 2 (sales_other_team).
        # The referrer is sales2 (a staff referrer: on the honour board).
        self.partner = referrer_register_staff(tenant=t, actor=w.manager, staff=w.sales2)
        S = Referral.Status
        for by, status in ((w.sales, S.REGISTERED), (w.sales, S.REGISTERED),
                           (w.sales, S.VERIFIED), (w.sales, S.CONVERTED),
                           (w.sales, S.APPROVED), (w.sales, S.PAID), (w.sales, S.REJECTED),
                           (w.sales2, S.REWARD_PENDING), (w.sales2, S.REVERSED),
                           (w.sales_other_team, S.PAID), (w.sales_other_team, S.REGISTERED)):
            referral(w, self.partner, by, status)
        # Two months ago (team 1): one created, converted; in the trend, not in the funnel.
        earlier = timezone.now() - dt.timedelta(days=62)
        referral(w, self.partner, w.sales, S.PAID, when=earlier)
        referral(w, self.partner, w.sales, S.REJECTED, when=earlier)

        # A dispute of team 1 (owner sales, claimant sales2): waiting for the manager.
        self.dispute = dispute_services.dispute_open(
            tenant=t, actor=w.sales2, customer=self.mine[2], claimant=w.sales2, claim="先联系的我")

        # Contracts: one of team 1 ending in 10 days, one of team 2 in 5, one in 200.
        make_contract(w, w.sales, end=self.today + dt.timedelta(days=10))
        make_contract(w, w.sales_other_team, end=self.today + dt.timedelta(days=5))
        make_contract(w, w.sales, end=self.today + dt.timedelta(days=200))

        # Settlements: this month calculated (sales 1 200.50 − 50 penalty), two months ago
        # paid, three months ago closed.
        self.current = settlement(w, self.month, Settlement.Status.CALCULATED, [
            (w.sales, "rate", "1200.50"), (w.sales, "penalty", "-50.00"),
            (w.sales2, "rate", "300.00")])
        self.paid = settlement(w, add_months(self.month, -2), Settlement.Status.PAID, [
            (w.sales, "rate", "800.00"), (w.sales_other_team, "rate", "99.99")])
        self.closed = settlement(w, add_months(self.month, -3), Settlement.Status.CLOSED, [
            (w.sales2, "rate", "10.00")])


# --------------------------------------------------------------------------- reading pages


def get(staff, url, params=None):
    response = login(staff).get(url, params or {})
    assert response.status_code == 200, (url, response.status_code)
    return response


def figure(response, name) -> str:
    """The text of the element marked data-figure="name" on the page."""
    found = re.search(rf'data-figure="{name}">([^<]*)<', response.content.decode())
    assert found, name
    return found.group(1).strip()


def table_rows(response, table_id) -> list[list[str]]:
    """The cells of every row of the table `table_id` (tags stripped)."""
    html = response.content.decode()
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, table_id
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows.append(cells)
    return rows
