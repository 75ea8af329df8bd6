"""Background exports of large lists (apps.exports): over EXPORT_DIRECT_MAX_ROWS rows an export
link leads to a job page; the task (called directly here, as a worker would run it) writes the
rows the list shows for that viewer and those filters; only the one who asked sees or
downloads it; files expire; a redelivered message builds nothing twice. Every export kind goes
through the job path once, its file equal to the direct download of the same list."""

# ruff: noqa: F811 - the imported fixtures are arguments of the tests
from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from django.core.cache import cache
from django.utils import timezone
from openpyxl import load_workbook

from apps.core.xlsx import xlsx_progress
from apps.customers import exports as customer_exports
from apps.customers.models import Customer
from apps.exports.models import ExportJob
from apps.exports.selectors import job_file, progress_key
from apps.exports.tasks import build_export, expire_export_files
from apps.notifications.models import Notification
from apps.tenancy.models import Staff
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu  # noqa: F401
from tests.deals.test_export import book  # noqa: F401
from tests.followups.test_export import march  # noqa: F401
from tests.referrals.lifecycle_helpers import zh
from tests.referrals.test_export import lot  # noqa: F401
from tests.referrals.test_referral_pages import ref  # noqa: F401
from tests.vip.test_card_export import deck  # noqa: F401

pytestmark = pytest.mark.django_db

CUSTOMERS = "/customers/export.xlsx"
JOB_URL = re.compile(r"^/exports/(\d+)/$")


def content(response) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def sheet_rows(data: bytes) -> list[list]:
    return [list(r) for r in load_workbook(io.BytesIO(data)).worksheets[0]
            .iter_rows(values_only=True)]


def start(world, client, url, params=None) -> ExportJob:
    """Ask for an export that is over the threshold: the answer is the job's page."""
    response = client.get(url, params or {})
    assert response.status_code == 302, response.status_code
    match = JOB_URL.match(response["Location"])
    assert match, response["Location"]
    with world.context():
        return ExportJob.objects.get(pk=match[1])


def reload(world, job) -> ExportJob:
    with world.context():
        return ExportJob.objects.get(pk=job.pk)


@pytest.fixture
def small(settings):
    settings.EXPORT_DIRECT_MAX_ROWS = 1
    settings.EXPORT_PROGRESS_EVERY = 1


@pytest.fixture
def shop(world_a, world_b):
    w = world_a
    for i, source in enumerate(["online", "referral", "referral"]):
        CustomerFactory(tenant=w.tenant, actor=w.sales, name=f"甲客户{i}",
                        phone=f"1381111000{i}", source=source)
    CustomerFactory(tenant=w.tenant, actor=w.sales2, name="乙客户", phone="13822220000",
                    source="referral")
    CustomerFactory(tenant=w.tenant, actor=w.sales_other_team, name="丙客户",
                    phone="13833330000", source="referral")
    # Another company's customer with the same name and phone: never in tenant A's files.
    CustomerFactory(tenant=world_b.tenant, actor=world_b.sales, name="甲客户1",
                    phone="13811110001", source="referral")


@pytest.fixture
def built(world_a, shop, small, client_for):
    """A salesperson's export of their referral customers, built."""
    job = start(world_a, client_for(world_a.sales), CUSTOMERS, {"source": "referral"})
    assert build_export(world_a.tenant.pk, job.pk)
    return reload(world_a, job)


def test_a_large_export_is_a_job_whose_file_has_the_rows_of_the_list(world_a, shop, small,
                                                                      client_for, settings):
    client = client_for(world_a.sales)
    params = {"source": "referral"}
    job = start(world_a, client, CUSTOMERS, params)
    assert (job.state, job.rows_total, job.staff_id) == ("queued", 2, world_a.sales.pk)
    assert job.kind == "customers" and job.query == "source=referral"
    page = client.get(f"/exports/{job.pk}/")
    assert page.status_code == 200
    assert zh("Waiting for a worker…") in page.content.decode()
    assert f'hx-get="/exports/{job.pk}/progress/"' in page.content.decode()
    assert client.get(f"/exports/{job.pk}/download/")["Location"] == f"/exports/{job.pk}/"

    path = build_export(world_a.tenant.pk, job.pk)
    job = reload(world_a, job)
    assert (job.state, job.rows_done, job.rows_total) == ("done", 2, 2)
    assert path and job_file(job) is not None
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert f'href="/exports/{job.pk}/download/"' in page and "hx-get" not in page
    rows = sheet_rows(content(client.get(f"/exports/{job.pk}/download/")))
    listed = [c.phone for c in client.get("/customers/", params).context["customers"]]
    assert [r[1] for r in rows[1:]] == listed == ["13811110002", "13811110001"]
    # The same list downloaded at once is the same file content.
    settings.EXPORT_DIRECT_MAX_ROWS = 100
    assert sheet_rows(content(client.get(CUSTOMERS, params))) == rows
    with world_a.context():
        assert Notification.objects.filter(recipient=world_a.sales,
                                           url=f"/exports/{job.pk}/").count() == 1


def test_a_small_export_is_still_sent_at_once(world_a, shop, client_for, settings):
    settings.EXPORT_DIRECT_MAX_ROWS = 2
    rows = sheet_rows(content(client_for(world_a.sales).get(CUSTOMERS, {"source": "referral"})))
    assert len(rows) == 3
    response = client_for(world_a.sales).get(CUSTOMERS)   # 3 rows: over
    assert response.status_code == 302
    with world_a.context():
        assert ExportJob.objects.count() == 1


def test_progress_while_running_then_done(world_a, shop, small, client_for):
    client = client_for(world_a.admin)
    job = start(world_a, client, CUSTOMERS)
    assert job.rows_total == 5
    cache.set(progress_key(world_a.tenant.pk, job.pk), {"current": 2, "total": 5,
                                                         "at": time.time()})
    fragment = client.get(f"/exports/{job.pk}/progress/").content.decode()
    assert zh("%(current)s of %(total)s rows written") % {"current": 2, "total": 5} in fragment
    assert 'aria-valuenow="40"' in fragment and "hx-get" in fragment
    listing = client.get("/exports/").content.decode()
    assert "40%" in listing
    build_export(world_a.tenant.pk, job.pk)
    fragment = client.get(f"/exports/{job.pk}/progress/").content.decode()
    assert "hx-get" not in fragment and f"/exports/{job.pk}/download/" in fragment
    assert cache.get(progress_key(world_a.tenant.pk, job.pk)) is None


def test_the_writers_report_progress_every_n_rows(world_a, shop):
    seen = []
    with world_a.context():
        customers = Customer.objects.order_by("pk")
        with xlsx_progress(seen.append, every=2):
            written = customer_exports.customers_xlsx(world_a.admin, customers, io.BytesIO())
    assert written == 5 and seen == [2, 4]


def test_a_second_click_joins_the_job_in_progress(world_a, shop, small, client_for):
    client = client_for(world_a.sales)
    first = start(world_a, client, CUSTOMERS, {"source": "referral"})
    again = start(world_a, client, CUSTOMERS, {"source": "referral"})
    other = start(world_a, client, CUSTOMERS, {"ordering": "name"})   # another list
    assert again.pk == first.pk and other.pk != first.pk
    with world_a.context():
        assert ExportJob.objects.count() == 2


def test_only_the_one_who_asked_sees_or_downloads_it(world_a, world_b, built, client_for):
    job = built
    urls = [f"/exports/{job.pk}/", f"/exports/{job.pk}/progress/", f"/exports/{job.pk}/download/"]
    owner = client_for(world_a.sales)
    assert [owner.get(u).status_code for u in urls] == [200, 200, 200]
    assert f"/exports/{job.pk}/" in owner.get("/exports/").content.decode()
    for staff in (world_a.sales2, world_a.manager, world_a.admin, world_b.admin, world_b.sales):
        client = client_for(staff)
        assert [client.get(u).status_code for u in urls] == [404, 404, 404], staff
        assert f"/exports/{job.pk}/" not in client.get("/exports/").content.decode()
    assert client_for(world_a.admin).post(f"/exports/{job.pk}/").status_code == 404


def test_old_files_expire_and_the_page_says_so(world_a, built, small, client_for):
    client = client_for(world_a.sales)
    old = built
    recent = start(world_a, client, CUSTOMERS)
    build_export(world_a.tenant.pk, recent.pk)
    old_file = job_file(old)
    with world_a.context():
        ExportJob.objects.filter(pk=old.pk).update(
            finished_at=timezone.now() - dt.timedelta(days=8))
    assert expire_export_files(world_a.tenant.pk) == 1
    assert not old_file.exists()
    old, recent = reload(world_a, old), reload(world_a, recent)
    assert (old.state, old.file_path) == ("expired", "")
    assert recent.state == "done" and job_file(recent) is not None
    page = client.get(f"/exports/{old.pk}/").content.decode()
    assert zh("This export has expired: its file was deleted. Export the list again to get a "
              "new one.") in page
    assert "/download/" not in page
    assert client.get(f"/exports/{old.pk}/download/")["Location"] == f"/exports/{old.pk}/"
    assert client.get(f"/exports/{recent.pk}/download/").status_code == 200


def test_a_redelivered_task_does_not_build_again(world_a, built, client_for):
    job = built
    path = job_file(job)
    before = path.read_bytes()
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="后来的", source="referral")
    assert build_export(world_a.tenant.pk, job.pk) == ""
    again = reload(world_a, job)
    assert (again.state, again.rows_done, again.file_path) == ("done", 2, job.file_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    with world_a.context():
        assert Notification.objects.filter(url=f"/exports/{job.pk}/").count() == 1


def test_a_job_of_someone_deactivated_fails_without_a_file(world_a, shop, small, client_for):
    client = client_for(world_a.sales)
    job = start(world_a, client, CUSTOMERS)
    with world_a.context():
        Staff.objects.filter(pk=world_a.sales.pk).update(active=False)
    assert build_export(world_a.tenant.pk, job.pk) == ""
    job = reload(world_a, job)
    assert job.state == "failed" and job_file(job) is None
    with world_a.context():
        Staff.objects.filter(pk=world_a.sales.pk).update(active=True)
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert zh("Building the file failed. Export the list again; if it fails again, tell your "
              "administrator.") in page


@pytest.mark.parametrize(("data", "url", "who", "params"), [
    ("shop", CUSTOMERS, "manager", {}),
    ("lot", "/referrals/export.xlsx", "manager", {}),
    ("book", "/deals/export.xlsx", "admin", {}),
    ("deck", "/vip/vip-cards/export.xlsx", "cs", {}),
    ("march", "/followups/reports/export.xlsx", "manager", {"month": "2026-03"}),
])
def test_every_export_kind_goes_through_the_job(world_a, client_for, settings, request, data,
                                                url, who, params):
    request.getfixturevalue(data)
    client = client_for(getattr(world_a, who))
    settings.EXPORT_DIRECT_MAX_ROWS = 10_000
    direct = sheet_rows(content(client.get(url, params)))
    assert len(direct) > 2
    settings.EXPORT_DIRECT_MAX_ROWS = 0
    job = start(world_a, client, url, params)
    build_export(world_a.tenant.pk, job.pk)
    job = reload(world_a, job)
    assert job.state == "done", job.state
    assert sheet_rows(content(client.get(f"/exports/{job.pk}/download/"))) == direct
