"""Periodic jobs run once per tenant and period, however many times beat sends them.

Two beat processes started by mistake (or a fan-out sent twice) enqueue every per-tenant job
twice. Each run first claims (tenant, task, period) in JobRun with INSERT ... ON CONFLICT DO
NOTHING, inside the transaction of the job's body (apps.tenancy.tasks.TenantTask): the first
claim runs the body, a later one finds the row and returns at once. A concurrent second claim
waits for the first's transaction: if the first commits it skips, if it fails (rolled back,
claim included) the second runs the job instead -- so a period is never lost either.

The period comes from the job's beat entry (settings.CELERY_BEAT_SCHEDULE): a crontab at one
hour of the day is daily (period "2026-12-07", local time: CELERY_TIMEZONE = TIME_ZONE), at
several hours hourly ("2026-12-07T14"). A deliberate rerun within the same period calls the
per-tenant task itself (`task.delay(tenant_id)`), which claims nothing.
"""

from __future__ import annotations

import datetime as dt

from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from apps.tenancy.context import require_tenant_id

FAN_OUT = "tenancy.fan_out"
PERIOD_FORMATS = {"day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H"}


def period_kind(task_name: str) -> str | None:
    """"day" or "hour" for a per-tenant job that beat fans out; None for any other task."""
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if entry["task"] != FAN_OUT or list(entry.get("args") or [])[:1] != [task_name]:
            continue
        schedule = entry["schedule"]
        if isinstance(schedule, crontab) and len(schedule.minute) == 1:
            return "day" if len(schedule.hour) == 1 else "hour"
        raise ImproperlyConfigured(
            f"beat entry {name!r}: a fanned-out job runs at most hourly, at one minute of the "
            "hour (a crontab), so that it has a period to run once in")
    return None


def job_period(task_name: str, now: dt.datetime | None = None) -> str | None:
    """The period key of this run of `task_name` (None: not a periodic per-tenant job)."""
    kind = period_kind(task_name)
    if kind is None:
        return None
    return timezone.localtime(now or timezone.now()).strftime(PERIOD_FORMATS[kind])


def claim_job_run(task_name: str, period: str) -> bool:
    """Claim this tenant's run of `task_name` in `period` (inside the tenant's transaction);
    False if it was claimed already."""
    with connection.cursor() as cur:
        cur.execute("INSERT INTO core_jobrun (tenant_id, task, period, started_at) "
                    "VALUES (%s, %s, %s, now()) "
                    "ON CONFLICT (tenant_id, task, period) DO NOTHING RETURNING id",
                    [require_tenant_id(), task_name, period])
        return cur.fetchone() is not None
