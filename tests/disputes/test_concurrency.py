"""Two managers deciding the same dispute at the same moment, each in its own database
connection: exactly one decision is stored, the other is told it was already decided."""

from django.core.exceptions import ValidationError

from apps.core.models import AuditEntry
from apps.customers.models import OwnershipChange
from apps.disputes import services
from apps.disputes.models import Dispute, DisputeShare
from apps.ownership.models import OwnershipShare
from tests.concurrency import committed, run_together

from .conftest import fresh


@committed
def test_two_managers_decide_at_once_one_wins(world_a, customer, dispute, manager2):
    w = world_a
    results = run_together(
        lambda: services.dispute_decide(tenant=w.tenant, actor=w.manager, dispute=dispute,
                                        outcome="award_claimant", note="经理一：归李四"),
        lambda: services.dispute_decide(tenant=w.tenant, actor=manager2, dispute=dispute,
                                        outcome="split", shares={w.sales: 50, w.sales2: 50},
                                        note="经理二：五五开"),
    )
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, ValidationError)
    assert error.messages == ["此撞单已处理（已裁决），不能再次裁决。"]

    d = fresh(w, dispute)
    winner = next(value for kind, value in results if kind == "ok")
    assert d.status == "decided" and d.decided_by_id == winner.decided_by_id
    with w.context():
        assert AuditEntry.objects.filter(action="dispute.decide", target_id=d.pk).count() == 1
        assert DisputeShare.objects.filter(dispute=d, stage="decided").count() == 2
        active = list(OwnershipShare.objects.filter(customer=customer, active=True)
                      .values_list("staff_id", "percent"))
        assert OwnershipShare.objects.filter(customer=customer).count() == len(active)
        moved = OwnershipChange.objects.filter(customer=customer, reason="dispute").count()
    if d.outcome == "award_claimant":
        assert active == [(w.sales2.pk, 100)] and moved == 1
    else:
        assert sorted(p for _s, p in active) == [50, 50] and moved == 0


@committed
def test_the_same_collision_twice_at_once_opens_one_dispute(world_a, customer):
    w = world_a
    results = run_together(
        lambda: services.dispute_open(tenant=w.tenant, actor=w.sales2, customer=customer,
                                      claimant=w.sales2),
        lambda: services.dispute_open(tenant=w.tenant, actor=w.sales2, customer=customer,
                                      claimant=w.sales2),
    )
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert results[0][1].pk == results[1][1].pk
    with w.context():
        assert Dispute.objects.count() == 1
        assert AuditEntry.objects.filter(action="dispute.open").count() == 1
