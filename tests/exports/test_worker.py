"""A background export through a real Celery worker process (its own database connection and
transaction): the job is built, its progress key cleared, and the owner downloads the file."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from apps.exports.models import ExportJob
from apps.exports.tasks import build_export
from tests.concurrency import committed
from tests.customers.factories import CustomerFactory
from tests.workers import celery_worker, wait_until


@pytest.mark.worker
@committed
def test_an_export_is_built_by_a_real_worker(world_a, client_for, settings, monkeypatch):
    w = world_a
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))   # the worker's files: ours
    for i in range(3):
        CustomerFactory(tenant=w.tenant, actor=w.sales, name=f"工人{i}", phone=f"1370000000{i}")
    CustomerFactory(tenant=w.tenant, actor=w.sales2, name="别人的", phone="13700000009")
    with w.context():
        job = ExportJob.objects.create(tenant=w.tenant, staff=w.sales, kind="customers",
                                       query="ordering=name", rows_total=3,
                                       download_name="客户.xlsx", ascii_name="customers.xlsx")

    def state():
        with w.context():
            found = ExportJob.objects.get(pk=job.pk)
        return found if found.state in ("done", "failed") else None

    with celery_worker("test-exports") as worker:
        build_export.apply_async(args=[w.tenant.pk, job.pk], queue=worker.queue)
        done = wait_until(state, worker=worker)
        assert done and done.state == "done", worker.log()
    assert done.rows_done == 3
    response = client_for(w.sales).get(f"/exports/{job.pk}/download/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["工人0", "工人1",
                                                                            "工人2"]
