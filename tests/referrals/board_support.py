"""Builders of the honour board tests."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

from apps.customers.models import Customer
from apps.deals.models import Deal
from apps.referrals import referrers as svc
from apps.referrals.models import Referral, Referrer
from tests.referrals.cards_helpers import customer_referrer

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def at(y, m, d, hh=12, mm=0) -> dt.datetime:
    """An aware Beijing time."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def staff_referrer(world, staff):
    return svc.referrer_register_staff(tenant=world.tenant, actor=world.manager, staff=staff)


def new_customer_referrer(world, name="王五"):
    n = next(_seq)
    return customer_referrer(world, phone=f"1370000{n:04d}", name=name, seq=n % 900 + 11)


def success(world, referrer, when: dt.datetime, status="converted") -> Referral:
    """A referral of `referrer` in `status` converted at `when` (with its own referred customer
    and a minimal deal), written directly."""
    n = next(_seq)
    with world.context():
        customer = Customer.objects.create(tenant=world.tenant, name=f"客{n}",
                                           phone=f"1360000{n:04d}", owner=world.sales)
        deal = Deal.objects.create(tenant=world.tenant, customer=customer, kind="new",
                                   amount=Decimal("1000"), signed_on=when.date(),
                                   contract_number=f"BT-{n}")
        extra = {}
        if status in Referral.SUCCESS_STATUSES or status == "reversed":
            extra = {"deal": deal, "converted_at": when}
        if status == "rejected":
            extra = {"rejection_reason": "expired"}
        return Referral.objects.create(
            tenant=world.tenant, referrer=referrer, channel="staff", name=customer.name,
            phone=customer.phone, customer=customer, status=status,
            created_at=when - dt.timedelta(days=3), **extra)


def successes(world, referrer, when: dt.datetime, n: int) -> list[Referral]:
    return [success(world, referrer, when + dt.timedelta(minutes=i)) for i in range(n)]


def names(rows) -> list[tuple[str, int]]:
    return [(r.name, r.successes) for r in rows]


__all__ = ["Referrer", "at", "new_customer_referrer", "staff_referrer", "success",
           "successes", "names"]
