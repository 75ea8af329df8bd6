"""/api/v1/customers/: create, update, PATCH, masking, relations, error format."""

import pytest

from apps.core.models import AuditEntry
from apps.customers.models import Customer, CustomerRelation

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"
ID_NUMBER = "11010519491231002X"
MASKED = "110105********002X"


def test_create(world_a, api_client_for):
    res = api_client_for(world_a.sales).post(URL, {
        "name": "王小明", "phone": "+86 139 1234 5678", "id_number": ID_NUMBER.lower(),
        "source": "referral", "grade": "A", "tags": ["VIP"]}, format="json")
    assert res.status_code == 201, res.json()
    body = res.json()
    assert body["phone"] == "13912345678" and body["id_number"] == MASKED
    assert body["owner"] == {"id": world_a.sales.pk, "name": world_a.sales.name}
    assert body["team"] == {"id": world_a.team1.pk, "name": world_a.team1.name}
    assert body["birthday"] == "1949-12-31" and "owner_id" not in body
    with world_a.context():
        c = Customer.objects.get(pk=body["id"])
        assert AuditEntry.objects.filter(target_id=c.pk, action="customer.create").exists()
    assert c.id_number == ID_NUMBER and c.created_by_id == world_a.sales.pk


def test_create_errors_use_the_api_field_names(world_a, api_client_for):
    existing = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales2)
    api = api_client_for(world_a.sales)
    res = api.post(URL, {"name": "x" * 60, "phone": existing.phone, "id_number": "110105194912310021",
                         "owner_id": world_a.sales2.pk}, format="json")
    assert res.status_code == 400
    error = res.json()["error"]
    assert error["status"] == 400 and error["code"] == "invalid"
    assert set(error["fields"]) == {"name", "phone", "id_number", "owner_id"}
    assert error["fields"]["phone"] == ["该手机号已登记。"]
    res = api.post(URL, {"name": "x", "phone": "13800138000", "team_id": 999999}, format="json")
    assert res.status_code == 400 and list(res.json()["error"]["fields"]) == ["team_id"]
    res = api.post(URL, {"phone": "13800138000", "birthday": "not a date"}, format="json")
    assert set(res.json()["error"]["fields"]) == {"name", "birthday"}


def test_admin_sees_full_id_and_assigns_owner(world_a, api_client_for):
    res = api_client_for(world_a.admin).post(URL, {
        "name": "李四", "phone": "13800138000", "id_number": ID_NUMBER,
        "owner_id": world_a.sales_other_team.pk}, format="json")
    assert res.status_code == 201, res.json()
    body = res.json()
    assert body["id_number"] == ID_NUMBER
    assert (body["owner"]["id"], body["team"]["id"]) == (world_a.sales_other_team.pk, world_a.team2.pk)
    for staff in (world_a.sales_other_team, world_a.cs, world_a.finance, world_a.manager):
        api = api_client_for(staff)
        if staff is world_a.manager:  # not in the manager's team
            assert api.get(f"{URL}{body['id']}/").status_code == 404
            continue
        assert api.get(f"{URL}{body['id']}/").json()["id_number"] == MASKED
        assert api.get(URL).json()["results"][0]["id_number"] == MASKED


def test_put_and_patch(world_a, api_client_for):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三", id_number=ID_NUMBER,
                        notes="旧")
    api = api_client_for(world_a.sales)
    res = api.patch(f"{URL}{c.pk}/", {"grade": "B", "tags": ["VIP", "VIP", " 新房 "]}, format="json")
    assert res.status_code == 200, res.json()
    assert res.json()["grade"] == "B" and res.json()["tags"] == ["VIP", "新房"]
    assert res.json()["notes"] == "旧"
    # PUT the representation back (masked ID included): nothing but the name changes.
    body = api.get(f"{URL}{c.pk}/").json()
    body.update(name="张三丰")
    res = api.put(f"{URL}{c.pk}/", {k: v for k, v in body.items() if v is not None}, format="json")
    assert res.status_code == 200, res.json()
    with world_a.context():
        c.refresh_from_db()
        changes = [e.changes for e in AuditEntry.objects.filter(target_id=c.pk,
                                                                action="customer.update").order_by("id")]
    assert c.name == "张三丰" and c.id_number == ID_NUMBER and c.grade == "B"
    assert changes == [{"grade": ["", "B"], "tags": [[], ["VIP", "新房"]]}, {"name": ["张三", "张三丰"]}]
    res = api.patch(f"{URL}{c.pk}/", {"phone": "123", "owner_id": world_a.sales2.pk}, format="json")
    assert res.status_code == 400 and set(res.json()["error"]["fields"]) == {"phone", "owner_id"}


def test_manager_reassigns_within_team(world_a, api_client_for):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    api = api_client_for(world_a.manager)
    res = api.patch(f"{URL}{c.pk}/", {"owner_id": world_a.sales2.pk}, format="json")
    assert res.status_code == 200 and res.json()["owner"]["id"] == world_a.sales2.pk
    res = api.patch(f"{URL}{c.pk}/", {"owner_id": world_a.sales_other_team.pk}, format="json")
    assert res.status_code == 400 and list(res.json()["error"]["fields"]) == ["owner_id"]


def test_no_delete(world_a, api_client_for):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    assert api_client_for(world_a.admin).delete(f"{URL}{c.pk}/").status_code == 405
    assert api_client_for(world_a.sales2).delete(f"{URL}{c.pk}/").status_code == 404


def test_relations(world_a, api_client_for):
    t = world_a.tenant
    parent = CustomerFactory(tenant=t, actor=world_a.sales, name="张父")
    child = CustomerFactory(tenant=t, actor=world_a.sales, name="张子")
    stranger = CustomerFactory(tenant=t, actor=world_a.sales2, name="王五")
    api = api_client_for(world_a.sales)
    res = api.post(f"{URL}{parent.pk}/relations/", {"related_id": child.pk, "kind": "parent"},
                   format="json")
    assert res.status_code == 201, res.json()
    rel_id = res.json()["id"]
    assert res.json()["other"] == {"id": child.pk, "name": "张子"}
    assert res.json()["kind"] == "child" and res.json()["direction"] == "outgoing"
    # Seen from the child: the parent, recorded on the other side.
    [row] = api.get(f"{URL}{child.pk}/relations/").json()
    assert (row["id"], row["other"]["name"], row["kind"], row["direction"]) == (
        rel_id, "张父", "parent", "incoming")
    for payload, field in [({"related_id": child.pk, "kind": "spouse"}, "related_id"),
                           ({"related_id": parent.pk, "kind": "spouse"}, "related_id"),
                           ({"related_id": stranger.pk, "kind": "friend"}, "related_id"),
                           ({"related_id": child.pk, "kind": "enemy"}, "kind")]:
        res = api.post(f"{URL}{parent.pk}/relations/", payload, format="json")
        assert res.status_code == 400 and list(res.json()["error"]["fields"]) == [field], payload
    assert api_client_for(world_a.sales2).delete(
        f"{URL}{child.pk}/relations/{rel_id}/").status_code == 404
    assert api.delete(f"{URL}{stranger.pk}/relations/{rel_id}/").status_code == 404
    assert api.delete(f"{URL}{child.pk}/relations/{rel_id}/").status_code == 204
    assert api.delete(f"{URL}{child.pk}/relations/{rel_id}/").status_code == 404
    with world_a.context():
        assert not CustomerRelation.objects.exists()
        actions = sorted(AuditEntry.objects.filter(action__startswith="customer.relation")
                         .values_list("action", flat=True))
    assert actions == ["customer.relation_add", "customer.relation_remove"]


def test_schema_is_for_signed_in_staff_only(db, client):
    for url in ("/api/schema/", "/api/docs/", "/api/redoc/"):
        assert client.get(url).status_code in (401, 403), url


def test_schema_lists_the_customer_endpoints(world_a, client_for):
    res = client_for(world_a.sales).get("/api/schema/", {"format": "json"})
    paths = res.json()["paths"]
    assert {"/api/v1/customers/", "/api/v1/customers/{id}/", "/api/v1/customers/{id}/relations/",
            "/api/v1/customers/{id}/relations/{relation_id}/"} <= set(paths)
    assert "delete" not in paths["/api/v1/customers/{id}/"]
    params = {p["name"] for p in paths["/api/v1/customers/"]["get"]["parameters"]}
    assert {"search", "owner", "team", "source", "grade", "tag", "ordering", "page", "page_size"} <= params
