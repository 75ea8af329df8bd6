"""Query budget of the customer page now that it has an ownership section
(apps.ownership.selectors.ownership_summary): measured as the admin (who sees everything on it)
on a warm session, with N and 2N changes of owner, credit shares, visits and relations: the
count is the same and within the budget."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.customers.models import OwnershipChange
from apps.customers.services import customer_owner_set, relation_add
from apps.ownership.models import OwnershipShare, Visit
from apps.tenancy.roles import Role
from tests.query_budgets import assert_flat

from .factories import CustomerFactory

_suffixes = itertools.count(1)
REASONS = [OwnershipChange.Reason.REASSIGNMENT, OwnershipChange.Reason.DISPUTE,
           OwnershipChange.Reason.WALK_IN, OwnershipChange.Reason.CLAIM]


class Life:
    """One customer that keeps changing hands (between salespeople of both teams, through the
    pool), earns credit shares, visits and gets relatives."""

    def __init__(self, world):
        self.world = world
        self.customer = CustomerFactory(tenant=world.tenant, actor=world.sales, name="钱多多")
        self.moves = 0

    def grow(self, n: int) -> None:
        """`n` changes of owner (every fifth to the pool, by the system), `n // 2` credit
        shares (one new salesperson each), `n // 3` visits and `n // 3` relatives."""
        w, t = self.world, self.world.tenant
        owners = [w.sales2, w.sales_other_team, w.manager, None, w.sales]
        actors = [w.admin, w.manager, w.admin, None, w.admin]
        for _ in range(n):
            i = self.moves
            self.moves += 1
            owner, actor = owners[i % 5], actors[i % 5]
            reason = OwnershipChange.Reason.RELEASE if owner is None else REASONS[i % 4]
            self.customer = customer_owner_set(tenant=t, actor=actor, customer=self.customer,
                                               owner=owner, reason=reason, note=f"第{i}次")
        with w.context():
            for k in range(n // 2):
                person = w.make_staff(f"share{next(_suffixes)}", [Role.SALES],
                                      w.team1 if k % 2 else w.team2)
                OwnershipShare.objects.create(tenant=t, customer=self.customer, staff=person,
                                              percent=Decimal("10"))
            for k in range(n // 3):
                receiver = [w.sales, w.sales2, w.sales_other_team][k % 3]
                Visit.objects.create(tenant=t, customer=self.customer, team=receiver.team,
                                     received_by=receiver, attributed_to=w.sales,
                                     courtesy=receiver != w.sales,
                                     at=timezone.now() - dt.timedelta(hours=k + 1))
        for k in range(n // 3):
            relative = CustomerFactory(tenant=t, actor=[w.sales, w.sales_other_team][k % 2])
            relation_add(tenant=t, actor=w.admin, customer=self.customer, related=relative,
                         kind="relative")


@pytest.mark.django_db
def test_detail_page_query_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    life = Life(w)
    client = client_for(w.admin)
    url = reverse("customers:detail", args=[life.customer.pk])
    response = assert_flat(client, url, life.grow, n=6)
    ownership = response.context["ownership"]
    assert len(ownership["history"]) == 13 and len(ownership["shares"]) == 6
    assert len(ownership["visits"]) == 4 and len(response.context["relations"]) == 4
    # 7 of plumbing (savepoint, user, app.user_id, membership, app.tenant_id set and reset,
    # release; the session is cached) + the customer (owner, team, registrar, previous owner
    # joined);
    # relations: recorded on it, on others about it, which relatives the viewer may see;
    # history: the audit entries (actor joined), which related customers the viewer may see,
    # may the viewer edit it, the names of the owners, teams and related customers in it;
    # ownership: the credit shares (staff joined), the latest visits (receiver joined), the
    # changes of owner (both owners and the actor joined); deals: the customer's deals and
    # contracts the viewer may see; referrals: who referred the customer, the customer as a
    # referral member; vip: the tier row (none here: a customer with a tier adds the scheme,
    # the vouchers and gifts and the card, apps.vip.selectors); follow-ups: the newest the
    # viewer sees (assignee joined); the policy versions are cached + the unread badge.
    with django_assert_max_num_queries(27):
        response = client.get(url)
    html = response.content.decode()
    section = html[html.index('id="ownership"'):html.index('id="relations"')]
    assert section.count('<li class="list-group-item">') == 13  # the changes of owner
