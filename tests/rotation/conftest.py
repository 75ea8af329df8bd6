"""A team on duty: world_a's team1 with three salespeople signed in, in this order."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from apps.customers.models import Customer
from apps.rotation.models import DutySignIn
from apps.rotation.services import duty_sign_in
from apps.tenancy.roles import Role


@dataclass
class Duty:
    world: object
    first: DutySignIn   # world.sales
    second: DutySignIn  # world.sales2
    third: DutySignIn   # sales4 (team1)
    sales4: object

    def refresh(self):
        with self.world.context():
            for s in (self.first, self.second, self.third):
                s.refresh_from_db()


def sign_in_team(world):
    sales4 = world.make_staff("sales4", [Role.SALES], world.team1)
    t = world.tenant
    return Duty(world,
                duty_sign_in(tenant=t, actor=world.sales, team=world.team1),
                duty_sign_in(tenant=t, actor=world.sales2, team=world.team1),
                duty_sign_in(tenant=t, actor=sales4, team=world.team1), sales4)


@pytest.fixture
def on_duty(world_a):
    return sign_in_team(world_a)


def backdate(world, customer: Customer, *, days: int, owned_days: int | None = None) -> None:
    """Pretend the customer's last visit (and the owner getting them) was `days` ago."""
    moment = timezone.now() - dt.timedelta(days=days)
    owned = timezone.now() - dt.timedelta(days=owned_days if owned_days is not None else days)
    with world.context():
        Customer.objects.filter(pk=customer.pk).update(last_visit_at=moment, owned_since=owned,
                                                       last_contact_at=moment)
