"""Bad input and abuse (issue 5): self-referrals, relatives, existing customers, a person
referred twice, state changes by the wrong role — refused with the reason, nothing changed.

Covered elsewhere (not repeated): a card over the cap (test_cards), a deactivated or forged code
and tenant A's code under tenant B's slug → 404 with nothing saved, a flood from one address or
on one code → 429 (test_public); two salespeople logging the same person at once and a second
reward for the same deal (test_lifecycle_concurrency, test_lifecycle)."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.customers.models import Customer
from apps.customers.services import relation_add
from apps.referrals import lifecycle
from apps.referrals import referrers as referrer_services
from apps.referrals.models import Referral, RewardLine
from apps.referrals.public import referral_submit_public

from .cards_helpers import card_for, make_customer, resident_id
from .lifecycle_helpers import (
    converted,
    customer_referrer,
    deal,
    fresh,
    log,
    partner,
    phone,
    policy,
    zh,
)

pytestmark = pytest.mark.django_db


def snapshot(world) -> dict:
    with world.context():
        return {"customers": Customer.objects.count(),
                "referrals": sorted(Referral.objects.values_list("pk", "status")),
                "lines": RewardLine.objects.count(),
                "audit": AuditEntry.objects.filter(action__startswith="referral.").count()}


def refused(world, call, field=NON_FIELD_ERRORS):
    before = snapshot(world)
    with pytest.raises(ValidationError) as exc:
        call()
    assert snapshot(world) == before
    return exc.value.message_dict[field]


# ----------------------------------------------------------------------------- self-referral

def test_self_referral_own_phone_or_own_id_refused(world_a):
    w = world_a
    referrer = customer_referrer(w, phone="13800138001")
    self_message = [zh("A referrer cannot refer themselves.")]
    assert refused(w, lambda: log(w, referrer, name="王五", number="138 0013 8001"),
                   "phone") == self_message
    assert refused(w, lambda: log(w, referrer, name="王五", number=phone(),
                                  id_number=resident_id(11)), "phone") == self_message


def test_a_partner_cannot_refer_themselves(world_a):
    w = world_a
    referrer = partner(w, number="13600136000")
    assert refused(w, lambda: log(w, referrer, actor=w.manager, number="13600136000"),
                   "phone") == [zh("A referrer cannot refer themselves.")]


def test_self_referral_on_the_public_page_refused(world_a):
    w = world_a
    card = card_for(w, customer_referrer(w, phone="13800138001"))
    submit = lambda **kw: referral_submit_public(  # noqa: E731
        tenant=w.tenant, card=card, name="王五", **kw)
    assert refused(w, lambda: submit(phone="13800138001"), "phone") == [
        zh("You cannot refer yourself.")]
    assert refused(w, lambda: submit(phone=phone(), id_number=resident_id(11)),
                   "id_number") == [zh("You cannot refer yourself.")]


# ----------------------------------------------------------------------------- relatives

def _wife_of(world, referrer):
    wife = make_customer(world, name="王妻", phone="13700137000")
    with world.context():
        relation_add(tenant=world.tenant, actor=world.manager, customer=referrer.customer,
                     related=wife, kind="spouse")
    return wife


def test_a_relative_is_refused_by_default(world_a):
    w = world_a
    referrer = customer_referrer(w)
    _wife_of(w, referrer)
    assert refused(w, lambda: log(w, referrer, name="王妻", number="13700137000")) == [zh(
        "%(name)s is a relative of the referrer; the policy excludes relatives.", name="王妻")]
    card = card_for(w, referrer)
    assert refused(w, lambda: referral_submit_public(
        tenant=w.tenant, card=card, name="王妻", phone="13700137000"), "phone") == [
        zh("Referrals of the referrer's own family members are not accepted.")]


def test_a_relative_is_accepted_when_the_policy_allows_relatives(world_a):
    w = world_a
    policy(w, preset="home", exclude_relatives=False)
    referrer = customer_referrer(w)
    wife = _wife_of(w, referrer)
    result = log(w, referrer, name="王妻", number="13700137000")
    assert result.referral.status == "verified" and result.referral.customer_id == wife.pk
    lifecycle.referral_reject(tenant=w.tenant, actor=w.manager, referral=result.referral,
                              reason="duplicate")
    card = card_for(w, referrer)
    public = referral_submit_public(tenant=w.tenant, card=card, name="王妻",
                                    phone="13700137000")
    assert public.status == "registered"


# ----------------------------------------------------------------------------- existing, twice

def test_an_existing_customer_with_a_deal_cannot_be_referred(world_a):
    w = world_a
    referrer = customer_referrer(w)
    old = make_customer(w, name="老客户", phone="13700137001")
    deal(w, old, "3000")
    assert refused(w, lambda: log(w, referrer, name="老客户", number="13700137001")) == [zh(
        "%(name)s has bought before: only new customers can be referred.", name="老客户")]


def test_a_person_is_referred_once(world_a):
    w = world_a
    first_referrer = customer_referrer(w, phone="13800138001", seq=11)
    second_referrer = customer_referrer(w, phone="13800138002", name="孙八", seq=12)
    number = phone()
    first = log(w, first_referrer, name="周九", number=number).referral
    assert refused(w, lambda: log(w, second_referrer, name="周九", number=number)) == [zh(
        "%(name)s is already referred (referral #%(id)s).", name="周九", id=first.pk)]
    assert refused(w, lambda: log(w, first_referrer, name="周九", number=number)) == [zh(
        "%(name)s is already referred (referral #%(id)s).", name="周九", id=first.pk)]


def test_a_person_left_on_the_public_page_is_not_logged_again(world_a):
    w = world_a
    referrer = customer_referrer(w)
    number = phone()
    public = referral_submit_public(tenant=w.tenant, card=card_for(w, referrer), name="钱七",
                                    phone=number)
    assert refused(w, lambda: log(w, referrer, name="钱七", number=number)) == [zh(
        "%(name)s is already referred (referral #%(id)s).", name="钱七", id=public.pk)]


def test_a_referrer_the_salesperson_does_not_see_or_deactivated(world_a):
    w = world_a
    referrer = customer_referrer(w)  # a customer of w.sales
    assert refused(w, lambda: log(w, referrer, actor=w.sales_other_team), "referrer") == [
        zh("Choose a referrer.")]
    referrer_services.referrer_deactivate(tenant=w.tenant, actor=w.manager, referrer=referrer)
    assert refused(w, lambda: log(w, referrer), "referrer") == [
        zh("This referrer is deactivated.")]


# ----------------------------------------------------------------------------- wrong roles

def _forbidden(world, call):
    before = snapshot(world)
    with pytest.raises(PermissionDenied):
        call()
    assert snapshot(world) == before


@pytest.mark.parametrize("role", ["cs", "finance"])
def test_log_by_customer_service_or_finance_refused(world_a, role):
    w = world_a
    referrer = customer_referrer(w)
    _forbidden(w, lambda: log(w, referrer, actor=getattr(w, role)))


def test_state_changes_by_the_wrong_role_refused_nothing_changed(world_a, world_b):
    w = world_a
    t = w.tenant
    referrer = customer_referrer(w)
    open_one = log(w, referrer).referral
    public = referral_submit_public(tenant=t, card=card_for(w, referrer), name="钱七",
                                    phone=phone())
    pending, _ = converted(w, referrer, "10000")

    for actor in (w.cs, w.finance):  # reject: customer service, finance
        _forbidden(w, lambda a=actor: lifecycle.referral_reject(
            tenant=t, actor=a, referral=open_one, reason="duplicate"))
    # A salesperson rejects only an open referral: not a pending reward.
    _forbidden(w, lambda: lifecycle.referral_reject(tenant=t, actor=w.sales, referral=pending,
                                                    reason="false_info", note="假"))
    for actor in (w.finance, w.cs):  # verify: finance, customer service
        _forbidden(w, lambda a=actor: lifecycle.referral_verify(tenant=t, actor=a,
                                                               referral=public))
    for actor in (w.sales, w.finance, w.cs):  # approve: sales, finance, customer service
        _forbidden(w, lambda a=actor: lifecycle.referral_approve(tenant=t, actor=a,
                                                                referral=pending))
    lifecycle.referral_approve(tenant=t, actor=w.manager, referral=pending)
    for actor in (w.manager, w.sales, w.cs):  # pay: manager, sales, customer service
        _forbidden(w, lambda a=actor: lifecycle.referral_pay(tenant=t, actor=a,
                                                            referral=pending))
    # Staff of another tenant never reach this tenant's referral.
    with pytest.raises((PermissionDenied, Referral.DoesNotExist)):
        lifecycle.referral_approve(tenant=world_b.tenant, actor=world_b.manager,
                                   referral=pending)
    assert fresh(w, pending).status == "approved"
    assert fresh(w, open_one).status == "verified" and fresh(w, public).status == "registered"


def test_an_approved_or_paid_reward_cannot_be_rejected(world_a):
    w = world_a
    referral, _ = converted(w, customer_referrer(w), "10000")
    lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral)
    assert refused(w, lambda: lifecycle.referral_reject(
        tenant=w.tenant, actor=w.admin, referral=referral, reason="false_info",
        note="假")) == [zh("A referral that is “%(status)s” cannot be rejected.",
                          status=zh("Approved"))]


def test_reject_needs_a_known_reason_and_a_note_for_false_information(world_a):
    w = world_a
    referral = log(w, customer_referrer(w)).referral
    assert refused(w, lambda: lifecycle.referral_reject(
        tenant=w.tenant, actor=w.manager, referral=referral, reason="nonsense"), "reason")
    assert refused(w, lambda: lifecycle.referral_reject(
        tenant=w.tenant, actor=w.manager, referral=referral, reason="false_info"), "note") == [
        zh("Say what was false.")]
