"""Registration and claims at the same moment, each in its own thread and database connection.

The tests commit for real (`tests.concurrency.committed`: the teardown flushes the test
database as the owner, so nothing is left behind for the other tests)."""

from __future__ import annotations

import threading
import time

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from apps.customers.models import Customer, OwnershipChange
from apps.disputes.models import Dispute
from apps.ownership.models import OwnershipPolicy
from apps.ownership.registration import customer_claim, customer_register
from apps.ownership.selectors import tenant_today
from tests.concurrency import committed, run_together

from .test_registration_check import fresh, pool_customer

pytestmark = committed


def register_call(world, actor, phone, **kw):
    return lambda: customer_register(tenant=world.tenant, actor=actor, name="赵钱", phone=phone, **kw)


def test_two_salespeople_register_the_same_new_phone(world_a):
    w = world_a
    phone = "13511112222"
    results = run_together(register_call(w, w.sales, phone), register_call(w, w.sales2, phone))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    outcomes = {r.outcome: r for _, r in results}
    assert set(outcomes) == {"registered", "collision"}
    winner = outcomes["registered"].customer
    with w.context():
        (customer,) = Customer.objects.filter(phone=phone)
        (dispute,) = Dispute.objects.all()
        assert OwnershipChange.objects.filter(customer=customer).count() == 1
    assert customer.pk == winner.pk == outcomes["collision"].customer.pk
    assert customer.owner_id in (w.sales.pk, w.sales2.pk)
    assert dispute.owner_id == customer.owner_id
    assert {dispute.claimant_id, dispute.owner_id} == {w.sales.pk, w.sales2.pk}


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cur.fetchone()[0] > 0


def test_loser_blocked_on_the_unique_phone_becomes_a_collision(world_a):
    """Deterministic interleaving: A has inserted the phone but not committed; B's check finds
    nothing, B's insert waits on the unique index; A commits; B turns into a collision."""
    w = world_a
    phone = "13533334444"
    inserted, commit = threading.Event(), threading.Event()
    out: dict = {}

    def first():
        try:
            with transaction.atomic():
                out["a"] = customer_register(tenant=w.tenant, actor=w.sales2, name="孙李",
                                             phone=phone)
                inserted.set()
                commit.wait(timeout=30)
        finally:
            connection.close()

    def second():
        try:
            inserted.wait(timeout=30)
            out["b"] = customer_register(tenant=w.tenant, actor=w.sales, name="孙李", phone=phone,
                                         claim_note="同时登记")
        except Exception as exc:  # noqa: BLE001
            out["b"] = exc
        finally:
            connection.close()

    a, b = threading.Thread(target=first), threading.Thread(target=second)
    a.start()
    b.start()
    assert inserted.wait(timeout=30)
    blocked = False
    for _ in range(200):   # until B waits for A's row (then B's check found nothing)
        if _waiting_for_a_lock():
            blocked = True
            break
        time.sleep(0.05)
    commit.set()
    a.join(timeout=60)
    b.join(timeout=60)
    assert blocked
    assert out["a"].outcome == "registered"
    assert getattr(out["b"], "outcome", out["b"]) == "collision"
    with w.context():
        assert Customer.objects.filter(phone=phone).count() == 1
        dispute = Dispute.objects.get()
    assert (dispute.owner_id, dispute.claimant_id, dispute.claim) == (w.sales2.pk, w.sales.pk, "同时登记")


def test_two_claims_of_one_pool_customer(world_a):
    w = world_a
    c = pool_customer(w, "吴郑")
    results = run_together(
        lambda: customer_claim(tenant=w.tenant, actor=w.sales, customer=c),
        lambda: customer_claim(tenant=w.tenant, actor=w.sales2, customer=c))
    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["error", "ok"], results
    winner = next(v for k, v in results if k == "ok").owner
    loser_error = next(v for k, v in results if k == "error")
    assert isinstance(loser_error, ValidationError)
    assert loser_error.message_dict == {"__all__": [f"该客户已被{winner.name}认领。"]}
    assert fresh(w, c).owner == winner
    with w.context():
        assert OwnershipChange.objects.filter(customer=c, reason="claim").count() == 1


def test_daily_cap_holds_for_claims_at_the_same_moment(world_a):
    w = world_a
    with w.context():
        OwnershipPolicy.objects.create(tenant=w.tenant, version=1, daily_claim_cap=1,
                                       effective_from=tenant_today(w.tenant))
    a, b = pool_customer(w, "冯陈"), pool_customer(w, "褚卫")
    results = run_together(
        lambda: customer_claim(tenant=w.tenant, actor=w.sales, customer=a),
        lambda: customer_claim(tenant=w.tenant, actor=w.sales, customer=b))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    error = next(v for k, v in results if k == "error")
    assert error.message_dict == {"__all__": ["您今天已认领1个客户，每天最多认领1个。"]}
    with w.context():
        assert Customer.objects.filter(owner=w.sales).count() == 1
