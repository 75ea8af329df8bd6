"""Helpers of the renewals tests (no tests here): customers, contracts and deals of a world.

Days are pinned where the rule depends on them: the services take `today=`; the pages use
the tenant's today, so page tests build their contracts around `tenant_today`."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from apps.deals.contracts import contract_create
from apps.deals.models import Contract, Deal
from apps.notifications.models import Notification
from apps.ownership.selectors import tenant_today
from apps.renewals.models import RenewalReminder
from tests.customers.factories import CustomerFactory

D = dt.date(2026, 3, 1)
_numbers = itertools.count(1)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def today(world) -> dt.date:
    return tenant_today(world.tenant)


def make_customer(world, owner=None, **fields):
    """A customer registered through the service, owned by `owner` (default world.sales)."""
    return CustomerFactory(tenant=world.tenant, actor=world.admin, owner=owner or world.sales,
                           **fields)


def make_contract(world, owner=None, *, customer=None, start: dt.date | None = None,
                  end: dt.date | None = None, amount="10000.00", hours=None,
                  number: str | None = None) -> Contract:
    """A contract entered without a deal (by the admin) for a customer of `owner` (default
    world.sales): the contract's owner and team are the customer's."""
    customer = customer or make_customer(world, owner)
    end = end or D + days(30)
    start = start or end - days(365)
    return contract_create(tenant=world.tenant, actor=world.admin, customer=customer,
                           number=number or f"HT-{world.tenant.slug}-{next(_numbers):05d}",
                           start=start, end=end, amount=Decimal(amount),
                           hours_bought=Decimal(hours) if hours is not None else None)


def make_deal(world, customer, *, signed_on: dt.date, amount="20000.00",
              kind=Deal.Kind.RENEWAL, number: str | None = None, owner=None, **fields) -> Deal:
    """A deal row made directly (the deals service is another helper's): what
    contract_create_for_deal reads."""
    owner = owner or customer.owner
    with world.context():
        return Deal.objects.create(
            tenant=world.tenant, customer=customer, kind=kind, amount=Decimal(amount),
            signed_on=signed_on, contract_number=number or f"DL-{next(_numbers):05d}",
            owner=owner, team=owner.team if owner else None, created_by=world.admin, **fields)


def fresh(world, contract) -> Contract:
    with world.context():
        return (Contract.objects.select_related("renewed_by", "owner", "team", "created_by")
                .get(pk=contract.pk))


def contracts_state(world) -> list[tuple]:
    with world.context():
        return list(Contract.objects.order_by("pk").values_list(
            "pk", "number", "start", "end", "amount", "hours_bought", "hours_consumed",
            "owner_id", "team_id", "renewed_by_id", "notes"))


def reminders(world) -> list[tuple[int, int]]:
    """(contract id, lead days) of every reminder logged, sorted."""
    with world.context():
        return sorted(RenewalReminder.objects.values_list("contract_id", "lead_days"))


def notifications(world, staff=None) -> list[Notification]:
    with world.context():
        qs = Notification.objects.order_by("pk")
        if staff is not None:
            qs = qs.filter(recipient=staff)
        return list(qs)
