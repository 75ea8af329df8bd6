"""The nightly team-customer counts: per tenant, idempotent, and through a real worker."""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from celery import current_app
from django.db import connections

from apps.core.models import AuditEntry
from apps.customers.models import Customer, TeamCustomerCount
from apps.customers.selectors import team_customer_counts
from apps.customers.services import customer_create
from apps.customers.tasks import count_team_customers, tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant, User
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create, team_create, tenant_create
from apps.tenancy.tasks import fan_out

from .factories import CustomerFactory, next_phone

ROOT = Path(__file__).resolve().parents[2]


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


def _cleanup(tenant: Tenant) -> None:
    """Delete what the worker test committed, in dependency order."""
    with tenant_context(tenant):
        user_ids = list(Staff.objects.values_list("user_id", flat=True))
        TeamCustomerCount.objects.all().delete()
        AuditEntry.objects.all().delete()
        Customer.objects.all().delete()
        Staff.objects.all().delete()
        Team.objects.all().delete()
    User.objects.filter(pk__in=user_ids).delete()
    Tenant.objects.filter(pk=tenant.pk).delete()


@pytest.mark.worker
def test_count_runs_in_a_real_celery_worker(django_db_setup, django_db_blocker):
    """A worker process (its own DB connection) runs the task: the data must be committed."""
    assert not current_app.conf.task_always_eager  # a real worker, not in-process
    token = uuid.uuid4().hex[:10]
    queue = f"test-customers-{token}"
    with django_db_blocker.unblock():
        tenant = tenant_create(name=f"Worker {token}", slug=f"worker-{token}")
        proc = log = None
        try:
            with tenant_context(tenant):
                team = team_create(tenant=tenant, actor=None, name="一组")
                sales = staff_create(tenant=tenant, actor=None, username=f"worker-{token}",
                                     password=None, name="销售", roles=[Role.SALES], team=team,
                                     base_salary=Decimal("0"))
                for _ in range(2):
                    customer_create(tenant=tenant, actor=sales, name="客户", phone=next_phone())
            env = {**os.environ,
                   "DATABASE_NAME_OVERRIDE": connections["default"].settings_dict["NAME"]}
            log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "referral_crm", "worker", "--pool=solo",
                 "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h", "--without-heartbeat",
                 "--without-gossip", "--without-mingle", "--loglevel=INFO"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            count_team_customers.apply_async(args=[tenant.pk], queue=queue)
            deadline = time.monotonic() + 60
            rows = []
            while time.monotonic() < deadline:
                with tenant_context(tenant):
                    rows = sorted((r.team_id or 0, r.customers)
                                  for r in TeamCustomerCount.objects.all())
                if rows or proc.poll() is not None:
                    break
                time.sleep(0.25)
            log.seek(0)
            assert rows == [(0, 0), (team.pk, 2)], log.read()[-3000:]
        finally:
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            if log is not None:
                log.close()
                os.unlink(log.name)
            try:
                with current_app.connection_for_write() as conn:
                    conn.default_channel.queue_delete(queue)
            except Exception:  # best effort: an unused queue name costs nothing
                pass
            _cleanup(tenant)
