"""Large files: the preview as a task with progress; the clean-up of old uploads and the
"expired" pages."""

import os
import time
from pathlib import Path

from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import translation

from apps.imports import tasks
from tests.conftest import login
from tests.imports.test_views import capture, count, upload


def test_large_preview_runs_as_a_task_then_shows_the_confirm_button(world_a, settings,
                                                                    monkeypatch):
    settings.IMPORT_DIRECT_MAX_BYTES = 10
    previews = capture(monkeypatch, tasks.preview_customers_task)
    imports = capture(monkeypatch, tasks.import_customers_task)
    client = login(world_a.admin)
    response = upload(client, [["姓名", "手机", "微信"], ["张三", "13800000001", ""],
                               ["李四", "13800000002", ""]])
    preview_url = response["Location"]
    page = client.get(preview_url).content.decode()
    assert 'id="import-progress"' in page and 'id="import-confirm"' not in page
    client.get(preview_url)  # coming back while it runs starts nothing more
    assert len(previews) == 1 and count(world_a) == 0
    tasks.preview_customers_task(*previews[0])  # the worker
    assert count(world_a) == 0  # a preview writes nothing
    poll = client.get(preview_url, headers={"HX-Request": "true"})
    assert poll["HX-Refresh"] == "true"
    page = client.get(preview_url).content.decode()
    assert 'id="count-created">2<' in page and "微信" in page and 'id="import-confirm"' in page
    result = client.post(preview_url)
    assert len(imports) == 1 and len(previews) == 1
    tasks.import_customers_task(*imports[0])
    assert count(world_a) == 2
    assert 'id="import-done"' in client.get(result["Location"]).content.decode()


def test_large_preview_of_a_refused_file_says_why(world_a, settings, monkeypatch):
    settings.IMPORT_DIRECT_MAX_BYTES = 10
    previews = capture(monkeypatch, tasks.preview_customers_task)
    client = login(world_a.admin)
    response = upload(client, [["姓名", "手机", "地址", "备注"]])  # a header, no rows
    client.get(response["Location"])
    tasks.preview_customers_task(*previews[0])
    page = client.get(response["Location"], follow=True)
    assert page.redirect_chain[-1][0] == reverse("imports:customer_upload")
    assert translation.gettext("The file has a header but no rows of customers.") in (
        page.content.decode())


def test_cleanup_deletes_old_files_and_the_pages_say_expired(world_a, settings):
    client = login(world_a.manager)
    response = upload(client, [["姓名", "手机"], ["张三", "13800000001"]])
    done = upload(client, [["姓名", "手机"], ["李四", "13800000002"]])
    result = client.post(done["Location"])
    assert count(world_a) == 1
    root = Path(django_settings.MEDIA_ROOT) / "imports"
    files = sorted(root.glob("*/*"))
    assert len(files) == 3  # two uploads and a report
    assert tasks.cleanup_uploads() == 0  # all young
    old = time.time() - 3 * 86400
    for path in files:
        os.utime(path, (old, old))
    fresh = upload(client, [["姓名", "手机"], ["王五", "13800000003"]])
    assert tasks.cleanup_uploads() == 3
    assert len(list(root.glob("*/*"))) == 1  # the fresh upload stays
    for url in (response["Location"], done["Location"].rstrip("/") + "/report/"):
        page = client.get(url)
        assert page.status_code == 410 and 'id="import-expired"' in page.content.decode()
    assert client.post(response["Location"]).status_code == 410
    assert count(world_a) == 1  # nothing imported from an expired upload
    # The result of a finished import lives in the session: still shown.
    assert 'id="import-done"' in client.get(result["Location"]).content.decode()
    assert client.get(fresh["Location"]).status_code == 200


def test_the_cleanup_is_scheduled_daily():
    entries = [e for e in django_settings.CELERY_BEAT_SCHEDULE.values()
               if e["task"] == "imports.cleanup_uploads"]
    assert len(entries) == 1
