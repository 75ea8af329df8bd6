"""Reads of background exports: a job's file and its progress, a staff member's jobs.

The job row is the truth about a job (queued → done | failed, later expired); the live count
of rows written lives in the Django cache (Redis) under `progress_key`, written by the task
every EXPORT_PROGRESS_EVERY rows: the task builds inside one transaction (its tenant
context), so an update of the row would not be seen before the end.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from apps.tenancy.models import Staff

from .models import ExportJob

State = ExportJob.State


def progress_key(tenant_id: int, job_id: int) -> str:
    return f"exports:job:{tenant_id}:{job_id}"


def export_dir(tenant_id: int) -> Path:
    """The private directory of a tenant's built exports (under MEDIA_ROOT, never served)."""
    return Path(settings.MEDIA_ROOT) / "private" / "exports" / str(tenant_id)


def own_jobs(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The jobs `staff` asked for: nobody else's, whatever their role."""
    queryset = ExportJob.objects.all() if queryset is None else queryset
    return queryset.filter(staff=staff)


def job_file(job: ExportJob) -> Path | None:
    """The built file of `job` when it is there (None once expired or never built)."""
    if job.state != State.DONE or not job.file_path:
        return None
    path = Path(settings.MEDIA_ROOT) / job.file_path
    return path if path.is_file() else None


def live_progress(job: ExportJob) -> dict | None:
    """{"current", "total", "at"} while the task writes `job`'s rows, else None."""
    return cache.get(progress_key(job.tenant_id, job.pk))


def job_progress(job: ExportJob) -> dict:
    """{"state", "current", "total", "percent"} for the page: the row's state, running while
    the task reports rows; a done job whose file is gone is expired."""
    return jobs_progress([job])[0]


def jobs_progress(jobs: list[ExportJob]) -> list[dict]:
    """job_progress of each of `jobs`, with one cache read for all those still being built."""
    building = [progress_key(j.tenant_id, j.pk) for j in jobs
                if j.state in (State.QUEUED, State.RUNNING)]
    live = cache.get_many(building) if building else {}
    out = []
    for job in jobs:
        state, current, total = job.state, job.rows_done, job.rows_total
        if state in (State.QUEUED, State.RUNNING):
            reported = live.get(progress_key(job.tenant_id, job.pk))
            if reported:
                state, current, total = State.RUNNING, reported["current"], reported["total"]
        elif state == State.DONE and job_file(job) is None:
            state = State.EXPIRED
        percent = min(int(current * 100 / total), 100) if total else 0
        out.append({"state": state, "current": current, "total": total, "percent": percent})
    return out
