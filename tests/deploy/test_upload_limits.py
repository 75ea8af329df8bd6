"""Upload limits: every place that accepts a file checks its size and its type by content,
and no request body over REQUEST_MAX_BYTES is read at all."""

import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation

from apps.customers.models import Customer

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ADMIN_IMPORT = "/admin/customers/customer/import/"

#: Every file accepted by the product, and where its size/content check is tested.
UPLOAD_POINTS = {
    "apps/disputes/forms.py": "tests/disputes/test_evidence.py (EVIDENCE_MAX_BYTES, by content)",
    "apps/disputes/serializers.py": "tests/disputes/test_evidence.py (the same service check)",
    "apps/disputes/models.py": "the evidence file itself, stored after the service's check",
    "apps/disputes/views.py": "the evidence page (EvidenceForm)",
    "apps/imports/forms.py": "tests/imports/test_views.py (IMPORT_MAX_BYTES, by content)",
    "apps/imports/views.py": "the import page (CustomerImportForm)",
    "apps/customers/admin.py": "this file: the admin's import (django-import-export)",
}


def test_every_upload_point_is_known():
    """A new FileField / request.FILES / admin import must be added here with its limit."""
    pattern = re.compile(r"FileField\(|request\.FILES|ImportExportModelAdmin|ImportMixin")
    found = {str(p.relative_to(ROOT)) for p in (ROOT / "apps").rglob("*.py")
             if "migrations" not in p.parts and pattern.search(p.read_text())}
    assert found == set(UPLOAD_POINTS)


def admin_import(client, name, content):
    return client.post(ADMIN_IMPORT, {"format": "0", "resource": "0",
                                      "import_file": SimpleUploadedFile(name, content)})


def customers(world):
    with world.context():
        return Customer.objects.count()


def test_admin_import_refuses_a_file_over_the_limit(world_a, client_for, settings):
    settings.IMPORT_MAX_BYTES = 40
    content = "name,phone\n王小明,13911112222\n李小红,13911113333\n".encode()
    response = admin_import(client_for(world_a.admin), "c.csv", content)
    assert response.status_code == 200 and response.context["form"].errors["import_file"]
    message = translation.gettext("The file is too large (at most %(size)s).") % {
        "size": filesizeformat(40)}
    assert message in response.content.decode()
    assert customers(world_a) == 0


def test_admin_import_checks_the_content_not_the_name(world_a, client_for):
    response = admin_import(client_for(world_a.admin), "c.xlsx", b"name,phone\nx,13911112222\n")
    assert response.status_code == 200 and response.context["form"].errors["import_file"]
    assert translation.gettext("This file is not a real .xlsx workbook.") in (
        response.content.decode())
    assert customers(world_a) == 0


def test_admin_import_offers_only_csv_and_xlsx(world_a, client_for):
    page = client_for(world_a.admin).get(ADMIN_IMPORT)
    titles = [label for _value, label in page.context["form"].fields["format"].choices if _value]
    assert titles == ["csv", "xlsx"]
    response = admin_import(client_for(world_a.admin), "c.json", b'[{"name": "x"}]')
    assert response.context["form"].errors and customers(world_a) == 0


def test_a_body_over_the_request_limit_is_refused_before_it_is_read(world_a, client_for,
                                                                      settings):
    settings.REQUEST_MAX_BYTES = 10_000
    client = client_for(world_a.admin)
    big = SimpleUploadedFile("c.csv", b"name,phone\n" + b"x,13911112222\n" * 1000)
    response = client.post(reverse("imports:customer_upload"), {"file": big, "duplicates": "skip"})
    assert response.status_code == 413
    assert filesizeformat(10_000) in response.content.decode()
    assert client.session.get("customer_imports") in (None, {})


def test_api_body_over_the_request_limit_gets_413_in_the_api_format(world_a, api_client_for,
                                                                      settings):
    settings.REQUEST_MAX_BYTES = 10_000
    body = json.dumps({"name": "张三", "phone": "13911112222", "notes": "x" * 20_000})
    response = api_client_for(world_a.sales).post("/api/v1/customers/", body,
                                                  content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert customers(world_a) == 0


def test_the_request_limit_leaves_room_for_the_largest_upload(settings):
    assert settings.REQUEST_MAX_BYTES > max(settings.IMPORT_MAX_BYTES,
                                            settings.EVIDENCE_MAX_BYTES)
