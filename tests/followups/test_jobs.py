"""The follow-up jobs as Celery runs them: the beat entries fan them out per tenant, each run
works in its own tenant only, and running a job twice does nothing the second time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from celery import current_app

from apps.deals.models import Contract
from apps.followups import tasks
from apps.followups.models import FollowUpTask
from apps.notifications.models import Notification
from apps.ownership.selectors import tenant_today
from tests.customers.factories import CustomerFactory


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    yield


def contract_ending(world, days: int) -> Contract:
    customer = CustomerFactory(tenant=world.tenant, actor=world.sales)
    end = tenant_today(world.tenant) + dt.timedelta(days=days)
    with world.context():
        return Contract.objects.create(tenant=world.tenant, customer=customer,
                                       number=f"K-{world.tenant.slug}-{days}", owner=world.sales,
                                       start=end - dt.timedelta(days=365), end=end,
                                       amount=Decimal("20000"))


def tasks_of(world) -> list[tuple]:
    with world.context():
        return list(FollowUpTask.objects.order_by("pk")
                    .values_list("purpose", "contract_id", "assignee_id"))


@pytest.mark.parametrize("job", ["followups.generate", "followups.remind"])
def test_beat_fans_each_job_out(settings, job):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["args"] == [job]]
    assert len(entries) == 1 and entries[0]["task"] == "tenancy.fan_out"
    assert job in current_app.tasks


def test_generation_job_runs_in_its_tenant_only_and_once(world_a, world_b, eager):
    mine = contract_ending(world_a, 7)      # the 7-day renewal reminder is due today
    contract_ending(world_b, 7)
    assert tasks.generate.delay(world_a.tenant.pk).get() == 1
    assert tasks.generate.delay(world_a.tenant.pk).get() == 0
    assert tasks_of(world_a) == [("renewal", mine.pk, world_a.sales.pk)]
    assert tasks_of(world_b) == []


def test_reminder_job_reminds_once_in_its_tenant_only(world_a, world_b, eager):
    contract_ending(world_a, 7)
    contract_ending(world_b, 7)
    tasks.generate.delay(world_a.tenant.pk).get()
    tasks.generate.delay(world_b.tenant.pk).get()
    for world in (world_a, world_b):  # both overdue by two hours
        with world.context():
            FollowUpTask.objects.update(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    first = tasks.remind.delay(world_a.tenant.pk).get()
    again = tasks.remind.delay(world_a.tenant.pk).get()
    assert first["reminded"] == 1 and first["escalated"] == 0
    assert again == {"reminded": 0, "escalated": 0, "penalised": 0}
    with world_a.context():
        assert list(Notification.objects.values_list("recipient_id", "kind")) == [
            (world_a.sales.pk, "follow_up")]
    with world_b.context():
        assert not Notification.objects.filter(kind="follow_up").exists()
        assert FollowUpTask.objects.get().reminded_at is None


def test_reminders_are_not_sent_at_night(settings):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values()
                 if e["args"] == ["followups.remind"])
    assert entry["schedule"].hour == set(range(8, 21))
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
