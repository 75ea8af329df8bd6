"""Large imports in the background (the pattern of apps.commissions.tasks_workbook).

The confirm button of a file over ``settings.IMPORT_DIRECT_MAX_BYTES`` (default 2 MB) starts
`import_customers_task` instead of importing in the request. Progress lives in the Django
cache (Redis) under `progress_key(tenant id, key)`: {"state": running|done|failed, "current"
rows read}; the result page polls it (htmx) and can be left and come back to. The result
itself is the file `<key>.result.json` next to the upload (the summary, as the session holds
it for a direct import) and the report `<key>.report.xlsx`: a lost cache key loses nothing.
The import is the same single transaction as a direct one (all or nothing)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.cache import cache

from apps.tenancy.models import Staff, Tenant
from apps.tenancy.tasks import tenant_task

from . import importer

RUNNING, DONE, FAILED = "running", "done", "failed"
PROGRESS_TTL = 24 * 3600


def progress_key(tenant_id: int, key: str) -> str:
    return f"imports:customers:{tenant_id}:{key}"


def result_path(path: Path) -> Path:
    return path.with_suffix(".result.json")


@tenant_task(name="imports.import_customers")
def import_customers_task(tenant_id: int, staff_id: int, key: str, path: str, name: str,
                          duplicates: str) -> dict:
    source = Path(path)
    done = result_path(source)
    if done.exists():  # a redelivered message: the import already ran
        return json.loads(done.read_text())
    cache_key = progress_key(tenant_id, key)
    cache.set(cache_key, {"state": RUNNING, "current": 0}, PROGRESS_TTL)
    tenant = Tenant.objects.get(pk=tenant_id)
    actor = Staff.objects.select_related("team").get(pk=staff_id)
    report = importer.ReportWriter()
    try:
        table = importer.read(source.read_bytes(), name)
        try:
            summary = importer.run(
                tenant=tenant, actor=actor, table=table, duplicates=duplicates, commit=True,
                report=report, progress=lambda rows: cache.set(
                    cache_key, {"state": RUNNING, "current": rows}, PROGRESS_TTL))
        except importer.ImportFailed as failed:
            summary = failed.summary
        result = summary.as_dict()
    except importer.FileRefused as refused:
        result = {"refused": refused.message, "committed": False, "created": 0, "updated": 0,
                  "skipped": 0, "rows": 0, "failed_rows": 0, "errors": []}
    except Exception:
        cache.set(cache_key, {"state": FAILED, "current": 0}, PROGRESS_TTL)
        raise
    with open(source.with_suffix(".report.xlsx"), "wb") as handle:
        report.save(handle)
    temporary = done.with_suffix(".tmp")
    temporary.write_text(json.dumps(result, ensure_ascii=False))
    temporary.rename(done)
    cache.set(cache_key, {"state": DONE, "current": result["rows"]}, PROGRESS_TTL)
    return result
