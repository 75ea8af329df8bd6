"""Deciding and approving: outcomes, credit shares, moving the customer, default rules."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import AuditEntry
from apps.customers.models import Customer, OwnershipChange
from apps.disputes import services
from apps.disputes.selectors import credit_shares
from apps.notifications.models import Notification
from tests.customers.factories import CustomerFactory

from .conftest import PNG, credit, fresh, make_in_status, snapshot

pytestmark = pytest.mark.django_db

D = Decimal


def decide(world, dispute, **kwargs):
    kwargs.setdefault("note", "经理裁决")
    return services.dispute_decide(tenant=world.tenant, actor=world.manager, dispute=dispute,
                                   **kwargs)


def owner_of(world, customer):
    with world.context():
        return Customer.objects.get(pk=customer.pk).owner_id


def test_award_owner(world_a, customer, dispute):
    w = world_a
    decide(w, dispute, outcome="award_owner")
    d = fresh(w, dispute)
    assert (d.status, d.outcome, d.decided_owner_id, d.decided_by_id) == (
        "decided", "award_owner", w.sales.pk, w.manager.pk)
    assert credit(w, customer) == [(w.sales.pk, D("100.00"), False)]
    assert owner_of(w, customer) == w.sales.pk
    with w.context():
        assert not OwnershipChange.objects.filter(reason="dispute").exists()


def test_award_claimant_moves_the_customer(world_a, customer, dispute):
    w = world_a
    decide(w, dispute, outcome="award_claimant", note="客户明确指定李四")
    assert owner_of(w, customer) == w.sales2.pk
    assert credit(w, customer) == [(w.sales2.pk, D("100.00"), False)]
    with w.context():
        change = OwnershipChange.objects.get(customer=customer, reason="dispute")
        assert (change.from_owner_id, change.to_owner_id, change.dispute_id, change.actor_id,
                change.note) == (w.sales.pk, w.sales2.pk, dispute.pk, w.manager.pk,
                                 "客户明确指定李四")


def test_split_with_record_owner(world_a, customer, dispute):
    w = world_a
    decide(w, dispute, outcome="split", shares={w.sales: "30", w.sales2: "70"},
           decided_owner=w.sales2)
    d = fresh(w, dispute)
    assert d.decided_owner_id == w.sales2.pk
    assert credit(w, customer) == sorted([(w.sales.pk, D("30.00"), False),
                                          (w.sales2.pk, D("70.00"), False)])
    assert owner_of(w, customer) == w.sales2.pk


def test_split_defaults_to_the_current_owner(world_a, customer, dispute):
    w = world_a
    decide(w, dispute, outcome="split", shares={w.sales: "50", w.sales2: "50"})
    assert fresh(w, dispute).decided_owner_id == w.sales.pk
    assert owner_of(w, customer) == w.sales.pk


def test_confiscate_creates_one_confiscated_share(world_a, customer, dispute):
    w = world_a
    decide(w, dispute, outcome="confiscate", note="蓄意抢单，业绩充公")
    assert credit(w, customer) == [(None, D("0.00"), True)]
    with w.context():
        rows = credit_shares(customer)
    assert len(rows) == 1 and rows[0].confiscated and rows[0].dispute_id == dispute.pk
    assert owner_of(w, customer) == w.sales.pk


def test_confiscate_may_move_the_record(world_a, customer, dispute):
    w = world_a
    decide(w, dispute, outcome="confiscate", decided_owner=w.sales2)
    assert owner_of(w, customer) == w.sales2.pk
    assert credit(w, customer) == [(None, D("0.00"), True)]


def test_a_later_decision_replaces_the_active_shares(world_a, customer, dispute):
    w = world_a
    decide(w, dispute, outcome="split", shares={w.sales: "50", w.sales2: "50"})
    other = services.dispute_open(tenant=w.tenant, actor=w.sales_other_team, customer=customer,
                                  claimant=w.sales_other_team)
    decide(w, other, outcome="award_owner")
    assert credit(w, customer) == [(w.sales.pk, D("100.00"), False)]
    with w.context():
        from apps.ownership.models import OwnershipShare

        assert OwnershipShare.objects.filter(customer=customer, active=False).count() == 2


def test_approve_applies_the_proposed_split(world_a, customer, dispute):
    w = world_a
    services.dispute_propose(tenant=w.tenant, actor=w.sales2, dispute=dispute,
                             shares={w.sales: "40", w.sales2: "60"}, note="我们商量好了")
    services.dispute_approve(tenant=w.tenant, actor=w.manager, dispute=dispute)
    d = fresh(w, dispute)
    assert (d.status, d.outcome, d.decided_by_id, d.decision_note) == (
        "approved", "split", w.manager.pk, "我们商量好了")
    assert credit(w, customer) == sorted([(w.sales.pk, D("40.00"), False),
                                          (w.sales2.pk, D("60.00"), False)])
    assert owner_of(w, customer) == w.sales.pk
    with w.context():
        told = Notification.objects.filter(title="撞单“张三”的分配提议已批准")
        assert sorted(told.values_list("recipient_id", flat=True)) == sorted(
            [w.sales.pk, w.sales2.pk])


def test_approving_everything_to_the_claimant_moves_the_customer(world_a, customer, dispute):
    w = world_a
    services.dispute_propose(tenant=w.tenant, actor=w.sales, dispute=dispute,
                             shares={w.sales2: "100"})
    services.dispute_approve(tenant=w.tenant, actor=w.manager, dispute=dispute, note="同意")
    assert fresh(w, dispute).outcome == "award_claimant"
    assert owner_of(w, customer) == w.sales2.pk


@pytest.mark.parametrize(("kwargs", "errors"), [
    ({"outcome": "split", "shares": {"sales": "60", "sales2": "30"}},
     {"shares": ["各方比例之和必须正好是 100%（现在是 90%）。"]}),
    ({"outcome": "split", "shares": {"sales": "-10", "sales2": "110"}},
     {"shares": ["比例不能为负数。"]}),
    ({"outcome": "split", "shares": {"sales": "50", "sales2": "25", "sales_other_team": "25"}},
     {"shares": ["只有撞单双方可以分配业绩。"]}),
    ({"outcome": "split"}, {"shares": ["请填写双方各自的比例。"]}),
    ({"outcome": "split", "shares": {"sales": "50", "sales2": "50"},
      "decided_owner": "sales_other_team"},
     {"decided_owner": ["客户记录只能归撞单双方中的一方。"]}),
    ({"outcome": "confiscate", "shares": {"sales": "50", "sales2": "50"}},
     {"shares": ["业绩充公时无人计业绩：请不要填写比例。"]}),
    ({"outcome": "award_owner", "decided_owner": "sales2"},
     {"decided_owner": ["判给一方时，客户记录归胜出的一方。"]}),
    ({"outcome": ""}, {"outcome": ["请选择裁决结果。"]}),
    ({"outcome": "coin_toss"}, {"outcome": ["未知的裁决结果。"]}),
    ({"outcome": "award_owner", "note": " "}, {"note": ["请填写裁决理由。"]}),
])
def test_bad_decisions_are_field_errors_and_change_nothing(world_a, customer, dispute, kwargs,
                                                           errors):
    w = world_a
    kwargs = dict(kwargs)
    if "shares" in kwargs:
        kwargs["shares"] = {getattr(w, k): v for k, v in kwargs["shares"].items()}
    if "decided_owner" in kwargs:
        kwargs["decided_owner"] = getattr(w, kwargs["decided_owner"])
    before = snapshot(w, dispute)
    with pytest.raises(ValidationError) as exc:
        decide(w, dispute, **kwargs)
    assert exc.value.message_dict == errors
    assert snapshot(w, dispute) == before


def test_bad_proposals_are_field_errors(world_a, dispute):
    w = world_a
    before = snapshot(w, dispute)
    for shares, message in [
        ({w.sales: 70, w.sales2: 40}, "各方比例之和必须正好是 100%（现在是 110%）。"),
        ({w.sales: -1, w.sales2: 101}, "比例不能为负数。"),
        ({w.sales: 50, w.manager: 50}, "只有撞单双方可以分配业绩。"),
    ]:
        with pytest.raises(ValidationError) as exc:
            services.dispute_propose(tenant=w.tenant, actor=w.sales, dispute=dispute,
                                     shares=shares)
        assert exc.value.message_dict == {"shares": [message]}
    assert snapshot(w, dispute) == before


# --------------------------------------------------------------------------- default rules

RULE_CASES = [
    ("relatives_first_visit", {}, "award_owner", {"sales": "100.00", "sales2": "0.00"}, "sales"),
    ("relatives_after_deal", {}, "split", {"sales": "50.00", "sales2": "50.00"}, "sales"),
    ("contact_evidence", {}, "split", {"sales": "50.00", "sales2": "50.00"}, "sales"),
    ("complaint_reassigned", {}, "split", {"sales": "20.00", "sales2": "80.00"}, "sales"),
    ("group_purchase", {"units": 6}, "split", {"sales": "50.00", "sales2": "50.00"}, "sales"),
    ("earlier_old_customer_deal", {"winner": "claimant"}, "award_claimant",
     {"sales": "0.00", "sales2": "100.00"}, "sales2"),
    ("named_salesperson", {"winner": "owner"}, "award_owner",
     {"sales": "100.00", "sales2": "0.00"}, "sales"),
    ("revisit_30_days", {"revisit": "after"}, "award_claimant",
     {"sales": "0.00", "sales2": "100.00"}, "sales2"),
    ("revisit_30_days", {"revisit": "within"}, "award_owner",
     {"sales": "100.00", "sales2": "0.00"}, "sales"),
]


@pytest.mark.parametrize(("code", "params", "outcome", "shares", "record"), RULE_CASES)
def test_each_default_rule_decides_and_is_recorded(world_a, customer, dispute, code, params,
                                                   outcome, shares, record):
    w = world_a
    if code == "contact_evidence":
        services.evidence_add(tenant=w.tenant, actor=w.sales, dispute=dispute,
                              file=SimpleUploadedFile("wechat.png", PNG), note="微信记录")
    decide(w, dispute, rule=code, rule_params=params, note="按规则")
    d = fresh(w, dispute)
    assert (d.status, d.outcome, d.rule, d.decided_owner_id) == (
        "decided", outcome, code, getattr(w, record).pk)
    assert owner_of(w, customer) == getattr(w, record).pk
    from apps.disputes.models import DisputeShare

    with w.context():
        decided = dict(DisputeShare.objects.filter(dispute=d, stage="decided")
                       .values_list("staff_id", "percent"))
        entry = AuditEntry.objects.get(action="dispute.decide", target_id=d.pk)
    assert decided == {getattr(w, k).pk: D(v) for k, v in shares.items()}
    assert entry.changes["rule"] == code
    for key, value in params.items():
        assert entry.changes[key] == value  # which side / case / units the manager picked
    assert credit(w, customer) == sorted(
        [(getattr(w, k).pk, D(v), False) for k, v in shares.items() if D(v) > 0])


def test_rule_fills_missing_fields_and_refuses_contradictions(world_a, dispute):
    w = world_a
    before = snapshot(w, dispute)
    with pytest.raises(ValidationError) as exc:
        decide(w, dispute, rule="complaint_reassigned", outcome="split",
               shares={w.sales: "50", w.sales2: "50"})
    assert exc.value.message_dict == {
        "shares": ["分配比例与规则“投诉换人：原顾问20%，接手顾问80%”的规定不一致。"]}
    with pytest.raises(ValidationError) as exc:
        decide(w, dispute, rule="relatives_first_visit", outcome="award_claimant")
    assert exc.value.message_dict == {
        "outcome": ["规则“亲属分别登记：以首次来访为准”的裁决是：归现负责人。"]}
    assert snapshot(w, dispute) == before


def test_rule_requirements(world_a, dispute):
    w = world_a
    before = snapshot(w, dispute)
    with pytest.raises(ValidationError) as exc:
        decide(w, dispute, rule="group_purchase", rule_params={"units": 3})
    assert exc.value.message_dict == {"units": ["团购需至少 5 套（填写的是 3 套）。"]}
    with pytest.raises(ValidationError) as exc:
        decide(w, dispute, rule="contact_evidence")
    assert exc.value.message_dict == {"rule": ["此规则需要原置业顾问的联系证据：请先上传证据。"]}
    with pytest.raises(ValidationError) as exc:
        decide(w, dispute, rule="named_salesperson")
    assert exc.value.message_dict == {"winner": ["请选择规则支持的置业顾问。"]}
    assert snapshot(w, dispute) == before


def test_customer_moved_since_opening_goes_back_on_award_owner(world_a, customer, dispute):
    """The record follows the decision even when the customer changed hands meanwhile."""
    from apps.customers.services import customer_owner_set

    w = world_a
    customer_owner_set(tenant=w.tenant, actor=w.manager, customer=customer,
                       owner=w.sales_other_team, reason="reassignment")
    decide(w, dispute, outcome="award_owner")
    assert owner_of(w, customer) == w.sales.pk


def test_confiscate_leaves_the_record_with_whoever_holds_it(world_a, customer, dispute):
    from apps.customers.services import customer_owner_set

    w = world_a
    customer_owner_set(tenant=w.tenant, actor=w.manager, customer=customer,
                       owner=w.sales_other_team, reason="reassignment")
    decide(w, dispute, outcome="confiscate")
    assert owner_of(w, customer) == w.sales_other_team.pk
    assert fresh(w, dispute).decided_owner_id == w.sales_other_team.pk
    with w.context():
        assert not OwnershipChange.objects.filter(reason="dispute").exists()


def test_another_customer_is_untouched(world_a, customer, dispute):
    w = world_a
    other = CustomerFactory(tenant=w.tenant, actor=w.sales, name="王五")
    decide(w, dispute, outcome="award_claimant")
    assert owner_of(w, other) == w.sales.pk
    assert credit(w, other) == []


def test_decided_dispute_cannot_be_decided_again(world_a, dispute):
    w = world_a
    make_in_status(w, dispute, "decided")
    before = snapshot(w, dispute)
    with pytest.raises(ValidationError) as exc:
        decide(w, dispute, outcome="award_claimant")
    assert exc.value.messages == ["此撞单已处理（已裁决），不能再次裁决。"]
    assert snapshot(w, dispute) == before


def test_decision_notifies_the_parties(world_a, dispute):
    w = world_a
    decide(w, dispute, outcome="award_claimant", note="客户指定李四")
    with w.context():
        told = Notification.objects.filter(title="撞单“张三”已裁决")
        assert sorted(told.values_list("recipient_id", flat=True)) == sorted(
            [w.sales.pk, w.sales2.pk])  # not the manager who decided
        assert {n.body for n in told} == {"客户指定李四"}
        assert {n.url for n in told} == {f"/disputes/{dispute.pk}/"}


def test_services_cannot_reach_another_tenants_dispute(world_a, world_b, dispute):
    from apps.disputes.models import Dispute

    before = snapshot(world_a, dispute)
    with pytest.raises(Dispute.DoesNotExist):
        services.dispute_decide(tenant=world_b.tenant, actor=world_b.admin, dispute=dispute,
                                outcome="confiscate", note="跨租户")
    with pytest.raises(Dispute.DoesNotExist):
        services.evidence_add(tenant=world_b.tenant, actor=world_b.admin, dispute=dispute,
                              file=SimpleUploadedFile("a.png", PNG))
    assert snapshot(world_a, dispute) == before
