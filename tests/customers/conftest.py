"""Customers of every kind of owner in world_a (and a few in world_b)."""

from dataclasses import dataclass

import pytest

from apps.customers.models import Customer

from .factories import CustomerFactory


@dataclass
class Book:
    """world_a's customers, by who owns them."""

    own: Customer           # owned by sales (team1)
    own2: Customer          # owned by sales2 (team1)
    other_team: Customer    # owned by sales_other_team (team2)
    manager_own: Customer   # owned by the manager (team1)
    unowned: Customer       # no owner, no team (registered by customer service)
    admin_team2: Customer   # no owner, team2 (registered by the admin)

    @property
    def all(self):
        return [self.own, self.own2, self.other_team, self.manager_own, self.unowned,
                self.admin_team2]


@pytest.fixture
def book(world_a):
    w = world_a
    t = w.tenant
    return Book(
        own=CustomerFactory(tenant=t, actor=w.sales, name="张三"),
        own2=CustomerFactory(tenant=t, actor=w.sales2, name="李四"),
        other_team=CustomerFactory(tenant=t, actor=w.sales_other_team, name="王五"),
        manager_own=CustomerFactory(tenant=t, actor=w.manager, owner=w.manager, name="赵六"),
        unowned=CustomerFactory(tenant=t, actor=w.cs, name="孙七"),
        admin_team2=CustomerFactory(tenant=t, actor=w.admin, team=w.team2, name="周八"),
    )
