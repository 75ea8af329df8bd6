"""The background build of a large list export, and the daily expiry of built files.

`build_export(tenant_id, job_id)` locks the job's row (SELECT … FOR UPDATE SKIP LOCKED) for
the whole build, inside the task's tenant transaction: a second delivery of the message (acks
late) finds the row locked by the worker building it, or no longer queued once that worker
committed, and does nothing. A worker that dies mid-build loses its connection, so its lock
and its uncommitted state go with it; the redelivered message then builds the job again.

The list is rebuilt by apps.exports.kinds as the job's staff member with the job's query, so
visibility and masking are those of the list page (a staff member since deactivated gets no
file: the job fails). The workbook is written under a temporary name, then renamed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy

from apps.core.i18n import lazy_format
from apps.core.xlsx import xlsx_progress
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.tenancy.models import Staff
from apps.tenancy.tasks import tenant_task

from .kinds import prepare
from .models import ExportJob
from .selectors import export_dir, job_file, progress_key

logger = logging.getLogger(__name__)
State = ExportJob.State
PROGRESS_TTL = 24 * 3600


@tenant_task(name="exports.build_export")
def build_export(tenant_id: int, job_id: int) -> str:
    """Build the job's workbook (nothing to do when it is done, failed, expired or being
    built by another worker); returns the file's path ("" when nothing was built)."""
    job = (ExportJob.objects.select_for_update(skip_locked=True)
           .filter(pk=job_id, state__in=(State.QUEUED, State.RUNNING)).first())
    if job is None:
        return ""
    staff = (Staff.objects.select_related("tenant", "team")
             .filter(pk=job.staff_id, active=True, tenant__active=True).first())
    key = progress_key(tenant_id, job_id)
    job.state = State.RUNNING
    job.save(update_fields=["state"])
    folder = export_dir(tenant_id)
    part = folder / f"{job.pk}-{uuid.uuid4().hex}.xlsx.part"
    try:
        if staff is None:
            raise PermissionError(f"staff {job.staff_id} is no longer active")
        with transaction.atomic():  # a failed build rolls back to here and is marked failed
            prepared = prepare(job.kind, staff, QueryDict(job.query))
            total = prepared.rows

            def report(current: int) -> None:
                cache.set(key, {"current": current, "total": total, "at": time.time()},
                          PROGRESS_TTL)

            report(0)
            folder.mkdir(parents=True, exist_ok=True)
            with xlsx_progress(report, every=settings.EXPORT_PROGRESS_EVERY):
                written = prepared.write(part)
            path = part.with_name(part.name.removesuffix(".part"))
            os.replace(part, path)
    except Exception:
        logger.exception("export %s (%s) failed", job.pk, job.kind)
        part.unlink(missing_ok=True)
        job.state, job.finished_at = State.FAILED, timezone.now()
        job.save(update_fields=["state", "finished_at"])
        cache.delete(key)
        return ""
    job.state, job.finished_at = State.DONE, timezone.now()
    job.rows_total, job.rows_done = total, written
    job.file_path = str(path.relative_to(settings.MEDIA_ROOT))
    job.save(update_fields=["state", "finished_at", "rows_total", "rows_done", "file_path"])
    cache.delete(key)
    notify(tenant=staff.tenant, recipients=[staff], kind=Notification.Kind.OTHER,
           title=lazy_format(gettext_lazy("Your export %(name)s is ready"),
                             {"name": job.download_name}),
           url=job.get_absolute_url(), target=job)
    return str(path)


@tenant_task(name="exports.expire_files")
def expire_export_files(tenant_id: int) -> int:
    """Delete the files of the exports finished more than EXPORT_KEEP_DAYS ago (the job then
    shows "expired"); a job that never finished by then is failed. Returns the files deleted."""
    cutoff = timezone.now() - dt.timedelta(days=settings.EXPORT_KEEP_DAYS)
    old = ExportJob.objects.filter(state=State.DONE, finished_at__lt=cutoff)
    deleted = 0
    for job in old.only("pk", "state", "file_path", "tenant_id").iterator(chunk_size=500):
        path = job_file(job)
        if path is not None:
            path.unlink(missing_ok=True)
            deleted += 1
    old.update(state=State.EXPIRED, file_path="")
    (ExportJob.objects.filter(state__in=(State.QUEUED, State.RUNNING), created_at__lt=cutoff)
     .update(state=State.FAILED, finished_at=timezone.now()))
    return deleted
