"""The worked numbers of DOMAIN.md §3, end to end: a referral logged, its customer's first deal
entered through apps.deals.services.deal_create, and the reward the lifecycle stored on the
Referral (figures, policy version or preset, inputs, explanation lines); overrides on later
purchases; the count bonus; points earned at approval."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.referrals import lifecycle
from apps.referrals import points as points_services
from apps.referrals.models import PointsEntry, RewardLine
from apps.referrals.reward_policies import reward_policy_create

from .lifecycle_helpers import (
    D,
    audits,
    converted,
    customer_referrer,
    days_ago,
    deal,
    fresh,
    lines,
    log,
    make_education,
    points_rows,
    policy,
    refund,
    today,
)

pytestmark = pytest.mark.django_db

BANDS_ONLY = {"percent_bands": {"edges": "lower", "bands": [
    {"min": "1000", "max": "5000", "percent": "5"},
    {"min": "5000", "max": "10000", "percent": "8"},
    {"min": "10000", "percent": "10"}]}}


# ----------------------------------------------------------------------------- percentage bands

@pytest.mark.parametrize("amount,percent,reward,band", [
    ("5000", "8", "400.00", "5000（含）至 10000（不含）"),
    ("4999.99", "5", "250.00", "1000（含）至 5000（不含）"),      # 249.9995 rounded half-up
    ("10000", "10", "1000.00", "10000 及以上"),
])
def test_education_preset_band_edges(world_a, amount, percent, reward, band):
    w = world_a
    make_education(w)
    referral, the_deal = converted(w, customer_referrer(w), amount)
    assert referral.status == "reward_pending"
    assert referral.deal_id == the_deal.pk and referral.ordinal == 1
    assert (referral.reward_percent, referral.reward_percent_amount, referral.reward_total) == (
        D(percent), D(reward), D(reward))
    assert (referral.reward_cash, referral.reward_count_bonus, referral.reward_points) == (
        D("0"), D("0"), 10)
    assert (referral.reward_policy_id, referral.reward_policy_version, referral.reward_preset) == (
        None, None, "education")
    assert referral.reward_inputs == {
        "deal_amount": D(amount).quantize(D("0.01")).to_eng_string(), "ordinal": 1,
        "successful_before": 0, "band": band, "policy_version": None, "preset": "education"}
    assert referral.reward_explanation == [
        f"成交额 {D(amount).quantize(D('0.01'))}，档位 {band}：{percent}% = {reward}", "10 积分"]
    assert referral.hold_until == the_deal.signed_on + dt.timedelta(days=7)
    [convert] = audits(w, referral, "referral.convert")
    assert convert.changes["reward"]["total"] == reward
    assert convert.changes["deal"] == the_deal.pk and convert.changes["preset"] == "education"


def test_under_the_first_band_a_bands_only_policy_gives_nothing(world_a):
    w = world_a
    row = policy(w, rules=BANDS_ONLY)
    referral, the_deal = converted(w, customer_referrer(w), "999.99")
    assert referral.status == "converted"  # nothing to hold: no reward_pending
    assert (referral.reward_total, referral.reward_percent, referral.hold_until) == (
        D("0"), None, None)
    assert (referral.reward_policy_id, referral.reward_policy_version, referral.reward_preset) == (
        row.pk, 1, "")
    assert referral.reward_inputs["policy_version"] == 1
    assert referral.reward_explanation == ["成交额 999.99：不在任何比例档内，没有比例奖励"]
    assert audits(w, referral, "referral.hold") == []
    with pytest.raises(ValidationError):
        lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral)
    assert fresh(w, referral).status == "converted"


def test_under_the_first_band_the_education_preset_still_gives_its_points(world_a):
    w = world_a
    make_education(w)
    referral, _ = converted(w, customer_referrer(w), "999")
    assert (referral.status, referral.reward_total, referral.reward_points) == (
        "reward_pending", D("0"), 10)


@pytest.mark.parametrize("amount,percent,reward", [
    ("10000", "5", "500.00"), ("10000.01", "7", "700.00"), ("50000", "7", "3500.00"),
    ("100000", "10", "10000.00"), ("100000.01", "15", "15000.00")])
def test_home_preset_upper_edges(world_a, amount, percent, reward):
    w = world_a  # a home furnishing tenant without a policy: the home preset
    referral, _ = converted(w, customer_referrer(w), amount)
    assert (referral.reward_percent, referral.reward_total, referral.reward_points) == (
        D(percent), D(reward), 0)
    assert referral.reward_preset == "home" and referral.reward_policy_version is None


def test_the_policy_in_force_on_the_signing_day_is_used(world_a):
    w = world_a
    old = policy(w, rules=BANDS_ONLY, effective_from=days_ago(w, 60))
    reward_policy_create(tenant=w.tenant, actor=w.admin, effective_from=today(w),
                         name="新方案", preset="home")
    referrer = customer_referrer(w)
    before, _ = converted(w, referrer, "10000", signed_on=days_ago(w, 5))
    after, _ = converted(w, referrer, "10000", signed_on=today(w))
    assert (before.reward_policy_id, before.reward_policy_version, before.reward_total) == (
        old.pk, 1, D("1000.00"))
    assert (after.reward_policy_version, after.reward_total) == (2, D("500.00"))


# ----------------------------------------------------------------------------- franchise ladder

def test_franchise_cash_by_ordinal_3rd_4th_7th(world_a):
    w = world_a
    policy(w, preset="franchise")
    referrer = customer_referrer(w)
    got = [converted(w, referrer, "10000")[0] for _ in range(7)]
    assert [r.ordinal for r in got] == [1, 2, 3, 4, 5, 6, 7]
    assert [r.reward_cash for r in got] == [D(x) for x in (
        "4000", "4000", "4000", "5000", "5000", "5000", "6000")]
    assert [r.override_percent for r in got] == [D(x) for x in (
        "2", "2", "2", "2.5", "2.5", "2.5", "3")]
    third, fourth, seventh = got[2], got[3], got[6]
    assert third.reward_total == D("4000.00") and third.reward_gift == "U盘"
    assert third.reward_explanation == [
        "第 3 次成功转介绍（第 1–3 次）：现金 4000.00；该客户后续消费的 2%",
        "成交额 10000（含）至 30000（不含） 的赠礼：U盘"]
    assert fourth.reward_inputs["tier"] == 2 and fourth.reward_total == D("5000.00")
    assert seventh.reward_explanation[0] == (
        "第 7 次成功转介绍（第 7 次起）：现金 6000.00；该客户后续消费的 3%")
    assert seventh.reward_inputs["successful_before"] == 6


def test_rejected_and_reversed_referrals_do_not_count(world_a):
    w = world_a
    policy(w, preset="franchise")
    referrer = customer_referrer(w)
    first, _ = converted(w, referrer, "10000")
    second, second_deal = converted(w, referrer, "10000")
    refund(w, second_deal, "10000")  # before approval: reversed
    assert fresh(w, second).status == "reversed"
    dropped = log(w, referrer).referral
    lifecycle.referral_reject(tenant=w.tenant, actor=w.manager, referral=dropped,
                              reason="false_info", note="电话是空号")
    third, _ = converted(w, referrer, "10000")
    assert (first.ordinal, third.ordinal) == (1, 2)
    assert third.reward_inputs["successful_before"] == 1


def test_override_on_later_purchases_2nd_and_7th(world_a):
    w = world_a
    policy(w, preset="franchise")
    referrer = customer_referrer(w)
    got = [converted(w, referrer, "10000")[0] for _ in range(7)]
    second, seventh = got[1], got[6]
    later = deal(w, second.customer, "20000", signed_on=days_ago(w, 2), kind="expansion")
    with w.context():
        [line] = RewardLine.objects.filter(kind="override")
    assert (line.referral_id, line.referrer_id, line.deal_id, line.amount) == (
        second.pk, referrer.pk, later.pk, D("400.00"))
    assert (line.occurred_on, line.policy_version, line.refund_id) == (later.signed_on, 1, None)
    assert fresh(w, second).deal_id == second.deal_id  # still its first deal: no new reward
    [audit] = audits(w, second, "referral.override")
    assert audit.changes == {"deal": later.pk, "amount": "400.00"}
    deal(w, seventh.customer, "20000", kind="expansion")
    assert lines(w, seventh) == [("override", D("600.00"))]


def test_no_override_without_ordinal_tiers(world_a):
    w = world_a  # the home preset has no override
    referral, _ = converted(w, customer_referrer(w), "10000")
    deal(w, referral.customer, "20000", kind="expansion")
    assert lines(w) == []


# ----------------------------------------------------------------------------- count bonus

def test_count_bonus_once_at_the_10th_not_at_the_11th(world_a):
    w = world_a
    make_education(w)
    referrer = customer_referrer(w)
    got = [converted(w, referrer, "1000")[0] for _ in range(11)]
    assert [r.reward_count_bonus for r in got] == [D("0")] * 9 + [D("3000.00"), D("0")]
    tenth = got[9]
    assert tenth.reward_total == D("3050.00")  # 5 % of 1 000 + 3 000
    assert tenth.reward_explanation[-1] == "次数奖励：第 10 次成功转介绍达到 10 次：3000.00（一次性）"
    assert got[10].reward_total == D("50.00") and got[10].ordinal == 11
    [convert] = audits(w, tenth, "referral.convert")
    assert convert.changes["reward"]["count_bonus"] == "3000.00"


# ----------------------------------------------------------------------------- points

def test_points_earned_at_approval_and_balance_is_the_sum_after_redemptions(world_a):
    w = world_a
    make_education(w)
    referrer = customer_referrer(w)
    a, _ = converted(w, referrer, "5000", signed_on=days_ago(w, 10))
    b, _ = converted(w, referrer, "5000", signed_on=days_ago(w, 10))
    assert points_rows(w, referrer) == []  # nothing before approval
    for referral in (a, b):
        lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral)
    assert points_rows(w, referrer) == [("earned", 10), ("earned", 10)]
    with w.context():
        assert list(PointsEntry.objects.values_list("referral_id", flat=True).order_by("id")) == [
            a.pk, b.pk]
    item = points_services.points_item_create(tenant=w.tenant, actor=w.admin, name="带薪假一天",
                                              points=15)
    redemption = points_services.redemption_request(tenant=w.tenant, actor=w.manager,
                                                    referrer=referrer, item=item)
    points_services.redemption_decide(tenant=w.tenant, actor=w.manager, redemption=redemption,
                                      approve=True)
    rows = points_rows(w, referrer)
    assert rows == [("earned", 10), ("earned", 10), ("redeemed", -15)]
    with w.context():
        assert points_services.points_balance(referrer) == sum(p for _, p in rows) == 5
