"""The nightly team-customer counts: per tenant, idempotent, and through a real worker."""

import pytest
from celery import current_app

from apps.customers.models import TeamCustomerCount
from apps.customers.selectors import team_customer_counts
from apps.customers.tasks import count_team_customers, tenant_today
from apps.tenancy.tasks import fan_out
from tests.concurrency import committed
from tests.workers import celery_worker, wait_until

from .factories import CustomerFactory


def snapshot(world):
    with world.context():
        return sorted((r.team_id or 0, r.day, r.customers, r.computed_at)
                      for r in TeamCustomerCount.objects.all())


@pytest.fixture
def eager(settings):
    """Run tasks in-process (Celery reads the Django settings it was configured from live)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    assert current_app.conf.task_always_eager and current_app.conf.task_eager_propagates
    yield


@pytest.mark.django_db
def test_fan_out_counts_each_tenant_and_is_idempotent(world_a, world_b, eager):
    a, b = world_a, world_b
    for _ in range(3):
        CustomerFactory(tenant=a.tenant, actor=a.sales)                   # team1
    CustomerFactory(tenant=a.tenant, actor=a.sales_other_team)            # team2
    CustomerFactory(tenant=a.tenant, actor=a.cs)                          # unassigned
    CustomerFactory(tenant=b.tenant, actor=b.sales_other_team)            # b: team2
    assert fan_out.delay("customers.count_team_customers").get() >= 2

    day_a, day_b = tenant_today(a.tenant), tenant_today(b.tenant)
    first_a, first_b = snapshot(a), snapshot(b)
    assert [row[:3] for row in first_a] == sorted([(0, day_a, 1), (a.team1.pk, day_a, 3),
                                                   (a.team2.pk, day_a, 1)])
    assert [row[:3] for row in first_b] == sorted([(0, day_b, 0), (b.team1.pk, day_b, 0),
                                                   (b.team2.pk, day_b, 1)])
    fan_out.delay("customers.count_team_customers").get()
    assert snapshot(a) == first_a and snapshot(b) == first_b  # not even computed_at moved

    CustomerFactory(tenant=a.tenant, actor=a.sales)
    assert count_team_customers.delay(a.tenant.pk).get() == 1  # only team1's row changes
    assert {team: n for team, _day, n, _at in snapshot(a)} == {0: 1, a.team1.pk: 4, a.team2.pk: 1}
    assert snapshot(b) == first_b


@pytest.mark.django_db
def test_team_customer_counts_for_home_page(world_a, eager):
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales_other_team)
    count_team_customers.delay(world_a.tenant.pk)
    with world_a.context():
        admin_rows = [(r.team_id, r.customers) for r in team_customer_counts(world_a.admin)]
        manager_rows = [(r.team_id, r.customers) for r in team_customer_counts(world_a.manager)]
        sales_rows = team_customer_counts(world_a.sales)
    assert sorted(admin_rows, key=str) == sorted([(world_a.team1.pk, 1), (world_a.team2.pk, 1),
                                                  (None, 0)], key=str)
    assert manager_rows == [(world_a.team1.pk, 1)]
    assert sales_rows == []


@pytest.mark.worker
@committed
def test_count_runs_in_a_real_celery_worker(world_a):
    """A worker process (its own DB connection) runs the task: the data must be committed
    (`committed`: the teardown flushes it, so nothing is left for the other tests)."""
    w = world_a
    for _ in range(2):
        CustomerFactory(tenant=w.tenant, actor=w.sales)                   # team1

    def rows():
        with w.context():
            return sorted((r.team_id or 0, r.customers) for r in TeamCustomerCount.objects.all())

    with celery_worker("test-customers") as worker:
        count_team_customers.apply_async(args=[w.tenant.pk], queue=worker.queue)
        assert wait_until(rows, worker=worker) == sorted([(0, 0), (w.team1.pk, 2),
                                                          (w.team2.pk, 0)]), worker.log()
