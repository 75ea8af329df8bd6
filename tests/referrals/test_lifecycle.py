"""The referral lifecycle through its services: logging (and a collision with another
salesperson's customer), conversion on the FIRST deal only (also of a public-link referral),
the hold, approval and payment with their audit rows, partners' agreement fees and due days."""

import datetime as dt

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

from apps.customers.services import relation_add
from apps.disputes.models import Dispute
from apps.disputes.services import dispute_decide
from apps.ownership.registration import customer_register
from apps.referrals import lifecycle
from apps.referrals.models import Referral, RewardLine
from apps.referrals.public import referral_submit_public

from .cards_helpers import card_for, make_customer
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
    partner,
    phone,
    policy,
    today,
    zh,
)

pytestmark = pytest.mark.django_db


def approve(w, referral, actor=None):
    return lifecycle.referral_approve(tenant=w.tenant, actor=actor or w.manager,
                                      referral=referral)


def pay(w, referral, actor=None):
    return lifecycle.referral_pay(tenant=w.tenant, actor=actor or w.finance, referral=referral)


# ----------------------------------------------------------------------------- logging

def test_log_registers_the_person_and_verifies_the_referral(world_a):
    w = world_a
    referrer = customer_referrer(w)
    result = log(w, referrer, name="李四", number="13900139001", notes="同事介绍")
    referral = result.referral
    assert result.registration.outcome == "registered" and not result.needs_confirmation
    with w.context():
        customer = referral.customer
        assert (customer.name, customer.phone, customer.owner_id, customer.source) == (
            "李四", "13900139001", w.sales.pk, "referral")
    assert (referral.status, referral.channel, referral.created_by_id, referral.verified_by_id) == (
        "verified", "staff", w.sales.pk, w.sales.pk)
    [audit] = audits(w, referral)
    assert (audit.action, audit.actor_id) == ("referral.log", w.sales.pk)
    assert audit.changes == {"referrer": referrer.pk, "customer": customer.pk,
                             "registration": "registered", "status": "verified", "dispute": None}


def test_collision_asks_first_then_opens_the_dispute_and_the_manager_verifies(world_a):
    w = world_a
    referrer = customer_referrer(w)
    theirs = make_customer(w, name="赵六", phone="13900139002", owner=w.sales_other_team)
    result = log(w, referrer, name="赵六", number="13900139002")
    assert result.needs_confirmation and result.referral is None
    assert result.registration.customer.pk == theirs.pk
    with w.context():
        assert Referral.objects.count() == 0 and Dispute.objects.count() == 0
    assert audits(w, referrer) == [a for a in audits(w, referrer) if a.action != "referral.log"]

    result = log(w, referrer, name="赵六", number="13900139002", confirm_collision=True,
                 claim_note="客户是王五介绍来的")
    referral = result.referral
    with w.context():
        dispute = Dispute.objects.get()
    assert result.registration.dispute.pk == dispute.pk
    assert (referral.status, referral.flagged, referral.customer_id) == (
        "registered", True, theirs.pk)
    assert f"#{dispute.pk}" in referral.flag_reason
    assert audits(w, referral, "referral.log")[0].changes["dispute"] == dispute.pk
    with pytest.raises(PermissionDenied):  # not their customer (yet): the salesperson may not
        lifecycle.referral_verify(tenant=w.tenant, actor=w.sales, referral=referral)
    assert fresh(w, referral).status == "registered"

    with pytest.raises(ValidationError) as refused:  # ownership first, then the referral
        lifecycle.referral_verify(tenant=w.tenant, actor=w.manager, referral=referral)
    assert f"撞单 #{dispute.pk}" in str(refused.value) and "尚未裁定" in str(refused.value)
    assert fresh(w, referral).status == "registered"

    dispute_decide(tenant=w.tenant, actor=w.admin, dispute=dispute, outcome="award_owner",
                   note="先报备者为准")
    lifecycle.referral_verify(tenant=w.tenant, actor=w.manager, referral=referral)
    referral = fresh(w, referral)
    assert (referral.status, referral.flagged, referral.verified_by_id) == (
        "verified", False, w.manager.pk)
    [audit] = audits(w, referral, "referral.verify")
    assert audit.actor_id == w.manager.pk and audit.changes["status"] == "verified"


def test_bad_input_refused_nothing_saved(world_a):
    w = world_a
    referrer = customer_referrer(w)
    with pytest.raises(ValidationError) as exc:
        log(w, referrer, name="", number="12345")
    assert set(exc.value.message_dict) == {"name", "phone"}
    with pytest.raises(ValidationError) as exc:
        log(w, referrer, notes="长" * 1001)
    assert exc.value.message_dict == {"notes": [zh("At most %(max)s characters.", max=1000)]}
    with w.context():
        assert Referral.objects.count() == 0


# ----------------------------------------------------------------------------- conversion

def test_only_the_first_deal_converts(world_a):
    w = world_a
    referral, first = converted(w, customer_referrer(w), "10000")
    assert referral.deal_id == first.pk and referral.converted_at is not None
    second = deal(w, referral.customer, "30000", kind="expansion")
    again = fresh(w, referral)
    assert (again.deal_id, again.reward_total, again.ordinal) == (first.pk, D("500.00"), 1)
    with w.context():
        assert Referral.objects.filter(deal=second).count() == 0 and Referral.objects.count() == 1
    assert len(audits(w, referral, "referral.convert")) == 1


def test_a_customer_without_a_referral_is_untouched(world_a):
    w = world_a
    deal(w, make_customer(w, name="散客", phone="13900139003"), "10000")
    with w.context():
        assert Referral.objects.count() == 0 and RewardLine.objects.count() == 0


def test_public_link_referral_is_linked_and_converted_at_the_first_deal(world_a):
    w = world_a
    card = card_for(w, customer_referrer(w))
    referral = referral_submit_public(tenant=w.tenant, card=card, name="钱七",
                                      phone="13700137000")
    registered = customer_register(tenant=w.tenant, actor=w.sales2, name="钱七",
                                   phone="13700137000")
    the_deal = deal(w, registered.customer, "20000")
    referral = fresh(w, referral)
    assert (referral.status, referral.customer_id, referral.deal_id) == (
        "reward_pending", registered.customer.pk, the_deal.pk)
    assert referral.verified_by_id is None and referral.verified_at is not None
    assert referral.reward_total == D("1400.00")  # home preset: 7 % of 20 000
    assert [a.action for a in audits(w, referral)] == [
        "referral.verify", "referral.convert", "referral.hold"]


def test_public_link_referral_of_a_relative_is_rejected_at_the_first_deal(world_a):
    w = world_a
    referrer = customer_referrer(w)
    card = card_for(w, referrer)
    referral = referral_submit_public(tenant=w.tenant, card=card, name="王妻",
                                      phone="13700137000")
    wife = make_customer(w, name="王妻", phone="13700137000")
    with w.context():
        relation_add(tenant=w.tenant, actor=w.manager, customer=wife,
                     related=referrer.customer, kind="spouse")
    deal(w, wife, "20000")
    referral = fresh(w, referral)
    assert (referral.status, referral.rejection_reason, referral.deal_id) == (
        "rejected", "relative", None)
    assert referral.rejection_note == zh(
        "%(name)s is a relative of the referrer; the policy excludes relatives.", name="王妻")
    [audit] = audits(w, referral, "referral.reject")
    assert audit.actor_id is None and audit.changes["reason"] == "relative"


def test_public_link_referral_of_a_customer_who_bought_before_is_rejected(world_a):
    w = world_a
    old = make_customer(w, name="老客户", phone="13700137001")
    deal(w, old, "5000", signed_on=days_ago(w, 30))
    card = card_for(w, customer_referrer(w))
    referral = referral_submit_public(tenant=w.tenant, card=card, name="老客户",
                                      phone="13700137001")
    assert referral.flagged  # the page did not tell, staff see the flag
    later = deal(w, old, "8000", kind="expansion")
    referral = fresh(w, referral)
    assert (referral.status, referral.rejection_reason, referral.customer_id) == (
        "rejected", "existing_customer", old.pk)
    assert referral.deal_id is None and referral.reward_total == 0
    assert audits(w, referral, "referral.reject")[0].changes["deal"] == later.pk


def test_verify_refuses_a_customer_who_bought_before(world_a):
    w = world_a
    old = make_customer(w, name="老客户", phone="13700137001")
    deal(w, old, "5000")
    card = card_for(w, customer_referrer(w))
    referral = referral_submit_public(tenant=w.tenant, card=card, name="老客户",
                                      phone="13700137001")
    with pytest.raises(ValidationError) as exc:
        lifecycle.referral_verify(tenant=w.tenant, actor=w.sales, referral=referral)
    assert exc.value.message_dict == {NON_FIELD_ERRORS: [zh(
        "%(name)s has bought before: only new customers can be referred.", name="老客户")]}
    assert fresh(w, referral).status == "registered"
    lifecycle.referral_reject(tenant=w.tenant, actor=w.sales, referral=referral,
                              reason="existing_customer")
    assert fresh(w, referral).rejection_reason == "existing_customer"


# ----------------------------------------------------------------------------- hold, approve, pay

def test_hold_until_is_the_signing_day_plus_hold_days(world_a):
    w = world_a
    policy(w, preset="home", hold_days=14)
    referral, the_deal = converted(w, customer_referrer(w), "10000", signed_on=days_ago(w, 3))
    assert referral.hold_until == the_deal.signed_on + dt.timedelta(days=14)
    [hold] = audits(w, referral, "referral.hold")
    assert hold.changes == {"status": ["converted", "reward_pending"],
                            "hold_until": referral.hold_until.isoformat()}


@pytest.mark.parametrize("signed_days_ago,allowed", [(0, False), (7, False), (8, True)])
def test_approve_only_after_the_hold(world_a, signed_days_ago, allowed):
    w = world_a
    referral, _ = converted(w, customer_referrer(w), "10000",
                            signed_on=days_ago(w, signed_days_ago))
    assert lifecycle.ready_to_approve(referral, today(w)) is allowed
    if allowed:
        approve(w, referral, actor=w.admin)
        referral = fresh(w, referral)
        assert (referral.status, referral.approved_by_id) == ("approved", w.admin.pk)
        return
    with pytest.raises(ValidationError) as exc:
        approve(w, referral)
    assert exc.value.message_dict == {NON_FIELD_ERRORS: [zh(
        "The reward is held until %(day)s (the refund window); approve it after that day.",
        day=referral.hold_until.isoformat())]}
    assert fresh(w, referral).status == "reward_pending"
    assert audits(w, referral, "referral.approve") == []


def test_approve_then_pay_writes_one_reward_line_and_audits_the_figures(world_a):
    w = world_a
    referral, the_deal = converted(w, customer_referrer(w), "12345.67")
    assert referral.reward_total == D("864.20")  # 7 % of 12 345.67 = 864.1969
    approve(w, referral, actor=w.manager)
    pay(w, referral, actor=w.finance)
    referral = fresh(w, referral)
    assert (referral.status, referral.paid_by_id) == ("paid", w.finance.pk)
    with w.context():
        [line] = RewardLine.objects.all()
    assert (line.kind, line.amount, line.deal_id, line.referrer_id, line.created_by_id) == (
        "reward", D("864.20"), the_deal.pk, referral.referrer_id, w.finance.pk)
    assert line.occurred_on == today(w) and line.policy_version is None
    [approved] = audits(w, referral, "referral.approve")
    assert approved.actor_id == w.manager.pk and approved.changes["reward"]["total"] == "864.20"
    [paid] = audits(w, referral, "referral.pay")
    assert paid.changes == {"status": ["approved", "paid"], "amount": "864.20", "line": line.pk}

    with pytest.raises(ValidationError) as exc:
        pay(w, referral, actor=w.admin)
    assert exc.value.message_dict == {NON_FIELD_ERRORS: [zh(
        "Only an approved reward can be paid (this referral is “%(status)s”).",
        status=zh("Paid"))]}
    assert lines(w) == [("reward", D("864.20"))]
    assert len(audits(w, referral, "referral.pay")) == 1


def test_approving_twice_is_refused(world_a):
    w = world_a
    referral, _ = converted(w, customer_referrer(w), "10000")
    approve(w, referral)
    with pytest.raises(ValidationError):
        approve(w, referral, actor=w.admin)
    assert len(audits(w, referral, "referral.approve")) == 1


def test_a_gift_only_reward_is_paid_without_a_money_line(world_a):
    w = world_a
    policy(w, rules={"gift_bands": {"bands": [{"min": "10000", "gift": "纪念册"}]}})
    referral, _ = converted(w, customer_referrer(w), "10000")
    assert (referral.status, referral.reward_total, referral.reward_gift) == (
        "reward_pending", D("0"), "纪念册")
    approve(w, referral)
    pay(w, referral)
    assert fresh(w, referral).status == "paid" and lines(w) == []


# ----------------------------------------------------------------------------- partners

@pytest.mark.parametrize("fee_kind,fee_value,amount,reward", [
    ("fixed", "800", "20000", "800.00"), ("percent", "2.5", "12345.67", "308.64")])
def test_partner_fee_due_working_days_after_the_signing_day(world_a, fee_kind, fee_value,
                                                            amount, reward):
    w = world_a
    referrer = partner(w, fee_kind=fee_kind, fee_value=fee_value, days=3)
    signed = dt.date(2026, 9, 30)  # then the National Day holiday, 1–7 October
    referral, the_deal = converted(w, referrer, amount, signed_on=signed, actor=w.manager)
    assert referral.reward_total == referral.reward_cash == D(reward)
    assert (referral.reward_points, referral.reward_gift, referral.override_percent) == (
        0, "", D("0"))
    # 8 and 9 October (Thu, Fri) and the make-up working Saturday 10 October.
    assert referral.payment_due_on == dt.date(2026, 10, 10)
    assert referral.reward_inputs["agreement"] == fee_kind
    assert referral.reward_inputs["payment_due_working_days"] == 3
    assert referral.status == "reward_pending" and referral.hold_until == dt.date(2026, 10, 7)
    approve(w, referral)
    pay(w, referral)
    assert lines(w, referral) == [("reward", D(reward))]
    assert the_deal.signed_on == signed


def test_every_step_is_audited(world_a):
    w = world_a
    referral, the_deal = converted(w, customer_referrer(w), "10000")
    approve(w, referral)
    pay(w, referral)
    assert [(a.action, a.actor_id) for a in audits(w, referral)] == [
        ("referral.log", w.sales.pk), ("referral.convert", None), ("referral.hold", None),
        ("referral.approve", w.manager.pk), ("referral.pay", w.finance.pk)]
    convert = audits(w, referral, "referral.convert")[0].changes
    assert convert["deal"] == the_deal.pk and convert["ordinal"] == 1
    assert convert["reward"] == {"total": "500.00", "cash": "0.00", "percent": "5",
                                 "percent_amount": "500.00", "count_bonus": "0.00", "gift": "",
                                 "points": 0, "override_percent": "0"}
    assert convert["inputs"]["deal_amount"] == "10000.00"


def test_a_new_referral_after_one_was_rejected(world_a):
    w = world_a
    referrer = customer_referrer(w)
    number = phone()
    first = log(w, referrer, number=number).referral
    lifecycle.referral_reject(tenant=w.tenant, actor=w.sales, referral=first, reason="duplicate")
    second = log(w, referrer, number=number).referral
    assert second.status == "verified" and second.customer_id == first.customer_id
