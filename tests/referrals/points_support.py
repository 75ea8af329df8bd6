"""Shared by tests/referrals/test_points*.py: `pts`, world_a with referrers, items and points."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from apps.referrals import points
from apps.referrals.models import PointsItem, Referrer
from tests.customers.factories import CustomerFactory


@dataclass
class Pts:
    world: object
    referrer: Referrer        # a customer of world.sales (team1)
    other_referrer: Referrer  # a customer of world.sales_other_team
    staff_referrer: Referrer  # world.sales2 themselves
    partner: Referrer
    item: PointsItem          # 100 points
    big_item: PointsItem      # 500 points

    def earn(self, referrer, n, reason="test"):
        return points.points_earn(tenant=self.world.tenant, actor=None, referrer=referrer,
                                  points=n, reason=reason)

    def balance(self, referrer):
        with self.world.context():
            return points.points_balance(referrer)

    def request(self, actor, referrer=None, item=None, note=""):
        return points.redemption_request(tenant=self.world.tenant, actor=actor,
                                         referrer=referrer or self.referrer,
                                         item=item or self.item, note=note)

    def decide(self, actor, redemption, approve=True, note=""):
        return points.redemption_decide(tenant=self.world.tenant, actor=actor,
                                        redemption=redemption, approve=approve, note=note)


def make_pts(world) -> Pts:
    t = world.tenant
    with world.context():
        c1 = CustomerFactory(tenant=t, actor=world.sales)
        c2 = CustomerFactory(tenant=t, actor=world.sales_other_team)
        referrer = Referrer.objects.create(tenant=t, kind=Referrer.Kind.CUSTOMER, customer=c1)
        other = Referrer.objects.create(tenant=t, kind=Referrer.Kind.CUSTOMER, customer=c2)
        staff_ref = Referrer.objects.create(tenant=t, kind=Referrer.Kind.STAFF, staff=world.sales2)
        partner = Referrer.objects.create(tenant=t, kind=Referrer.Kind.PARTNER,
                                          partner_name="伙伴公司")
    item = points.points_item_create(tenant=t, actor=world.admin, name="带薪休假一天", points=100)
    big = points.points_item_create(tenant=t, actor=world.admin, name="购物卡", points=500)
    return Pts(world, referrer, other, staff_ref, partner, item, big)


@pytest.fixture(name="pts")
def pts_fixture(world_a) -> Pts:
    return make_pts(world_a)
