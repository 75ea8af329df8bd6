"""A customer owned by world_a.sales (team1) met by sales2, disputes in every state, and a
snapshot of everything a dispute step may change (to assert that a refusal changed nothing)."""

from decimal import Decimal

import pytest

from apps.core.models import AuditEntry
from apps.customers.models import Customer, OwnershipChange
from apps.disputes import services
from apps.disputes.models import Dispute, DisputeEvidence, DisputeShare
from apps.notifications.models import Notification
from apps.ownership.models import OwnershipShare
from apps.tenancy.roles import Role
from tests.customers.factories import CustomerFactory

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def customer(world_a):
    return CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三")


@pytest.fixture
def dispute(world_a, customer):
    """Open: owner sales, claimant sales2, team1 (judged by world_a.manager)."""
    return services.dispute_open(tenant=world_a.tenant, actor=world_a.sales2, customer=customer,
                                 claimant=world_a.sales2, claim="客户说先联系的我")


@pytest.fixture
def manager2(world_a):
    """A second manager of team1."""
    return world_a.make_staff("manager2", [Role.MANAGER], world_a.team1)


def half(world):
    return {world.sales: Decimal("50"), world.sales2: Decimal("50")}


def make_in_status(world, dispute, status: str) -> Dispute:
    """Bring an open dispute to `status` through the services."""
    t = world.tenant
    if status in ("proposed", "approved"):
        dispute = services.dispute_propose(tenant=t, actor=world.sales, dispute=dispute,
                                           shares=half(world), note="各一半")
    if status == "approved":
        dispute = services.dispute_approve(tenant=t, actor=world.manager, dispute=dispute)
    elif status == "decided":
        dispute = services.dispute_decide(tenant=t, actor=world.manager, dispute=dispute,
                                          outcome="award_owner", note="先登记者得")
    elif status == "escalated":
        dispute = services.dispute_escalate(tenant=t, actor=world.sales2, dispute=dispute,
                                            reason="协商不成")
    elif status == "withdrawn":
        dispute = services.dispute_withdraw(tenant=t, actor=world.sales2, dispute=dispute)
    assert dispute.status == status
    return dispute


def snapshot(world, dispute) -> dict:
    """Everything a step on `dispute` may change."""
    with world.context():
        d = Dispute.objects.get(pk=dispute.pk)
        c = Customer.objects.get(pk=d.customer_id)
        return {
            "dispute": {f.attname: getattr(d, f.attname) for f in Dispute._meta.concrete_fields
                        if f.attname != "updated_at"},
            "shares": sorted(DisputeShare.objects.filter(dispute=d)
                             .values_list("stage", "staff_id", "percent")),
            "credit": sorted(OwnershipShare.objects.filter(customer=c)
                             .values_list("staff_id", "percent", "confiscated", "active")),
            "owner": (c.owner_id, c.team_id),
            "changes": OwnershipChange.objects.filter(customer=c).count(),
            "audit": AuditEntry.objects.filter(target_type="disputes.dispute",
                                               target_id=d.pk).count(),
            "evidence": DisputeEvidence.objects.filter(dispute=d).count(),
            "notifications": Notification.objects.count(),
        }


def fresh(world, dispute) -> Dispute:
    with world.context():
        return Dispute.objects.select_related("customer", "decided_owner").get(pk=dispute.pk)


def credit(world, customer) -> list:
    """The customer's active credit shares as (staff id, percent, confiscated)."""
    with world.context():
        return sorted(OwnershipShare.objects.filter(customer_id=customer.pk, active=True)
                      .values_list("staff_id", "percent", "confiscated"),
                      key=lambda r: (r[0] or 0))
