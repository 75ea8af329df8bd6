"""Deals in world_a: an education rule set in force today, teachers and a consultant, customers
of sales (team1) and of sales3 (team2), and `make_deal` entering deals through the service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from apps.core.models import AuditEntry
from apps.customers.models import Customer
from apps.deals import services
from apps.deals.models import Contract, Deal, DealCredit, DealParticipant, Refund
from apps.deals.rulesets import rule_set_create
from apps.notifications.models import Notification
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Tenant
from apps.tenancy.roles import Role
from tests.customers.factories import CustomerFactory


@dataclass
class Edu:
    """world_a set up as an education business (industry "education", and the education preset
    saved as rule set version 1 in force from today)."""

    world: object
    today: dt.date
    rule_set: object
    consultant: object
    teacher1: object
    teacher2: object
    teacher3: object
    advisor: object
    customer: Customer          # owned by world.sales (team1)
    other_customer: Customer    # owned by world.sales_other_team (team2)

    @property
    def tenant(self):
        return self.world.tenant


@pytest.fixture
def edu(world_a) -> Edu:
    w = world_a
    t = w.tenant
    # An education business: its industry preset splits deals signed before its own rule set.
    Tenant.objects.filter(pk=t.pk).update(industry=Tenant.Industry.EDUCATION)
    t.industry = Tenant.Industry.EDUCATION
    today = tenant_today(t)
    rule_set = rule_set_create(tenant=t, actor=None, effective_from=today, name="教育默认",
                               preset="education")
    mk = w.make_staff
    return Edu(
        world=w, today=today, rule_set=rule_set,
        consultant=mk("consultant", [Role.SALES], w.team1),
        teacher1=mk("teacher1", [Role.SALES], w.team1),
        teacher2=mk("teacher2", [Role.SALES], w.team1),
        teacher3=mk("teacher3", [Role.SALES], w.team1),
        advisor=mk("advisor", [Role.SALES], w.team1),
        customer=CustomerFactory(tenant=t, actor=w.sales, name="张同学"),
        other_customer=CustomerFactory(tenant=t, actor=w.sales_other_team, name="王同学"),
    )


_numbers = iter(range(1, 10**6))


def next_number() -> str:
    return f"HT{next(_numbers):06d}"


def make_deal(edu: Edu, *, actor=None, customer=None, kind="new", amount="10000.00",
              signed_on=None, participants=None, **kw) -> Deal:
    """A deal entered through the service (defaults: a new deal of edu.customer, by the admin,
    the consultant closing it)."""
    w = edu.world
    signed_on = signed_on or edu.today
    if kind == "renewal" and "term_start" not in kw:  # a renewal starts a new term
        kw.setdefault("term_start", signed_on)
        kw.setdefault("term_end", signed_on + dt.timedelta(days=364))
    return services.deal_create(
        tenant=w.tenant, actor=actor or w.admin, customer=customer or edu.customer, kind=kind,
        amount=Decimal(amount), signed_on=signed_on,
        contract_number=kw.pop("contract_number", None) or next_number(),
        participants=participants if participants is not None else [
            (edu.consultant, "consultant", "")],
        **kw)


def make_contract(edu: Edu, *, customer=None, start=None, end=None, number=None) -> Contract:
    """A contract of the customer (made directly: what a renewal renews)."""
    with edu.world.context():
        start = start or edu.today - dt.timedelta(days=100)
        return Contract.objects.create(
            tenant=edu.tenant, customer=customer or edu.customer, number=number or next_number(),
            start=start, end=end or start + dt.timedelta(days=365), amount=Decimal("20000"))


def credit_of(world, deal) -> list[tuple]:
    """(staff id, role code, percent, amount, confiscated, refund id) of every credit line."""
    with world.context():
        return list(DealCredit.objects.filter(deal_id=deal.pk).order_by("refund_id", "id")
                    .values_list("staff_id", "role_code", "percent", "amount", "confiscated",
                                 "refund_id"))


def net_of(world, deal) -> dict:
    out: dict = {}
    for staff_id, _role, _pct, amount, _conf, _refund in credit_of(world, deal):
        out[staff_id] = out.get(staff_id, Decimal("0")) + amount
    return out


def counts(world) -> dict:
    """How many rows of everything a deal or a refund writes (to assert nothing changed)."""
    with world.context():
        return {
            "deals": Deal.objects.count(), "participants": DealParticipant.objects.count(),
            "credits": DealCredit.objects.count(), "refunds": Refund.objects.count(),
            "contracts": Contract.objects.count(),
            "audit": AuditEntry.objects.filter(target_type="deals.deal").count(),
            "notifications": Notification.objects.count(),
            "refunded": sorted(Deal.objects.values_list("pk", "refunded_amount")),
        }
