"""The lifecycle under simultaneous calls, each in its own thread and connection: one referral
per person, distinct ordinals, one reward per deal, one approval and one payment."""

from django.core.exceptions import PermissionDenied, ValidationError

from apps.disputes.models import Dispute
from apps.referrals import lifecycle
from apps.referrals.models import Referral, RewardLine
from tests.concurrency import committed, run_together

from .lifecycle_helpers import (
    D,
    converted,
    customer_referrer,
    deal,
    fresh,
    lines,
    log,
    make_education,
    points_rows,
    policy,
)


@committed
def test_two_salespeople_log_the_same_person_at_once_one_referral(world_a):
    w = world_a
    mine = customer_referrer(w, phone="13800138001", name="王五", seq=11)
    theirs = customer_referrer(w, phone="13800138002", name="孙八", seq=12, owner=w.sales2)
    results = run_together(
        lambda: log(w, mine, actor=w.sales, name="周九", number="13900139555",
                    confirm_collision=True),
        lambda: log(w, theirs, actor=w.sales2, name="周九", number="13900139555",
                    confirm_collision=True))
    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, ValidationError)
    with w.context():
        [referral] = Referral.objects.all()
        assert Referral.objects.filter(customer__phone="13900139555").count() == 1
        assert Dispute.objects.count() == 0  # the refused one left nothing behind
    winner = next(value for kind, value in results if kind == "ok")
    assert winner.referral.pk == referral.pk


@committed
def test_two_conversions_of_the_same_referrer_get_ordinals_1_and_2(world_a):
    w = world_a
    policy(w, preset="franchise")
    referrer = customer_referrer(w)
    a = log(w, referrer).referral
    b = log(w, referrer).referral
    with w.context():
        ca, cb = a.customer, b.customer
    results = run_together(lambda: deal(w, ca, "10000"), lambda: deal(w, cb, "10000"))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    got = [fresh(w, a), fresh(w, b)]
    assert sorted(r.ordinal for r in got) == [1, 2]
    assert [r.reward_cash for r in got] == [D("4000.00")] * 2
    assert sorted(r.reward_inputs["successful_before"] for r in got) == [0, 1]


@committed
def test_two_first_deals_of_the_referred_customer_at_once_one_reward(world_a):
    w = world_a
    policy(w, preset="franchise")
    referral = log(w, customer_referrer(w)).referral
    with w.context():
        customer = referral.customer
    results = run_together(lambda: deal(w, customer, "10000"), lambda: deal(w, customer, "20000"))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    referral = fresh(w, referral)
    deals = {value.pk: value for _, value in results}
    other = next(pk for pk in deals if pk != referral.deal_id)
    assert referral.status == "reward_pending" and referral.ordinal == 1
    assert referral.reward_cash == D("4000.00")
    # The deal that came second earns only the override (2 %), never a second reward.
    with w.context():
        [line] = RewardLine.objects.all()
        assert Referral.objects.count() == 1
    assert (line.kind, line.deal_id) == ("override", other)
    assert line.amount == (deals[other].amount * D("0.02")).quantize(D("0.01"))


@committed
def test_approve_twice_at_once_and_pay_twice_at_once(world_a):
    w = world_a
    make_education(w)
    referrer = customer_referrer(w)
    referral, _ = converted(w, referrer, "5000")
    results = run_together(
        lambda: lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral),
        lambda: lifecycle.referral_approve(tenant=w.tenant, actor=w.admin, referral=referral))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    assert points_rows(w, referrer) == [("earned", 10)]
    results = run_together(
        lambda: lifecycle.referral_pay(tenant=w.tenant, actor=w.finance, referral=referral),
        lambda: lifecycle.referral_pay(tenant=w.tenant, actor=w.admin, referral=referral))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    assert not any(isinstance(v, PermissionDenied) for _, v in results)
    assert lines(w) == [("reward", D("400.00"))]
