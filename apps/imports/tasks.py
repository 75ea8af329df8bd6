"""Large files in the background (the pattern of apps.commissions.tasks_workbook), and the
clean-up of old uploads.

For a file over ``settings.IMPORT_DIRECT_MAX_BYTES`` (default 2 MB) both steps run in Celery:
the preview (`preview_customers_task`, commit=False: the whole file validated, nothing
written), started by the first visit of the preview page, and the import
(`import_customers_task`), started by the confirm button. Progress lives in the Django cache
(Redis) under `progress_key(tenant id, key, phase)`: {"state": running|done|failed, "current"
rows read}; the pages poll it (htmx) and can be left and come back to. The outcome itself is a
file next to the upload — `<key>.preview.json` / `<key>.result.json` (the summary, as the
session holds it for a direct import; written atomically via a rename) and, for the import,
the report `<key>.report.xlsx`: a lost cache key loses nothing, and a redelivered message
finds the file and does nothing. The import is the same single transaction as a direct one
(all or nothing).

`cleanup_uploads` (beat, daily) deletes the files under MEDIA_ROOT/imports older than
``settings.IMPORT_KEEP_DAYS`` (default 2); the pages then say the import has expired."""

from __future__ import annotations

import json
import time
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from apps.tenancy.models import Staff, Tenant
from apps.tenancy.tasks import tenant_task

from . import importer
from .report import ReportWriter

RUNNING, DONE, FAILED = "running", "done", "failed"
PREVIEW, IMPORT = "preview", "import"
PROGRESS_TTL = 24 * 3600
DEFAULT_KEEP_DAYS = 2


def progress_key(tenant_id: int, key: str, phase: str = IMPORT) -> str:
    return f"imports:customers:{tenant_id}:{key}" + ("" if phase == IMPORT else f":{phase}")


def result_path(path: Path, phase: str = IMPORT) -> Path:
    return path.with_suffix(".result.json" if phase == IMPORT else ".preview.json")


def _run(phase: str, tenant_id: int, staff_id: int, key: str, path: str, name: str,
         duplicates: str) -> dict:
    source = Path(path)
    done = result_path(source, phase)
    if done.exists():  # a redelivered message: this step already ran
        return json.loads(done.read_text())
    cache_key = progress_key(tenant_id, key, phase)
    cache.set(cache_key, {"state": RUNNING, "current": 0}, PROGRESS_TTL)
    commit = phase == IMPORT
    report = ReportWriter() if commit else None
    try:
        tenant = Tenant.objects.get(pk=tenant_id)
        actor = Staff.objects.select_related("team").get(pk=staff_id)
        table = importer.read(source.read_bytes(), name)
        try:
            summary = importer.run(
                tenant=tenant, actor=actor, table=table, duplicates=duplicates, commit=commit,
                report=report, progress=lambda rows: cache.set(
                    cache_key, {"state": RUNNING, "current": rows}, PROGRESS_TTL))
        except importer.ImportFailed as failed:
            summary = failed.summary
        result = summary.as_dict()
    except importer.FileRefused as refused:
        result = {"refused": refused.message, "committed": False, "created": 0, "updated": 0,
                  "skipped": 0, "rows": 0, "failed_rows": 0, "errors": [], "mapping": [],
                  "unknown": []}
    except Exception:
        cache.set(cache_key, {"state": FAILED, "current": 0}, PROGRESS_TTL)
        raise
    if report is not None:
        with open(source.with_suffix(".report.xlsx"), "wb") as handle:
            report.save(handle)
    temporary = done.with_suffix(".tmp")
    temporary.write_text(json.dumps(result, ensure_ascii=False))
    temporary.rename(done)
    cache.set(cache_key, {"state": DONE, "current": result["rows"]}, PROGRESS_TTL)
    return result


@tenant_task(name="imports.preview_customers")
def preview_customers_task(tenant_id: int, staff_id: int, key: str, path: str, name: str,
                           duplicates: str) -> dict:
    return _run(PREVIEW, tenant_id, staff_id, key, path, name, duplicates)


@tenant_task(name="imports.import_customers")
def import_customers_task(tenant_id: int, staff_id: int, key: str, path: str, name: str,
                          duplicates: str) -> dict:
    return _run(IMPORT, tenant_id, staff_id, key, path, name, duplicates)


def keep_days() -> float:
    return getattr(settings, "IMPORT_KEEP_DAYS", DEFAULT_KEEP_DAYS)


@shared_task(name="imports.cleanup_uploads")
def cleanup_uploads() -> int:
    """Delete uploads, reports and results under MEDIA_ROOT/imports older than keep_days();
    the number of files deleted."""
    root = Path(settings.MEDIA_ROOT) / "imports"
    cutoff = time.time() - keep_days() * 86400
    deleted = 0
    for path in root.glob("*/*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # deleted meanwhile (two clean-ups, or the user's own step)
            continue
    return deleted
