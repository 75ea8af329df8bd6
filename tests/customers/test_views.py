"""The customer pages: register, edit, detail (masked ID, relations, history)."""

import re

import pytest
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.customers.models import Customer, CustomerRelation

from .factories import CustomerFactory, make_id_number

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
MASKED = "110105********002X"


def form_data(**overrides):
    data = {"name": "王小明", "phone": "+86 139-1234-5678", "id_number": "", "gender": "M",
            "birthday": "", "address": "北京市朝阳区", "source": "referral", "grade": "B",
            "tags": "VIP，老客户", "notes": "周末有空"}
    data.update(overrides)
    return data


def test_sales_registers_a_customer(world_a, client_for):
    client = client_for(world_a.sales)
    page = client.get(reverse("customers:create"))
    assert page.status_code == 200
    assert 'name="owner"' not in page.content.decode()  # sales cannot choose an owner
    res = client.post(reverse("customers:create"), form_data())
    with world_a.context():
        c = Customer.objects.get()
    assert res.status_code == 302 and res["Location"] == reverse("customers:detail", args=[c.pk])
    assert (c.phone, c.owner_id, c.team_id, c.tags) == ("13912345678", world_a.sales.pk,
                                                         world_a.team1.pk, ["VIP", "老客户"])


def test_form_keeps_what_was_typed_and_shows_field_errors(world_a, client_for):
    existing = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales2)
    client = client_for(world_a.sales)
    res = client.post(reverse("customers:create"),
                      form_data(phone=existing.phone, id_number="110105194912310021",
                                address="很长的地址" * 50))
    body = res.content.decode()
    assert res.status_code == 200
    errors = res.context["form"].errors
    assert errors["phone"] == ["该手机号已登记。"]  # owner not named
    assert errors["id_number"] == ["该身份证号的校验位不正确。"]
    assert "address" in errors
    assert 'value="王小明"' in body and 'value="110105194912310021"' in body and "周末有空" in body
    assert 'value="VIP，老客户"' in body
    assert "该手机号已登记。" in body
    assert re.search(r'<input[^>]*name="phone"[^>]*class="form-control is-invalid"', body)
    with world_a.context():
        assert Customer.objects.count() == 1


def test_manager_chooses_an_owner_of_their_team_only(world_a, client_for):
    client = client_for(world_a.manager)
    body = client.get(reverse("customers:create")).content.decode()
    assert world_a.sales2.name in body and world_a.sales_other_team.name not in body
    res = client.post(reverse("customers:create"),
                      form_data(owner=world_a.sales_other_team.pk))
    assert res.status_code == 200 and "owner" in res.context["form"].errors
    res = client.post(reverse("customers:create"), form_data(owner=world_a.sales2.pk))
    assert res.status_code == 302
    with world_a.context():
        assert Customer.objects.get().owner_id == world_a.sales2.pk


def test_admin_may_assign_anyone(world_a, client_for):
    res = client_for(world_a.admin).post(reverse("customers:create"),
                                         form_data(owner=world_a.sales_other_team.pk))
    assert res.status_code == 302
    with world_a.context():
        c = Customer.objects.get()
    assert (c.owner_id, c.team_id) == (world_a.sales_other_team.pk, world_a.team2.pk)


def test_edit(world_a, client_for):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三", id_number=ID_NUMBER)
    client = client_for(world_a.sales)
    page = client.get(reverse("customers:edit", args=[c.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and 'value="张三"' in body
    assert ID_NUMBER not in body and MASKED in body  # hint only; the field stays empty
    res = client.post(reverse("customers:edit", args=[c.pk]),
                      form_data(name="张三丰", phone=c.phone, id_number="", birthday="1949-12-31"))
    assert res.status_code == 302
    with world_a.context():
        c.refresh_from_db()
        entry = AuditEntry.objects.filter(target_id=c.pk, action="customer.update").get()
    assert c.name == "张三丰" and c.id_number == ID_NUMBER  # empty kept the ID number
    assert entry.changes["name"] == ["张三", "张三丰"] and "id_number" not in entry.changes


def test_edit_error_keeps_input(world_a, client_for):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="张三")
    res = client_for(world_a.sales).post(reverse("customers:edit", args=[c.pk]),
                                         form_data(name="", phone="12345", notes="新备注"))
    assert res.status_code == 200
    assert set(res.context["form"].errors) == {"name", "phone"}
    assert 'value="12345"' in res.content.decode() and "新备注" in res.content.decode()


def test_detail_masks_the_id_number_except_for_admins(world_a, client_for):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, id_number=ID_NUMBER)
    for staff, shown, hidden in [(world_a.sales, MASKED, ID_NUMBER), (world_a.cs, MASKED, ID_NUMBER),
                                 (world_a.finance, MASKED, ID_NUMBER), (world_a.admin, ID_NUMBER, MASKED)]:
        body = client_for(staff).get(reverse("customers:detail", args=[c.pk])).content.decode()
        assert shown in body and hidden not in body, staff


def test_detail_shows_history(world_a, client_for):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, grade="C")
    client = client_for(world_a.admin)
    client.post(reverse("customers:edit", args=[c.pk]),
                form_data(phone=c.phone, grade="A", owner=world_a.sales2.pk, team=""))
    res = client.get(reverse("customers:detail", args=[c.pk]))
    history = res.context["history"]
    assert [row["entry"].action for row in history] == ["customer.update", "customer.create"]
    lines = {str(line["label"]): (line["old"], line["new"]) for line in history[0]["lines"]}
    assert lines["归属人"] == (world_a.sales.name, world_a.sales2.name)
    assert lines["等级"] == ("C", "A")


def test_relations_on_the_detail_page(world_a, client_for):
    t = world_a.tenant
    me = CustomerFactory(tenant=t, actor=world_a.sales, name="张三")
    spouse = CustomerFactory(tenant=t, actor=world_a.sales, name="李梅")
    stranger = CustomerFactory(tenant=t, actor=world_a.sales2, name="王五")
    client = client_for(world_a.sales)
    add = reverse("customers:relation_add", args=[me.pk])
    res = client.post(add, {"kind": "spouse", "related_phone": "+86 " + spouse.phone})
    assert res.status_code == 302
    # Someone the salesperson cannot see cannot be linked (and is not revealed).
    res = client.post(add, {"kind": "friend", "related_phone": stranger.phone})
    assert res.status_code == 200 and "related_phone" in res.context["relation_form"].errors
    assert 'value="friend" selected' in res.content.decode()
    res = client.post(add, {"kind": "spouse", "related_phone": spouse.phone})
    assert res.context["relation_form"].errors["related_phone"] == [
        "这两位客户之间已有关系。"]
    body = client.get(reverse("customers:detail", args=[spouse.pk])).content.decode()
    assert "张三" in body and "data-confirm=" in body  # asked by static/js/app.js
    with world_a.context():
        relation = CustomerRelation.objects.get()
    remove = reverse("customers:relation_remove", args=[spouse.pk, relation.pk])
    assert remove in body
    assert client.get(remove).status_code == 405
    assert client_for(world_a.sales2).post(remove).status_code == 404
    assert client.post(remove).status_code == 302
    with world_a.context():
        assert not CustomerRelation.objects.exists()
        actions = list(AuditEntry.objects.filter(action__startswith="customer.relation")
                       .values_list("action", "target_id"))
    assert sorted(actions) == [("customer.relation_add", me.pk), ("customer.relation_remove", spouse.pk)]


def test_relation_to_a_customer_one_cannot_see_is_shown_masked(world_a, client_for):
    t = world_a.tenant
    mine = CustomerFactory(tenant=t, actor=world_a.sales, name="张三")
    theirs = CustomerFactory(tenant=t, actor=world_a.sales2, name="欧阳娜娜")
    from apps.customers.services import relation_add

    relation_add(tenant=t, actor=world_a.admin, customer=mine, related=theirs, kind="colleague")
    body = client_for(world_a.sales).get(reverse("customers:detail", args=[mine.pk])).content.decode()
    assert "欧***" in body and "欧阳娜娜" not in body
    assert reverse("customers:detail", args=[theirs.pk]) not in body


def test_list_shows_owner_and_team_filters_to_whole_tenant_viewers(world_a, client_for):
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    admin_page = client_for(world_a.admin).get(reverse("customers:list")).content.decode()
    assert f'<option value="{world_a.sales_other_team.pk}">' in admin_page
    assert f'<option value="{world_a.team2.pk}">' in admin_page
    manager_page = client_for(world_a.manager).get(reverse("customers:list")).content.decode()
    assert f'<option value="{world_a.sales2.pk}">' in manager_page
    assert f'<option value="{world_a.sales_other_team.pk}">' not in manager_page
    assert 'name="team"' not in manager_page
    sales_page = client_for(world_a.sales).get(reverse("customers:list")).content.decode()
    assert 'name="owner"' not in sales_page


def test_id_number_edit_by_admin_shows_and_changes_the_full_number(world_a, client_for):
    c = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, id_number=ID_NUMBER)
    client = client_for(world_a.admin)
    assert f'value="{ID_NUMBER}"' in client.get(reverse("customers:edit", args=[c.pk])).content.decode()
    new_id = make_id_number(birth="19800101")
    res = client.post(reverse("customers:edit", args=[c.pk]),
                      form_data(phone=c.phone, id_number=new_id, owner=world_a.sales.pk,
                                team=world_a.team1.pk))
    assert res.status_code == 302
    with world_a.context():
        c.refresh_from_db()
    assert c.id_number == new_id and str(c.birthday) == "1980-01-01"


def test_list_sends_registrars_through_the_duplicate_check(world_a, client_for):
    """Sales (and managers) register through /ownership/register/ (collisions, claims); the front
    desk keeps the plain form; an admin gets both."""
    register, plain = reverse("ownership:register"), reverse("customers:create")
    for staff, sees_register, sees_plain in ((world_a.sales, True, False),
                                             (world_a.manager, True, False),
                                             (world_a.cs, False, True),
                                             (world_a.admin, True, True)):
        html = client_for(staff).get(reverse("customers:list")).content.decode()
        assert (f'href="{register}"' in html) is sees_register, staff
        assert (f'href="{plain}"' in html) is sees_plain, staff
