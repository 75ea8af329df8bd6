"""dispute_open: who the parties are, one active dispute per claimant, audit, notifications."""

import pytest
from django.core.exceptions import ValidationError

from apps.core.models import AuditEntry
from apps.disputes.models import Dispute
from apps.disputes.services import dispute_open
from apps.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_open_sets_parties_team_audit_and_notifies(world_a, customer, dispute):
    w = world_a
    assert (dispute.owner, dispute.claimant, dispute.team) == (w.sales, w.sales2, w.team1)
    assert dispute.status == Dispute.Status.OPEN
    assert dispute.opened_by == w.sales2
    with w.context():
        assert AuditEntry.objects.filter(action="dispute.open", target_id=dispute.pk).count() == 1
        notes = Notification.objects.filter(kind="dispute", target_id=dispute.pk)
        assert sorted(n.recipient_id for n in notes) == sorted([w.sales.pk, w.manager.pk])
        assert all(n.url == f"/disputes/{dispute.pk}/" for n in notes)
        assert notes[0].title == "客户“张三”发生撞单"


def test_second_collision_joins_the_active_dispute(world_a, customer, dispute):
    again = dispute_open(tenant=world_a.tenant, actor=None, customer=customer,
                         claimant=world_a.sales2)
    assert again.pk == dispute.pk
    with world_a.context():
        assert Dispute.objects.count() == 1


def test_owner_cannot_claim_own_customer(world_a, customer):
    with pytest.raises(ValidationError) as exc:
        dispute_open(tenant=world_a.tenant, actor=world_a.sales, customer=customer,
                     claimant=world_a.sales)
    assert list(exc.value.message_dict) == ["claimant"]
    with world_a.context():
        assert not Dispute.objects.exists()
