"""Admin export and import: the import goes through the services and is all or nothing."""

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import AuditEntry
from apps.customers.admin import COLUMNS, CustomerResource
from apps.customers.models import Customer

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

ADMIN_URL = "/admin/customers/customer/"


def dataset(*rows, headers=("id", "name", "phone", "id_number", "source", "tags", "owner")):
    return tablib.Dataset(*rows, headers=list(headers))


def run_import(world, data, dry_run=False):
    with world.context():
        return CustomerResource(staff=world.admin).import_data(
            data, dry_run=dry_run, rollback_on_validation_errors=True)


def test_export_has_the_visible_fields(world_a, world_b, client_for):
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三", tags=["VIP", "新房"],
                    id_number="11010519491231002X")
    CustomerFactory(tenant=world_b.tenant, actor=world_b.sales, name="乙客户")
    with world_a.context():
        data = CustomerResource().export(queryset=Customer.objects.all())
    assert tuple(data.headers) == COLUMNS
    [row] = data.dict
    assert row["name"] == "张三" and row["owner"] == world_a.sales.name
    assert row["team"] == world_a.team1.name and row["tags"] == "VIP,新房"
    res = client_for(world_a.admin).post(f"{ADMIN_URL}export/", {"format": "0", "resource": "0",
                                                                  **{f"customerresource_{c}": "on"
                                                                     for c in COLUMNS}})
    assert res.status_code == 200, res.content[:500]
    body = res.content.decode()
    assert "张三" in body and "乙客户" not in body


def test_import_creates_and_updates_through_the_services(world_a):
    existing = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三")
    result = run_import(world_a, dataset(
        ["", "李四", "+86 139-0000-9999", "11010519491231002x", "referral", "VIP，新房", world_a.sales2.name],
        [existing.pk, "张三丰", existing.phone, "", "walk_in", "", world_a.sales.name]))
    assert not result.has_errors() and not result.has_validation_errors()
    with world_a.context():
        new = Customer.objects.get(name="李四")
        existing.refresh_from_db()
        audit = list(AuditEntry.objects.filter(action__startswith="customer.")
                     .order_by("id").values_list("action", "target_id", "actor_id"))
    assert (new.phone, new.id_number, new.tags, new.owner_id, new.team_id, new.created_by_id) == (
        "13900009999", "11010519491231002X", ["VIP", "新房"], world_a.sales2.pk, world_a.team1.pk,
        world_a.admin.pk)
    assert str(new.birthday) == "1949-12-31"
    assert existing.name == "张三丰"
    assert audit[-2:] == [("customer.create", new.pk, world_a.admin.pk),
                          ("customer.update", existing.pk, world_a.admin.pk)]


def test_one_bad_row_and_nothing_is_imported(world_a):
    existing = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三")
    result = run_import(world_a, dataset(
        ["", "李四", "13900009999", "", "walk_in", "", ""],
        [existing.pk, "张三丰", existing.phone, "", "walk_in", "", ""],
        ["", "王五", existing.phone, "", "walk_in", "", ""],                # duplicate phone
        ["", "赵六", "13900008888", "", "walk_in", "", "没有这个人"],          # unknown owner
        ["999999", "钱七", "13900007777", "", "walk_in", "", ""]))           # unknown id
    assert result.has_validation_errors()
    invalid = {row.number: row.error.message_dict for row in result.invalid_rows}
    assert set(invalid) == {3, 4, 5}
    assert list(invalid[3]) == ["phone"] and list(invalid[4]) == ["owner"]
    assert list(invalid[5]) == ["id"]
    with world_a.context():
        assert list(Customer.objects.values_list("name", flat=True)) == ["张三"]
        assert AuditEntry.objects.filter(action="customer.create").count() == 1


def test_import_never_touches_another_tenant(world_a, world_b):
    theirs = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales, name="乙客户")
    result = run_import(world_a, dataset([theirs.pk, "改名", theirs.phone, "", "walk_in", "", ""]))
    assert result.has_validation_errors()
    with world_b.context():
        theirs.refresh_from_db()
    assert theirs.name == "乙客户"


def test_import_through_the_admin_pages(world_a, client_for):
    client = client_for(world_a.admin)
    assert client.get(ADMIN_URL).status_code == 200
    assert client.get(f"{ADMIN_URL}import/").status_code == 200
    csv = "name,phone,source\n王小明,13911112222,walk_in\n李小红,139 1111 3333,online\n"
    res = client.post(f"{ADMIN_URL}import/", {
        "format": "0", "resource": "0",
        "import_file": SimpleUploadedFile("c.csv", csv.encode(), content_type="text/csv")})
    assert res.status_code == 200, res.content[:300]
    confirm = res.context["confirm_form"]
    assert confirm is not None
    with world_a.context():
        assert not Customer.objects.exists()  # the preview is a dry run
    res = client.post(f"{ADMIN_URL}process_import/", {**confirm.initial})
    assert res.status_code == 302
    with world_a.context():
        assert sorted(Customer.objects.values_list("phone", flat=True)) == ["13911112222", "13911113333"]


def test_admin_pages_are_for_tenant_admins_only(world_a, client_for):
    for staff in (world_a.manager, world_a.sales, world_a.finance):
        assert client_for(staff).get(f"{ADMIN_URL}import/").status_code in (302, 403)
    assert client_for(world_a.admin).get(f"{ADMIN_URL}add/").status_code == 403
