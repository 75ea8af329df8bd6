"""Builders of the referral report tests: referrals and deals made directly (exact statuses,
creation times and signing dates)."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

from apps.deals.models import Deal
from apps.referrals.models import Referral, Referrer
from tests.customers.factories import next_phone
from tests.referrals.cards_helpers import make_customer

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def local(year, month, day, hour=12, minute=0) -> dt.datetime:
    """An aware moment of the Shanghai wall clock."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def customer(world, owner, name="客户"):
    return make_customer(world, name=name, phone=next_phone(), owner=owner)


def deal(world, cust, signed_on: dt.date, team, amount="10000.00") -> Deal:
    with world.context():
        return Deal.objects.create(
            tenant=world.tenant, customer=cust, kind=Deal.Kind.NEW, amount=Decimal(amount),
            signed_on=signed_on, contract_number=f"RPT-{next(_numbers):05d}",
            owner=cust.owner, team=team, created_by=world.admin)


def referral(world, referrer, *, created_at: dt.datetime, status="registered", by=None,
             cust=None, the_deal=None, reason="") -> Referral:
    """A referral in `status` (logged by `by`, else through the public link)."""
    with world.context():
        return Referral.objects.create(
            tenant=world.tenant, referrer=referrer,
            channel=Referral.Channel.STAFF if by else Referral.Channel.LINK,
            name=cust.name if cust else "朋友", phone=cust.phone if cust else next_phone(),
            customer=cust, status=status, created_by=by, created_at=created_at,
            deal=the_deal, converted_at=created_at + dt.timedelta(days=1) if the_deal else None,
            rejection_reason=reason)


class Dataset:
    """Tenant `world` in January–March 2026 (Shanghai time), the numbers worked out by hand in
    tests/referrals/test_reports.py. The referrer is an outside partner, so a salesperson sees
    only the referrals they logged or whose customer they own."""

    def __init__(self, world):
        w = self.world = world
        t1, t2 = w.team1, w.team2
        with w.context():
            self.referrer = Referrer.objects.create(tenant=w.tenant, kind=Referrer.Kind.PARTNER,
                                                    partner_name="合作方", partner_phone=next_phone())
        ref = self.referrer
        c = {name: customer(w, owner, name) for name, owner in (
            ("c1", w.sales), ("c2", w.sales), ("c3", w.sales_other_team), ("c7", w.sales),
            ("c8", w.admin), ("c11", w.sales), ("cx", w.sales), ("cy", w.sales_other_team))}
        d = self.deals = {
            "d1": deal(w, c["c1"], dt.date(2026, 2, 10), t1),
            "d2": deal(w, c["c2"], dt.date(2026, 2, 21), t1),
            "d3": deal(w, c["c3"], dt.date(2026, 1, 25), t2),
            "d4": deal(w, c["c8"], dt.date(2026, 3, 25), None),
            "d5": deal(w, c["cx"], dt.date(2026, 1, 15), t1),
            "d6": deal(w, c["cx"], dt.date(2026, 2, 10), t1),
            "d7": deal(w, c["cy"], dt.date(2026, 2, 28), t2),
            "d8": deal(w, c["cx"], dt.date(2026, 3, 31), t1),
            "d9": deal(w, c["cx"], dt.date(2026, 4, 1), t1),      # after the range
            "d10": deal(w, c["cy"], dt.date(2025, 12, 31), t2),   # before the range
            "d11": deal(w, c["c11"], dt.date(2026, 2, 2), t1),
        }
        self.referrals = {
            # 23:30 on 31 January in Shanghai (15:30 UTC): January.
            "r1": referral(w, ref, created_at=local(2026, 1, 31, 23, 30), status="paid",
                           by=w.sales, cust=c["c1"], the_deal=d["d1"]),
            # 00:10 on 1 February in Shanghai (still 31 January UTC): February.
            "r2": referral(w, ref, created_at=local(2026, 2, 1, 0, 10), status="reward_pending",
                           by=w.sales, cust=c["c2"], the_deal=d["d2"]),
            "r3": referral(w, ref, created_at=local(2026, 1, 5), status="reversed",
                           cust=c["c3"], the_deal=d["d3"]),
            "r4": referral(w, ref, created_at=local(2026, 1, 10), status="rejected",
                           by=w.sales_other_team, reason="duplicate"),
            "r5": referral(w, ref, created_at=local(2026, 1, 12), status="rejected", by=w.sales2,
                           reason="false_info"),
            "r6": referral(w, ref, created_at=local(2026, 1, 20)),
            "r7": referral(w, ref, created_at=local(2026, 1, 22), status="verified", by=w.sales,
                           cust=c["c7"]),
            "r8": referral(w, ref, created_at=local(2026, 2, 3), status="converted",
                           cust=c["c8"], the_deal=d["d4"]),
            # Rejected after its conversion: neither converted nor its deal referred.
            "r11": referral(w, ref, created_at=local(2026, 1, 8), status="rejected", by=w.sales,
                            cust=c["c11"], the_deal=d["d11"], reason="existing_customer"),
            # Outside the range by a few minutes (Shanghai time).
            "r9": referral(w, ref, created_at=local(2025, 12, 31, 23, 30), by=w.sales),
            "r10": referral(w, ref, created_at=local(2026, 4, 1, 0, 30), by=w.sales),
        }
