"""Refunds of a referred deal (apps.deals.services.deal_refund → after_refund →
referral_after_refund): before payment the reward is void (full: reversed; partial: recomputed
on what was kept), after payment the difference is clawed back (never more than was paid)
unless the policy lets the referrer keep it; overrides are taken back to the cent."""

import pytest
from django.core.exceptions import ValidationError

from apps.referrals import lifecycle
from apps.referrals import points as points_services
from apps.referrals.models import PointsEntry, RewardLine

from .cards_helpers import make_customer
from .lifecycle_helpers import (
    D,
    approve_and_pay,
    audits,
    converted,
    customer_referrer,
    days_ago,
    deal,
    fresh,
    line_sum,
    lines,
    make_education,
    points_rows,
    policy,
    refund,
)

pytestmark = pytest.mark.django_db


def test_full_refund_before_approval_reverses_without_a_line(world_a):
    w = world_a
    referral, the_deal = converted(w, customer_referrer(w), "10000")
    the_refund = refund(w, the_deal, "10000")
    referral = fresh(w, referral)
    assert (referral.status, referral.reward_clawed_back) == ("reversed", D("0"))
    assert referral.reversed_at is not None and lines(w) == []
    [audit] = audits(w, referral, "referral.reverse")
    assert audit.changes["action"] == "void" and audit.changes["refund"] == the_refund.pk
    assert audit.changes["status"] == ["reward_pending", "reversed"]
    assert audit.changes["kept"] == "0.00"
    with pytest.raises(ValidationError):
        lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral)
    assert fresh(w, referral).status == "reversed"


def test_partial_refund_before_approval_recomputes_on_the_kept_amount(world_a):
    w = world_a
    referral, the_deal = converted(w, customer_referrer(w), "20000")
    assert referral.reward_total == D("1400.00")  # home: 7 % of 20 000
    refund(w, the_deal, "12000")
    referral = fresh(w, referral)
    assert (referral.status, referral.reward_percent, referral.reward_total) == (
        "reward_pending", D("5"), D("400.00"))  # 5 % of the 8 000 kept
    assert referral.reward_inputs["refunded"] == "12000.00"
    assert referral.reward_inputs["deal_amount"] == "8000.00"
    assert referral.reward_explanation[0].startswith("成交额 8000.00")
    [audit] = audits(w, referral, "referral.refund_adjust")
    assert audit.changes["reward_before"]["total"] == "1400.00"
    assert audit.changes["reward_after"]["total"] == "400.00"
    approve_and_pay(w, referral)
    assert lines(w) == [("reward", D("400.00"))]


def test_full_refund_after_payment_claws_back_the_total(world_a):
    w = world_a
    referral, the_deal = converted(w, customer_referrer(w), "10000")
    referral = approve_and_pay(w, referral)
    the_refund = refund(w, the_deal, "10000", actor=w.manager)
    referral = fresh(w, referral)
    assert (referral.status, referral.reward_clawed_back, referral.reward_total) == (
        "reversed", D("500.00"), D("500.00"))  # the record of what was paid stays
    with w.context():
        clawback = RewardLine.objects.get(kind="clawback")
    assert (clawback.amount, clawback.refund_id, clawback.deal_id, clawback.created_by_id) == (
        D("-500.00"), the_refund.pk, the_deal.pk, w.manager.pk)
    assert line_sum(w, referral) == D("0.00")
    [audit] = audits(w, referral, "referral.reverse")
    assert audit.changes["clawed_back"] == "-500.00" and audit.changes["action"] == "clawback"


def test_two_partial_refunds_after_payment_never_claw_back_more_than_paid(world_a):
    w = world_a
    referral, the_deal = converted(w, customer_referrer(w), "60000")
    referral = approve_and_pay(w, referral)
    assert referral.reward_total == D("6000.00")  # 10 % of 60 000
    refund(w, the_deal, "15000")     # kept 45 000 → 7 % = 3 150
    assert lines(w) == [("reward", D("6000.00")), ("clawback", D("-2850.00"))]
    refund(w, the_deal, "40000")     # kept 5 000 → 5 % = 250
    assert lines(w)[-1] == ("clawback", D("-2900.00"))
    referral = fresh(w, referral)
    assert referral.status == "paid" and referral.reward_clawed_back == D("5750.00")
    assert line_sum(w, referral) == D("250.00")
    refund(w, the_deal, "5000")      # the rest: reversed, exactly what was left
    referral = fresh(w, referral)
    assert lines(w)[-1] == ("clawback", D("-250.00"))
    assert (referral.status, referral.reward_clawed_back) == ("reversed", D("6000.00"))
    assert line_sum(w, referral) == D("0.00")


def test_a_refund_that_keeps_the_band_claws_back_nothing(world_a):
    w = world_a
    referral, the_deal = converted(w, customer_referrer(w), "60000")
    approve_and_pay(w, referral)
    refund(w, the_deal, "0.01")  # 59 999.99 → 10 % = 5 999.999 → 6 000.00: nothing owed back
    assert lines(w) == [("reward", D("6000.00"))]
    assert fresh(w, referral).reward_clawed_back == D("0")


def test_education_preset_keeps_the_paid_reward(world_a):
    w = world_a
    make_education(w)
    referrer = customer_referrer(w)
    referral, the_deal = converted(w, referrer, "5000")
    referral = approve_and_pay(w, referral)
    the_refund = refund(w, the_deal, "5000")
    referral = fresh(w, referral)
    assert (referral.status, referral.reward_clawed_back) == ("paid", D("0"))
    assert lines(w) == [("reward", D("400.00"))]
    assert points_rows(w, referrer) == [("earned", 10)]  # the benefit is kept
    [kept] = audits(w, referral, "referral.refund_kept")
    assert kept.changes == {"refund": the_refund.pk, "kept": "0.00"}


def test_full_refund_after_approval_reverses_and_takes_the_points_back(world_a):
    w = world_a
    make_education(w)
    referrer = customer_referrer(w)
    referral, the_deal = converted(w, referrer, "5000")
    lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral)
    refund(w, the_deal, "5000")
    referral = fresh(w, referral)
    assert referral.status == "reversed" and lines(w) == []
    assert points_rows(w, referrer) == [("earned", 10), ("adjusted", -10)]
    with w.context():
        assert points_services.points_balance(referrer) == 0
        taken = PointsEntry.objects.get(kind="adjusted")
    assert taken.referral_id == referral.pk and taken.created_by_id is None
    with pytest.raises(ValidationError):
        lifecycle.referral_pay(tenant=w.tenant, actor=w.finance, referral=referral)


def test_points_already_redeemed_stay_spent(world_a):
    w = world_a
    make_education(w)
    referrer = customer_referrer(w)
    referral, the_deal = converted(w, referrer, "5000")
    lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral)
    item = points_services.points_item_create(tenant=w.tenant, actor=w.admin, name="礼品",
                                              points=8)
    redemption = points_services.redemption_request(tenant=w.tenant, actor=w.manager,
                                                    referrer=referrer, item=item)
    points_services.redemption_decide(tenant=w.tenant, actor=w.manager, redemption=redemption,
                                      approve=True)
    refund(w, the_deal, "5000")
    rows = points_rows(w, referrer)
    assert rows == [("earned", 10), ("redeemed", -8), ("adjusted", -2)]
    with w.context():
        assert points_services.points_balance(referrer) == sum(p for _, p in rows) == 0


def test_points_held_by_a_pending_request_are_taken_back(world_a):
    """Held points are not spent: the reversal takes them back, and the pending request that no
    longer fits is refused when decided."""
    w = world_a
    make_education(w)
    referrer = customer_referrer(w)
    referral, the_deal = converted(w, referrer, "5000")
    lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral)
    item = points_services.points_item_create(tenant=w.tenant, actor=w.admin, name="礼品",
                                              points=10)
    redemption = points_services.redemption_request(tenant=w.tenant, actor=w.manager,
                                                    referrer=referrer, item=item)
    refund(w, the_deal, "5000")
    assert points_rows(w, referrer) == [("earned", 10), ("adjusted", -10)]
    with pytest.raises(ValidationError):
        points_services.redemption_decide(tenant=w.tenant, actor=w.manager,
                                          redemption=redemption, approve=True)
    with w.context():
        assert points_services.points_balance(referrer) == 0


def test_override_refunds_are_exact_to_the_cent_and_never_more_than_the_override(world_a):
    w = world_a
    policy(w, preset="franchise")
    referrer = customer_referrer(w)
    referral, _ = converted(w, referrer, "10000")
    later = deal(w, referral.customer, "12345.67", signed_on=days_ago(w, 3), kind="expansion")
    assert lines(w) == [("override", D("246.91"))]  # 2 % of 12 345.67 = 246.9134
    first = refund(w, later, "1000.01")  # kept 11 345.66 → 226.9132 → 226.91
    with w.context():
        line = RewardLine.objects.get(refund=first)
    assert (line.kind, line.amount, line.referral_id, line.deal_id) == (
        "override", D("-20.00"), referral.pk, later.pk)
    refund(w, later, "11345.66")
    assert lines(w) == [("override", D("246.91")), ("override", D("-20.00")),
                        ("override", D("-226.91"))]
    assert line_sum(w, referral) == D("0.00")
    referral = fresh(w, referral)
    assert referral.status == "reward_pending"  # the referred deal itself was not refunded


def test_refund_of_a_deal_without_referral_writes_no_line(world_a):
    w = world_a
    the_deal = deal(w, make_customer(w, name="散客", phone="13900139099"), "5000")
    refund(w, the_deal, "5000")
    assert lines(w) == []
