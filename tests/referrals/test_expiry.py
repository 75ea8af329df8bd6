"""The conversion window (referrals_expire, nightly per tenant): open referrals older than the
policy's conversion_days are rejected as expired, exactly once, also when two runs overlap or a
first deal arrives at the same moment."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.core.models import AuditEntry
from apps.referrals import lifecycle
from apps.referrals.models import Referral
from apps.referrals.public import referral_submit_public
from tests.concurrency import committed, run_together

from .cards_helpers import card_for
from .lifecycle_helpers import (
    converted,
    customer_referrer,
    deal,
    fresh,
    log,
    phone,
    policy,
    zh,
)

NOW = timezone.now()


def aged(world, referral, age: dt.timedelta):
    with world.context():
        Referral.objects.filter(pk=referral.pk).update(created_at=NOW - age)
    return referral


def expire_audits(world) -> list[int]:
    with world.context():
        return sorted(AuditEntry.objects.filter(action="referral.expire")
                      .values_list("target_id", flat=True))


@pytest.mark.django_db
def test_expires_exactly_the_open_ones_past_the_window_and_only_once(world_a):
    w = world_a
    referrer = customer_referrer(w)
    days = dt.timedelta(days=90)  # the default conversion window
    on_the_edge = aged(w, log(w, referrer).referral, days)
    just_past = aged(w, log(w, referrer).referral, days + dt.timedelta(seconds=1))
    long_past = aged(w, log(w, referrer).referral, dt.timedelta(days=400))
    public = aged(w, referral_submit_public(tenant=w.tenant, card=card_for(w, referrer),
                                            name="钱七", phone=phone()), days * 2)
    recent = log(w, referrer).referral
    done, _ = converted(w, referrer, "10000")
    aged(w, done, days * 2)
    dropped = log(w, referrer).referral
    lifecycle.referral_reject(tenant=w.tenant, actor=w.manager, referral=dropped,
                              reason="duplicate")
    aged(w, dropped, days * 2)

    assert lifecycle.referrals_expire(tenant=w.tenant, now=NOW) == 3
    expired = sorted([just_past.pk, long_past.pk, public.pk])
    with w.context():
        rejected = Referral.objects.filter(rejection_reason="expired")
        assert sorted(rejected.values_list("pk", flat=True)) == expired
        row = rejected.get(pk=just_past.pk)
        assert (row.status, row.rejected_by_id, row.rejected_at) == ("rejected", None, NOW)
        assert row.rejection_note == zh("No purchase within %(days)s days", days=90)
        assert Referral.objects.get(pk=on_the_edge.pk).status == "verified"
        assert Referral.objects.get(pk=recent.pk).status == "verified"
        assert Referral.objects.get(pk=done.pk).status == "reward_pending"
        assert Referral.objects.get(pk=dropped.pk).rejection_reason == "duplicate"
    assert expire_audits(w) == expired
    with w.context():
        audit = AuditEntry.objects.get(action="referral.expire", target_id=just_past.pk)
    assert audit.actor_id is None and audit.changes["conversion_days"] == 90

    assert lifecycle.referrals_expire(tenant=w.tenant, now=NOW) == 0
    assert expire_audits(w) == expired


@pytest.mark.django_db
def test_the_policys_window_and_a_new_referral_after_expiry(world_a):
    w = world_a
    policy(w, preset="home", conversion_days=30)
    referrer = customer_referrer(w)
    number = phone()
    old = aged(w, log(w, referrer, number=number).referral, dt.timedelta(days=31))
    kept = aged(w, log(w, referrer).referral, dt.timedelta(days=29))
    assert lifecycle.referrals_expire(tenant=w.tenant, now=NOW) == 1
    assert fresh(w, old).status == "rejected" and fresh(w, kept).status == "verified"
    # Expired: the person may be referred again, and a deal now converts the new referral.
    again = log(w, referrer, number=number).referral
    with w.context():
        customer = again.customer
    deal(w, customer, "10000")
    assert fresh(w, again).status == "reward_pending" and fresh(w, old).deal_id is None


@committed
def test_two_runs_at_once_expire_each_referral_once(world_a):
    w = world_a
    referrer = customer_referrer(w)
    due = [aged(w, log(w, referrer).referral, dt.timedelta(days=100)) for _ in range(3)]
    results = run_together(lambda: lifecycle.referrals_expire(tenant=w.tenant, now=NOW),
                           lambda: lifecycle.referrals_expire(tenant=w.tenant, now=NOW))
    assert sorted(results) == [("ok", 0), ("ok", 3)], results
    assert expire_audits(w) == sorted(r.pk for r in due)
    with w.context():
        assert Referral.objects.filter(status="rejected").count() == 3


@committed
def test_expiry_and_a_first_deal_at_once_never_reject_a_converted_referral(world_a):
    w = world_a
    referrer = customer_referrer(w)
    for _ in range(3):
        referral = aged(w, log(w, referrer).referral, dt.timedelta(days=100))
        with w.context():
            customer = referral.customer
        results = run_together(lambda: lifecycle.referrals_expire(tenant=w.tenant, now=NOW),
                               lambda c=customer: deal(w, c, "10000"))
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        referral = fresh(w, referral)
        with w.context():
            actions = set(AuditEntry.objects.filter(target_type="referrals.referral",
                                                    target_id=referral.pk)
                          .values_list("action", flat=True))
        if referral.status == "rejected":  # the job came first: the deal converts nothing
            assert referral.deal_id is None and referral.rejection_reason == "expired"
            assert results[0][1] == 1 and "referral.convert" not in actions
        else:  # the deal came first: the job skipped it
            assert referral.status == "reward_pending" and referral.deal_id is not None
            assert "referral.expire" not in actions
