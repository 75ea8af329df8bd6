"""Every step of the state machine through the services: allowed from the statuses of
rules.TRANSITIONS, refused from every other one with a clear message and nothing changed."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import AuditEntry
from apps.disputes import services
from apps.disputes.models import DisputeShare
from apps.notifications.models import Notification

from .conftest import PNG, fresh, half, make_in_status, snapshot

pytestmark = pytest.mark.django_db

STATUSES = ("open", "proposed", "approved", "decided", "escalated", "withdrawn")


def run(world, action, dispute):
    """Take `action` as someone whose role allows it (the state machine may still refuse)."""
    t = world.tenant
    if action == "propose":
        return services.dispute_propose(tenant=t, actor=world.sales2, dispute=dispute,
                                        shares=half(world), note="")
    if action == "reject":
        return services.dispute_reject_proposal(tenant=t, actor=world.sales2, dispute=dispute)
    if action == "approve":
        return services.dispute_approve(tenant=t, actor=world.admin, dispute=dispute)
    if action == "decide":
        return services.dispute_decide(tenant=t, actor=world.admin, dispute=dispute,
                                       outcome="award_owner", note="理由")
    if action == "escalate":
        return services.dispute_escalate(tenant=t, actor=world.sales2, dispute=dispute,
                                         reason="不服")
    if action == "withdraw":
        return services.dispute_withdraw(tenant=t, actor=world.sales2, dispute=dispute)
    if action == "evidence":
        return services.evidence_add(tenant=t, actor=world.sales, dispute=dispute,
                                     file=SimpleUploadedFile("a.png", PNG))
    raise AssertionError(action)


ALLOWED = {
    "propose": {"open": "proposed"},
    "reject": {"proposed": "open"},
    "approve": {"proposed": "approved"},
    "decide": {"open": "decided", "proposed": "decided", "escalated": "decided"},
    "escalate": {"open": "escalated", "proposed": "escalated"},
    "withdraw": {"open": "withdrawn", "proposed": "withdrawn"},
    "evidence": {"open": "open", "proposed": "proposed", "escalated": "escalated"},
}
REFUSALS = {  # (action, status) -> what the refusal says
    ("propose", "proposed"): "已有分配提议：需对方先拒绝，才能提出新的提议。",
    ("propose", "escalated"): "此撞单已上报公司，现在只有管理员可以裁决。",
    ("reject", "open"): "没有待拒绝的分配提议。",
    ("reject", "escalated"): "没有待拒绝的分配提议。",
    ("approve", "open"): "双方尚未提议分配方案，无可批准。",
    ("approve", "escalated"): "此撞单已上报公司，现在只有管理员可以裁决。",
    ("escalate", "escalated"): "此撞单已上报公司。",
    ("withdraw", "escalated"): "已上报公司的撞单不能再撤回。",
    ("decide", "decided"): "此撞单已处理（已裁决），不能再次裁决。",
    ("decide", "approved"): "此撞单已处理（已批准），不能再次裁决。",
    ("decide", "withdrawn"): "此撞单已处理（已撤回），不能再次裁决。",
    ("approve", "decided"): "此撞单已结案（已裁决），不能再批准。",
    ("withdraw", "decided"): "此撞单已结案（已裁决），不能再撤回。",
    ("evidence", "withdrawn"): "此撞单已结案（已撤回），不能再上传证据。",
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_every_step_from_every_status(world_a, dispute, action, status):
    dispute = make_in_status(world_a, dispute, status)
    before = snapshot(world_a, dispute)
    if status in ALLOWED[action]:
        run(world_a, action, dispute)
        assert fresh(world_a, dispute).status == ALLOWED[action][status]
        after = snapshot(world_a, dispute)
        assert after["audit"] == before["audit"] + 1  # every step is audited
        assert after["notifications"] > before["notifications"]  # and somebody is told
        return
    with pytest.raises(ValidationError) as exc:
        run(world_a, action, dispute)
    assert list(exc.value.message_dict) == ["__all__"]
    if (action, status) in REFUSALS:
        assert exc.value.message_dict["__all__"] == [REFUSALS[(action, status)]]
    assert snapshot(world_a, dispute) == before


def test_propose_stores_the_split_and_notifies_the_other_party_and_manager(world_a, dispute):
    w = world_a
    services.dispute_propose(tenant=w.tenant, actor=w.sales, dispute=dispute,
                             shares={w.sales.pk: "60", w.sales2: 40}, note="六四开")
    d = fresh(w, dispute)
    assert (d.status, d.proposed_by_id, d.proposal_note) == ("proposed", w.sales.pk, "六四开")
    with w.context():
        assert sorted(DisputeShare.objects.filter(dispute=d, stage="proposed")
                      .values_list("staff_id", "percent")) == sorted(
            [(w.sales.pk, Decimal("60.00")), (w.sales2.pk, Decimal("40.00"))])
        told = Notification.objects.filter(title="撞单“张三”有新的分配提议")
        assert sorted(told.values_list("recipient_id", flat=True)) == sorted(
            [w.sales2.pk, w.manager.pk])


def test_the_proposer_cannot_reject_their_own_proposal(world_a, dispute):
    w = world_a
    make_in_status(w, dispute, "proposed")  # proposed by sales
    before = snapshot(w, dispute)
    with pytest.raises(PermissionDenied) as exc:
        services.dispute_reject_proposal(tenant=w.tenant, actor=w.sales, dispute=dispute)
    assert str(exc.value) == "只有对方可以拒绝分配提议。"
    assert snapshot(w, dispute) == before


def test_reject_clears_the_proposal(world_a, dispute):
    w = world_a
    make_in_status(w, dispute, "proposed")
    services.dispute_reject_proposal(tenant=w.tenant, actor=w.sales2, dispute=dispute,
                                     note="不同意")
    d = fresh(w, dispute)
    assert (d.status, d.proposed_by_id) == ("open", None)
    with w.context():
        assert not DisputeShare.objects.filter(dispute=d).exists()
        entry = AuditEntry.objects.filter(action="dispute.reject").get()
    assert entry.changes["shares"] == {str(w.sales.pk): "50.00", str(w.sales2.pk): "50.00"}
    assert entry.reason == "不同意"


@pytest.mark.parametrize(("actor", "action"), [
    ("sales", "withdraw"),          # only the claimant withdraws
    ("manager", "propose"),         # only the parties propose
    ("sales", "approve"),           # a salesperson never approves
    ("sales2", "decide"),           # nor decides
    ("sales_other_team", "escalate"),
    ("cs", "evidence"),
    ("admin", "escalate"),          # the company does not escalate to itself
])
def test_role_refusals_change_nothing(world_a, dispute, actor, action):
    w = world_a
    if action == "approve":
        make_in_status(w, dispute, "proposed")
    before = snapshot(w, dispute)
    staff = getattr(w, actor)
    calls = {
        "withdraw": lambda: services.dispute_withdraw(tenant=w.tenant, actor=staff,
                                                      dispute=dispute),
        "propose": lambda: services.dispute_propose(tenant=w.tenant, actor=staff,
                                                    dispute=dispute, shares=half(w)),
        "approve": lambda: services.dispute_approve(tenant=w.tenant, actor=staff,
                                                    dispute=dispute),
        "decide": lambda: services.dispute_decide(tenant=w.tenant, actor=staff, dispute=dispute,
                                                  outcome="award_claimant", note="我赢"),
        "escalate": lambda: services.dispute_escalate(tenant=w.tenant, actor=staff,
                                                      dispute=dispute, reason="x"),
        "evidence": lambda: services.evidence_add(tenant=w.tenant, actor=staff,
                                                  dispute=dispute,
                                                  file=SimpleUploadedFile("a.png", PNG)),
    }
    with pytest.raises(PermissionDenied):
        calls[action]()
    assert snapshot(w, dispute) == before


def test_sales_cannot_decide_message(world_a, dispute):
    with pytest.raises(PermissionDenied) as exc:
        services.dispute_decide(tenant=world_a.tenant, actor=world_a.sales2, dispute=dispute,
                                outcome="award_claimant", note="我赢")
    assert str(exc.value) == "只有本团队经理或管理员可以裁决撞单。"


def test_escalated_manager_cannot_decide_admin_can(world_a, dispute):
    w = world_a
    make_in_status(w, dispute, "escalated")
    before = snapshot(w, dispute)
    with pytest.raises(PermissionDenied) as exc:
        services.dispute_decide(tenant=w.tenant, actor=w.manager, dispute=dispute,
                                outcome="award_owner", note="经理裁决")
    assert str(exc.value) == "此撞单已上报公司，只有管理员可以裁决。"
    assert snapshot(w, dispute) == before
    services.dispute_decide(tenant=w.tenant, actor=w.admin, dispute=dispute,
                            outcome="confiscate", note="协商不成，业绩充公")
    d = fresh(w, dispute)
    assert (d.status, d.outcome, d.decided_by_id) == ("decided", "confiscate", w.admin.pk)


def test_escalation_notifies_admins(world_a, dispute):
    w = world_a
    services.dispute_escalate(tenant=w.tenant, actor=w.manager, dispute=dispute,
                              reason="双方都不接受")
    d = fresh(w, dispute)
    assert (d.status, d.escalated_by_id, d.escalation_reason) == (
        "escalated", w.manager.pk, "双方都不接受")
    with w.context():
        told = set(Notification.objects.filter(title="撞单“张三”已上报公司")
                   .values_list("recipient_id", flat=True))
    assert told == {w.admin.pk, w.sales.pk, w.sales2.pk}  # not the manager who did it


def test_escalate_needs_a_reason(world_a, dispute):
    before = snapshot(world_a, dispute)
    with pytest.raises(ValidationError) as exc:
        services.dispute_escalate(tenant=world_a.tenant, actor=world_a.sales, dispute=dispute,
                                  reason="  ")
    assert exc.value.message_dict == {"reason": ["请说明上报公司的原因。"]}
    assert snapshot(world_a, dispute) == before


def test_a_manager_who_is_a_party_does_not_judge(world_a):
    """The manager owns the customer: their own case goes to another manager or an admin."""
    from tests.customers.factories import CustomerFactory

    w = world_a
    c = CustomerFactory(tenant=w.tenant, actor=w.manager, owner=w.manager, name="赵六")
    d = services.dispute_open(tenant=w.tenant, actor=w.sales, customer=c, claimant=w.sales)
    with pytest.raises(PermissionDenied):
        services.dispute_decide(tenant=w.tenant, actor=w.manager, dispute=d,
                                outcome="award_owner", note="我自己的")
    services.dispute_decide(tenant=w.tenant, actor=w.admin, dispute=d, outcome="award_owner",
                            note="管理员裁决")
    assert fresh(w, d).status == "decided"
