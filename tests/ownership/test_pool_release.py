"""The nightly release to the public pool: day boundaries in the tenant's time zone, the policy
in force, idempotence, two runners at once, effective contacts, and the Celery task (eager and
through a real worker)."""

from __future__ import annotations

import datetime as dt

import pytest
from celery import current_app

from apps.core.models import AuditEntry
from apps.customers.models import Customer, OwnershipChange
from apps.customers.services import customer_create
from apps.notifications.models import Notification
from apps.ownership.selectors import tenant_today
from apps.ownership.services import contact_record, policy_create, pool_release_due
from apps.ownership.tasks import release_due_customers
from apps.tenancy.tasks import fan_out
from tests.concurrency import committed, run_together
from tests.customers.factories import next_phone
from tests.workers import celery_worker, wait_until

from .test_pool_helpers import D, at, audits, days, fresh, history, make_customer, notifications, state


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    assert current_app.conf.task_always_eager
    yield


def test_day_29_30_31_boundaries(world_a):
    """Contacted on D (any hour, Shanghai time): still owned on D+29 and D+30, released on D+31."""
    w = world_a
    late = make_customer(w, w.sales, contacted=at(D, 23, 59))     # 15:59 UTC on D
    early = make_customer(w, w.sales, contacted=at(D, 0, 1))      # 16:01 UTC on D-1
    next_day = make_customer(w, w.sales, contacted=at(D + days(1), 0, 0))  # still D in UTC
    for today in (D + days(29), D + days(30)):
        assert pool_release_due(tenant=w.tenant, today=today) == 0
    assert fresh(w, late).owner == w.sales and fresh(w, early).owner == w.sales

    assert pool_release_due(tenant=w.tenant, today=D + days(31)) == 2
    assert fresh(w, late).owner is None and fresh(w, early).owner is None
    assert fresh(w, next_day).owner == w.sales   # its D+31 is tomorrow
    assert pool_release_due(tenant=w.tenant, today=D + days(32)) == 1
    assert fresh(w, next_day).owner is None


def test_release_moves_customers_to_the_pool_with_history_audit_and_notices(world_a):
    w = world_a
    due = [make_customer(w, w.sales, contacted=at(D - days(40))),
           make_customer(w, w.sales, contacted=at(D - days(31))),
           make_customer(w, w.sales_other_team, contacted=at(D - days(35)))]
    kept = make_customer(w, w.sales2, contacted=at(D - days(30)))
    pooled = make_customer(w, None)

    assert pool_release_due(tenant=w.tenant, today=D) == 3

    for customer, owner in zip(due, (w.sales, w.sales, w.sales_other_team), strict=True):
        c = fresh(w, customer)
        assert (c.owner, c.previous_owner, c.owned_since) == (None, owner, None)
        assert c.released_at is not None and c.team == owner.team   # the team stays
        [row] = history(w, customer=customer, reason=OwnershipChange.Reason.RELEASE)
        assert (row.from_owner, row.to_owner, row.actor, row.policy_version) == (owner, None, None,
                                                                                  None)
        assert row.note == "超过 30 天无有效联系。"
    assert fresh(w, kept).owner == w.sales2
    assert history(w, customer=pooled, reason=OwnershipChange.Reason.RELEASE) == []

    [entry] = audits(w, "ownership.pool_release")
    assert entry.actor is None and entry.target_id == w.tenant.pk
    assert entry.changes["released"] == 3 and entry.changes["owners"] == 2
    assert entry.changes["day"] == D.isoformat()
    # One notice per former owner with their own count, in Chinese.
    [mine] = notifications(w, w.sales)
    assert mine.title == "您有 2 位客户已释放到公海" and mine.kind == Notification.Kind.POOL
    assert "超过 30 天没有有效联系" in mine.body and mine.url == "/ownership/pool/"
    [other] = notifications(w, w.sales_other_team)
    assert other.title == "您有 1 位客户已释放到公海"
    assert notifications(w, w.sales2) == []


def test_running_twice_the_same_day_changes_nothing_more(world_a):
    w = world_a
    for n in (31, 45, 60):
        make_customer(w, w.sales, contacted=at(D - days(n)))
    make_customer(w, w.sales2, contacted=at(D - days(3)))
    assert pool_release_due(tenant=w.tenant, today=D) == 3
    after_first = (state(w), len(history(w)), len(audits(w, "ownership.pool_release")),
                   len(notifications(w)))
    assert pool_release_due(tenant=w.tenant, today=D) == 0
    assert (state(w), len(history(w)), len(audits(w, "ownership.pool_release")),
            len(notifications(w))) == after_first


def test_an_effective_contact_keeps_the_customer(world_a):
    w = world_a
    called = make_customer(w, w.sales, contacted=at(D - days(40)))
    silent = make_customer(w, w.sales, contacted=at(D - days(40)))
    contact_record(tenant=w.tenant, customer=called, at=at(D - days(2)))
    # A late-arriving older contact never moves the clock back.
    contact_record(tenant=w.tenant, customer=called, at=at(D - days(50)))
    assert pool_release_due(tenant=w.tenant, today=D) == 1
    assert fresh(w, called).owner == w.sales
    assert fresh(w, silent).owner is None


def test_the_policy_in_force_on_the_day_is_used(world_a):
    """Version 1 (10 days) from D, version 2 (60 days) from D+5: on D+2 version 1 applies and
    the future version does not; on D+6 version 2 applies."""
    w = world_a
    day0 = tenant_today(w.tenant)   # policy_create refuses the past: versions start on real days
    v1 = policy_create(tenant=w.tenant, actor=w.admin, effective_from=day0,
                       release_after_days=10, revisit_window_days=30, warn_before_days=3,
                       reclaim_after_days=7)
    v2 = policy_create(tenant=w.tenant, actor=w.admin, effective_from=day0 + days(5),
                       release_after_days=60, revisit_window_days=30, warn_before_days=3,
                       reclaim_after_days=7)
    assert (v1.version, v2.version) == (1, 2)
    old = make_customer(w, w.sales, contacted=at(day0 - days(12)))
    recent = make_customer(w, w.sales, contacted=at(day0 - days(5)))

    assert pool_release_due(tenant=w.tenant, today=day0 + days(2)) == 1   # v1: 10 days
    assert fresh(w, old).owner is None and fresh(w, recent).owner == w.sales
    [row] = history(w, customer=old, reason=OwnershipChange.Reason.RELEASE)
    assert row.policy_version == 1 and row.note == "超过 10 天无有效联系。"
    # With version 1 `recent` (contacted day0-5) would go on day0+6; version 2 keeps it.
    assert pool_release_due(tenant=w.tenant, today=day0 + days(6)) == 0
    assert fresh(w, recent).owner == w.sales


def test_release_stays_in_its_tenant(world_a, world_b):
    a = make_customer(world_a, world_a.sales, contacted=at(D - days(40)))
    b = make_customer(world_b, world_b.sales, contacted=at(D - days(40)))
    assert pool_release_due(tenant=world_a.tenant, today=D) == 1
    assert pool_release_due(tenant=world_a.tenant.pk, today=D) == 0   # an id is fine too
    assert fresh(world_a, a).owner is None
    assert fresh(world_b, b).owner == world_b.sales
    assert audits(world_b, "ownership.pool_release") == []


def test_nightly_task_fans_out_per_tenant(world_a, world_b, eager):
    a = make_customer(world_a, world_a.sales, contacted=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    b = make_customer(world_b, world_b.sales2, contacted=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    fresh_a = make_customer(world_a, world_a.sales2)   # contacted now
    assert fan_out.delay("ownership.release_due_customers").get() >= 2
    assert fresh(world_a, a).owner is None and fresh(world_b, b).owner is None
    assert fresh(world_a, fresh_a).owner == world_a.sales2
    assert release_due_customers.delay(world_a.tenant.pk).get() == 0   # idempotent


def test_beat_schedules_the_release_through_fan_out(settings):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values()
               if e["args"] == ["ownership.release_due_customers"]]
    assert len(entries) == 1 and entries[0]["task"] == "tenancy.fan_out"
    assert "ownership.release_due_customers" in current_app.tasks


# --------------------------------------------------------------------------- two runners at once


@committed
def test_two_concurrent_runs_release_once(world_a):
    w = world_a
    due = [make_customer(w, w.sales, contacted=at(D - days(40))) for _ in range(30)]
    results = run_together(lambda: pool_release_due(tenant=w.tenant, today=D),
                           lambda: pool_release_due(tenant=w.tenant, today=D))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert sorted(released for _, released in results) == [0, len(due)]
    assert len(history(w, reason=OwnershipChange.Reason.RELEASE)) == len(due)
    assert len(audits(w, "ownership.pool_release")) == 1
    assert len(notifications(w, w.sales)) == 1
    assert all(fresh(w, c).owner is None for c in due)


# --------------------------------------------------------------------------- a real worker


@pytest.mark.worker
@committed
def test_release_runs_in_a_real_celery_worker(world_a):
    """A worker process (its own DB connection) runs the task: the data must be committed
    (`committed`: the teardown flushes it, so nothing is left for the other tests)."""
    w = world_a
    due = customer_create(tenant=w.tenant, actor=w.sales, name="客户甲", phone=next_phone())
    kept = customer_create(tenant=w.tenant, actor=w.sales, name="客户乙", phone=next_phone())
    with w.context():
        Customer.objects.filter(pk=due.pk).update(
            last_contact_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    def released():  # the run is one transaction: once its history rows show, it is all there
        with w.context():
            return OwnershipChange.objects.filter(reason="release").count()

    with celery_worker("test-ownership") as worker:
        release_due_customers.apply_async(args=[w.tenant.pk], queue=worker.queue)
        wait_until(released, worker=worker)
        with w.context():
            owners = dict(Customer.objects.values_list("pk", "owner_id"))
        assert owners == {due.pk: None, kept.pk: w.sales.pk}, worker.log()
    with w.context():
        assert OwnershipChange.objects.filter(reason="release", customer=due).count() == 1
        assert AuditEntry.objects.filter(action="ownership.pool_release").count() == 1
