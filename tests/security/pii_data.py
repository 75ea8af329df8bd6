"""The data of the PII masking audit: one tenant (tests/isolation/data.populate: customers,
a deal, a dispute, a VIP card, follow-ups, referrals...) plus what makes every masking branch
reachable: a second team's manager, a follow-up of another team about the owner's customer, a
referral linked to that customer, and a referral left on the public page with an ID number.

The people whose phone and ID number are searched for in every response (`people`):

* C, the customer owned by `sales` in team 1 (the deal, the dispute, the VIP card,
  the follow-ups and the linked referral are about them);
* R, the customer owned by `sales2` who refers (the card of the public page);
* P, the friend who left name, phone and ID number on the public referral page (not
  a customer yet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from apps.core.identity import make_resident_id, mask_id_number, mask_phone
from apps.followups.models import FollowUpTask
from apps.referrals.models import Referral, RewardPolicy
from apps.referrals.public import referral_submit_public
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import TenantWorld, api_login
from tests.isolation.data import populate

PUBLIC_PHONE = "13912349876"
PUBLIC_ID = make_resident_id("110105", dt.date(1985, 5, 5), 123)


@dataclass(frozen=True)
class Person:
    phone: str
    id_number: str

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def id_masked(self) -> str:
        return mask_id_number(self.id_number)


class PiiWorld:
    def __init__(self):
        self.world = w = TenantWorld("tenant-a", "甲家居")
        self.manager2 = w.make_staff("manager2", [Role.MANAGER], w.team2)
        self.data = d = populate(w)
        self.customer, self.referrer_customer = d.customers[0], d.customers[1]
        tenant, now = w.tenant, timezone.now()
        with tenant_context(tenant):
            RewardPolicy.objects.filter(pk=d.reward_policy.pk).update(rules={"public_board": True})
            # Team 2's follow-up about team 1's customer (e.g. after a transfer): team 2's
            # manager has it in the report but may not see the customer.
            self.other_team_followup = FollowUpTask.objects.create(
                tenant=tenant, customer=self.customer, assignee=w.sales_other_team,
                team=w.team2, channel="phone", purpose="complaint",
                due_at=now + dt.timedelta(hours=2), title="PII-OTHER-TEAM")
            # A referral of the customer, logged by their owner and made by sales2's customer:
            # sales2 sees it (their referrer) but not the customer.
            self.linked_referral = Referral.objects.create(
                tenant=tenant, referrer=d.referrer, card=d.card, channel=Referral.Channel.STAFF,
                name=self.customer.name, phone=self.customer.phone, customer=self.customer,
                created_by=w.sales)
        self.public_referral = referral_submit_public(
            tenant=tenant, card=d.card, name="Pub路人", phone=PUBLIC_PHONE, id_number=PUBLIC_ID)
        self.people = {  # keyed by their letter in the test's MATRIX
            "C": Person(self.customer.phone, self.customer.id_number),
            "R": Person(self.referrer_customer.phone, self.referrer_customer.id_number),
            "P": Person(PUBLIC_PHONE, PUBLIC_ID),
        }
        self.staff = {"admin": w.admin, "manager": w.manager, "manager2": self.manager2,
                      "sales": w.sales, "sales2": w.sales2, "sales3": w.sales_other_team,
                      "cs": w.cs, "finance": w.finance}
        # Logged in once (sessions are cached_db: they outlive the per-test cache.clear()).
        self.clients = {role: api_login(staff) for role, staff in self.staff.items()}


def build_pii_world() -> PiiWorld:
    return PiiWorld()
