"""The import pages: upload -> preview -> confirm -> result and report; refusals."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from apps.customers.models import Customer
from tests.conftest import login


def capture(monkeypatch, task) -> list[tuple]:
    """The arguments of `task` each time the views start it (apps.core.outbox), recorded
    instead of sent (the test's transaction never commits)."""
    from apps.imports import views
    record = views.enqueue_on_commit
    if not hasattr(record, "captured"):
        captured: dict[str, list] = {}

        def record(name, *args):
            captured.setdefault(name, []).append(args)

        record.captured = captured
        monkeypatch.setattr(views, "enqueue_on_commit", record)
    return record.captured.setdefault(task.name, [])


def csv_file(rows, name="客户.csv"):
    return SimpleUploadedFile(name, "\r\n".join(",".join(r) for r in rows).encode("gbk"),
                              content_type="text/csv")


def count(world):
    with world.context():
        return Customer.objects.count()


def upload(client, rows, duplicates="skip", name="客户.csv"):
    return client.post(reverse("imports:customer_upload"),
                       {"file": csv_file(rows, name), "duplicates": duplicates})


def test_upload_preview_confirm_result_report(world_a):
    client = login(world_a.manager)
    response = upload(client, [["姓名", "手机", "微信"], ["张三", "13800000001", "z"],
                               ["李四", "13800000002", ""]])
    assert response.status_code == 302
    preview = client.get(response["Location"])
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "微信" in page and 'id="count-created">2<' in page
    assert count(world_a) == 0  # a preview writes nothing
    result = client.post(response["Location"])
    assert count(world_a) == 2
    page = client.get(result["Location"]).content.decode()
    assert 'id="import-done"' in page and 'id="count-created">2<' in page
    key = response["Location"].rstrip("/").rsplit("/", 1)[1]
    report = client.get(reverse("imports:customer_report", args=[key]))
    book = load_workbook(io.BytesIO(b"".join(report.streaming_content)))
    assert book.active.max_row == 3
    client.post(response["Location"])  # confirming twice imports once
    assert count(world_a) == 2


def test_preview_shows_errors_and_confirm_imports_nothing(world_a):
    client = login(world_a.admin)
    response = upload(client, [["姓名", "手机"], ["好", "13800000001"], ["坏", "12345"]])
    page = client.get(response["Location"]).content.decode()
    assert 'id="import-errors"' in page and 'id="count-failed">1<' in page
    result = client.post(response["Location"])
    assert 'id="import-failed"' in client.get(result["Location"]).content.decode()
    assert count(world_a) == 0


def test_wrong_type_refused_at_once(world_a):
    client = login(world_a.admin)
    response = upload(client, [["x"]], name="a.xlsx")  # text named .xlsx
    assert response.status_code == 400
    assert client.session.get("customer_imports") in (None, {})


def test_too_big_refused_at_once(world_a, settings):
    settings.IMPORT_MAX_BYTES = 20
    client = login(world_a.admin)
    response = upload(client, [["姓名", "手机"], ["张三", "13800000001"], ["李四", "13800000002"]])
    assert response.status_code == 400
    assert translation.gettext("The file is too large (at most %(size)s).") % {
        "size": filesizeformat(20)} in response.content.decode()
    assert client.session.get("customer_imports") in (None, {}) and count(world_a) == 0


def test_another_users_import_is_404(world_a, world_b):
    client = login(world_a.sales)
    response = upload(client, [["姓名", "手机"], ["张三", "13800000001"]])
    for other in (login(world_a.sales2), login(world_b.admin)):
        assert other.get(response["Location"]).status_code == 404
        assert other.post(response["Location"]).status_code == 404
    assert count(world_a) == 0


def test_finance_may_not_import(world_a):
    client = login(world_a.finance)
    assert client.get(reverse("imports:customer_upload")).status_code == 403
    response = upload(client, [["姓名", "手机"], ["张三", "13800000001"]])
    assert response.status_code == 403 and count(world_a) == 0


def test_large_file_runs_as_a_task_with_progress(world_a, settings, monkeypatch):
    from apps.imports import tasks
    settings.IMPORT_DIRECT_MAX_BYTES = 10
    started = capture(monkeypatch, tasks.import_customers_task)
    client = login(world_a.admin)
    response = upload(client, [["姓名", "手机"], ["张三", "13800000001"], ["李四", "13800000002"]])
    result = client.post(response["Location"])
    assert len(started) == 1 and count(world_a) == 0
    page = client.get(result["Location"])
    assert 'id="import-progress"' in page.content.decode()
    tasks.import_customers_task(*started[0])  # the worker
    assert count(world_a) == 2
    poll = client.get(result["Location"], headers={"HX-Request": "true"})
    assert poll["HX-Refresh"] == "true"
    page = client.get(result["Location"]).content.decode()
    assert 'id="import-done"' in page and 'id="count-created">2<' in page
    client.post(response["Location"])  # confirming again starts nothing
    assert len(started) == 1


def test_the_customer_list_links_to_the_import_for_those_who_may_import(world_a):
    link = f'href="{reverse("imports:customer_upload")}"'
    for who in (world_a.admin, world_a.sales):
        assert link in login(who).get(reverse("customers:list")).content.decode()
    assert link not in login(world_a.finance).get(reverse("customers:list")).content.decode()
