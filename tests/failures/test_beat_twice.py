"""Two beat processes started by mistake send every periodic job twice: each tenant's job
still runs once per period (apps.core.jobs), and runs again in the next period."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from celery import current_app
from celery.schedules import crontab
from django.conf import settings as django_settings

from apps.core.jobs import job_period, period_kind
from apps.core.models import JobRun
from apps.tenancy.context import current_tenant_id
from apps.tenancy.tasks import TenantTask, fan_out, tenant_task
from tests.concurrency import committed, run_together

JOB = "tests.failures.count_runs"
RUNS: list[int] = []
RUNS_LOCK = threading.Lock()


@tenant_task(name=JOB)
def count_runs(tenant_id: int, pause: float = 0.0) -> int:
    """A periodic job whose only effect is to be counted (the tenant it ran for)."""
    assert current_tenant_id() == tenant_id
    time.sleep(pause)
    with RUNS_LOCK:
        RUNS.append(tenant_id)
    return tenant_id


@pytest.fixture
def scheduled(settings):
    """The test job in the beat schedule as a daily job, like the real ones; tasks eager."""
    settings.CELERY_BEAT_SCHEDULE = {**settings.CELERY_BEAT_SCHEDULE, "test-count-runs": {
        "task": "tenancy.fan_out", "schedule": crontab(hour=3, minute=0), "args": [JOB]}}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    assert current_app.conf.task_always_eager
    RUNS.clear()
    yield
    RUNS.clear()


def test_the_same_job_sent_twice_in_a_period_runs_once_per_tenant(world_a, world_b, scheduled):
    a, b = world_a.tenant.pk, world_b.tenant.pk
    assert fan_out.delay(JOB).get() >= 2
    assert fan_out.delay(JOB).get() >= 2          # the second beat process
    assert sorted(RUNS) == sorted([a, b])
    period = job_period(JOB)
    for world in (world_a, world_b):
        with world.context():
            assert list(JobRun.objects.values_list("task", "period")) == [(JOB, period)]

    RUNS.clear()  # the next day: a new period, each tenant runs again (once)
    tomorrow = (dt.date.fromisoformat(period) + dt.timedelta(days=1)).isoformat()
    for _ in range(2):
        for tenant_id in (a, b):
            count_runs.delay(tenant_id, job_period=tomorrow)
    assert sorted(RUNS) == sorted([a, b])
    count_runs.delay(a)                            # run by hand (no period): not claimed
    assert sorted(RUNS) == sorted([a, a, b])


@committed
def test_two_workers_running_the_same_job_at_once_run_it_once(world_a, scheduled):
    """The second claim waits for the first's transaction; the first commits, so it skips."""
    a = world_a.tenant.pk
    results = run_together(
        lambda: count_runs.apply(args=(a, 0.5), kwargs={"job_period": "2026-12-07"}).get(),
        lambda: count_runs.apply(args=(a, 0.5), kwargs={"job_period": "2026-12-07"}).get())
    assert sorted(results, key=str) == sorted([("ok", a), ("ok", None)], key=str), results
    assert RUNS == [a]


def test_a_failed_run_leaves_no_claim_so_the_period_is_not_lost(world_a, scheduled, settings):
    a = world_a.tenant.pk
    with pytest.raises(TypeError):  # the body fails (a wrong argument): nothing is kept
        count_runs.apply(args=(a, "not a number"), kwargs={"job_period": "2026-12-07"},
                         throw=True)
    with world_a.context():
        assert not JobRun.objects.exists()
    count_runs.delay(a, job_period="2026-12-07")
    assert RUNS == [a]


def test_every_beat_job_runs_once_per_period():
    """Every per-tenant job of the beat schedule has a period and claims it; the others are
    safe to run twice (listed with the reason)."""
    twice_is_harmless = {
        "imports.cleanup_uploads": "deletes files older than N days: a second run finds none",
        "core.relay_outbox": "each message is sent once (conditional UPDATE, apps.core.outbox)",
    }
    current_app.loader.import_default_modules()  # what a worker does: every app's tasks
    for name, entry in django_settings.CELERY_BEAT_SCHEDULE.items():
        if entry["task"] == "tenancy.fan_out":
            job = entry["args"][0]
            assert period_kind(job) in ("day", "hour"), name
            assert isinstance(current_app.tasks[job], TenantTask), name
        else:
            assert entry["task"] in twice_is_harmless, name
    assert period_kind("followups.remind") == "hour"
    assert period_kind("commissions.calculate_due") == "day"
    noon_utc = dt.datetime(2026, 12, 7, 17, 30, tzinfo=dt.UTC)    # 01:30 next day in Shanghai
    assert job_period("followups.remind", noon_utc) == "2026-12-08T01"
    assert job_period("commissions.calculate_due", noon_utc) == "2026-12-08"
    assert job_period("imports.cleanup_uploads", noon_utc) is None
