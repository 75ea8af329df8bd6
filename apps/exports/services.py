"""Starting a background export (apps.exports.tasks builds it)."""

from __future__ import annotations

import time

from apps.core.audit import audit_record
from apps.core.outbox import enqueue_on_commit
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff

from .models import ExportJob
from .selectors import live_progress, own_jobs
from .tasks import build_export

State = ExportJob.State
#: A queued job without a sign of life for this long is not joined by a new request for the
#: same export (its message was lost or its worker died): a new job is made.
STALE_SECONDS = 10 * 60


def _alive(job: ExportJob) -> bool:
    live = live_progress(job)
    last = live["at"] if live else job.created_at.timestamp()
    return time.time() - last < STALE_SECONDS


def export_job_request(*, staff: Staff, kind: str, query: str, rows: int,
                       filename: tuple[str, str]) -> ExportJob:
    """The job building `kind` with `query` for `staff`: the same one still queued or running
    (a second click joins it), else a new job whose task starts after the commit."""
    with tenant_context(staff.tenant):
        pending = (own_jobs(staff).filter(kind=kind, query=query,
                                          state__in=(State.QUEUED, State.RUNNING))
                   .order_by("-created_at", "-id").first())
        if pending is not None and _alive(pending):
            return pending
        job = ExportJob.objects.create(tenant=staff.tenant, staff=staff, kind=kind, query=query,
                                       rows_total=rows, download_name=filename[0],
                                       ascii_name=filename[1])
        audit_record(tenant=staff.tenant, actor=staff, action="exports.request", target=job,
                     changes={"kind": kind, "query": query, "rows": rows})
        enqueue_on_commit(build_export.name, job.tenant_id, job.pk)
    return job
