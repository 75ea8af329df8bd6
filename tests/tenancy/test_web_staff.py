"""Staff pages: list with filters, create, edit, deactivate/reactivate. Admins only, scoped."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.tenancy.models import Staff, User
from apps.tenancy.roles import Role

pytestmark = pytest.mark.django_db


def new_staff_data(**overrides):
    data = {"username": "new-sales", "password": "Strong-pass-2024", "name": "王小明",
            "phone": "+86 138-0013-8000", "team": "", "roles": [Role.SALES],
            "base_salary": "4500.00"}
    data.update(overrides)
    return data


def edit_data(staff, **overrides):
    data = {"name": staff.name, "phone": staff.phone, "team": staff.team_id or "",
            "roles": list(staff.roles), "base_salary": str(staff.base_salary), "reason": ""}
    data.update(overrides)
    return data


def fetch(world, staff):
    with world.context():
        return Staff.objects.select_related("user", "team").get(pk=staff.pk)


# --------------------------------------------------------------------------- list

def test_staff_list_shows_own_tenant_only(world_a, world_b, client_for):
    response = client_for(world_a.admin).get(reverse("tenancy:staff_list"))
    assert response.status_code == 200
    names = {s.name for s in response.context["members"]}
    assert names == {s.name for s in (world_a.admin, world_a.manager, world_a.sales, world_a.sales2,
                                      world_a.sales_other_team, world_a.cs, world_a.finance)}
    assert world_b.admin.name not in response.content.decode()


def test_staff_list_filters(world_a, client_for):
    client = client_for(world_a.admin)

    def names(**params):
        response = client.get(reverse("tenancy:staff_list"), params)
        assert response.status_code == 200
        return {s.name for s in response.context["members"]}

    assert names(team=world_a.team2.pk) == {world_a.sales_other_team.name}
    assert names(team="none") == {world_a.admin.name, world_a.cs.name, world_a.finance.name}
    assert names(role=Role.SALES) == {world_a.sales.name, world_a.sales2.name,
                                      world_a.sales_other_team.name}
    assert names(q="sales2") == {world_a.sales2.name}  # name or username
    assert names(q="TENANT-A-CS") == {world_a.cs.name}  # case-insensitive
    assert names(team=world_a.team1.pk, role=Role.MANAGER) == {world_a.manager.name}
    client.post(reverse("tenancy:staff_deactivate", args=[world_a.sales2.pk]), {"reason": "left"})
    assert world_a.sales2.name not in names()  # active only by default
    assert names(active="inactive") == {world_a.sales2.name}
    assert world_a.sales2.name in names(active="all")


def test_staff_list_ignores_other_tenants_team_id(world_a, world_b, client_for):
    response = client_for(world_a.admin).get(reverse("tenancy:staff_list"), {"team": world_b.team1.pk})
    assert response.status_code == 200
    assert world_b.sales.name not in response.content.decode()


def test_staff_list_paginates_and_keeps_filters(world_a, client_for):
    for i in range(30):
        world_a.make_staff(f"extra{i:02d}", [Role.SALES], world_a.team1)
    client = client_for(world_a.admin)
    response = client.get(reverse("tenancy:staff_list"), {"role": Role.SALES})
    assert response.context["is_paginated"]
    assert len(response.context["members"]) == 25
    assert response.context["paginator"].count == 33
    assert "?role=sales&amp;page=2" in response.content.decode()
    page2 = client.get(reverse("tenancy:staff_list"), {"role": Role.SALES, "page": 2})
    assert len(page2.context["members"]) == 8


def test_staff_list_htmx_returns_only_the_results(world_a, client_for):
    response = client_for(world_a.admin).get(reverse("tenancy:staff_list"), {"q": "sales2"},
                                             HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="staff-results"')
    assert "<html" not in html
    assert world_a.sales2.name in html
    assert "HX-Request" in response["Vary"]


def test_staff_list_query_budget(world_a, client_for, django_assert_max_num_queries):
    for i in range(30):
        world_a.make_staff(f"extra{i:02d}", [Role.SALES], world_a.team1 if i % 2 else world_a.team2)
    client = client_for(world_a.admin)
    client.get(reverse("tenancy:staff_list"))
    # 7 of plumbing (savepoint, user, membership, app.* settings, release) + filter's teams, count, and
    # one page query with team and user joined, whatever the page size + the unread badge.
    with django_assert_max_num_queries(11):
        response = client.get(reverse("tenancy:staff_list"), {"q": "extra", "active": "all"})
    assert len(response.context["members"]) == 25


@pytest.mark.parametrize("who", ["manager", "sales", "cs", "finance"])
def test_non_admins_are_refused(world_a, client_for, who):
    client = client_for(getattr(world_a, who))
    target = world_a.sales2
    for url in (reverse("tenancy:staff_list"), reverse("tenancy:staff_create"),
                reverse("tenancy:staff_detail", args=[target.pk]),
                reverse("tenancy:staff_edit", args=[target.pk]),
                reverse("tenancy:staff_deactivate", args=[target.pk])):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("tenancy:staff_create"), new_staff_data()).status_code == 403
    assert client.post(reverse("tenancy:staff_deactivate", args=[target.pk]),
                       {"reason": "x"}).status_code == 403
    assert client.post(reverse("tenancy:staff_edit", args=[target.pk]),
                       edit_data(target, name="改名")).status_code == 403
    assert not User.objects.filter(username="new-sales").exists()
    staff = fetch(world_a, target)
    assert staff.active and staff.name == target.name


# --------------------------------------------------------------------------- create

def test_create_staff(world_a, client_for):
    client = client_for(world_a.admin)
    assert client.get(reverse("tenancy:staff_create")).status_code == 200
    response = client.post(reverse("tenancy:staff_create"), new_staff_data(
        team=world_a.team1.pk, roles=[Role.SALES, Role.CUSTOMER_SERVICE]))
    assert response.status_code == 302
    with world_a.context():
        staff = Staff.objects.select_related("user").get(user__username="new-sales")
        entry = AuditEntry.objects.get(action="staff.create", target_id=staff.pk)
    assert response["Location"] == reverse("tenancy:staff_detail", args=[staff.pk])
    assert staff.tenant_id == world_a.tenant.pk and staff.team_id == world_a.team1.pk
    assert staff.phone == "13800138000"
    assert staff.roles == [Role.SALES, Role.CUSTOMER_SERVICE]
    assert staff.base_salary == Decimal("4500.00")
    assert entry.actor == world_a.admin
    # The new person can sign in with the initial password.
    login = Client().post(reverse("login"), {"username": "new-sales", "password": "Strong-pass-2024"})
    assert login.status_code == 302


def test_duplicate_username_is_a_field_error_and_input_is_kept(world_a, world_b, client_for):
    client = client_for(world_a.admin)
    taken = world_b.sales.user.username.upper()  # another tenant's login, any case
    response = client.post(reverse("tenancy:staff_create"), new_staff_data(
        username=taken, team=world_a.team2.pk, roles=[Role.SALES, Role.FINANCE]))
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["username"]
    html = response.content.decode()
    assert f'value="{taken}"' in html
    assert 'value="王小明"' in html and 'value="4500.00"' in html
    assert f'<option value="{world_a.team2.pk}" selected>' in html
    assert 'value="finance" class="form-check-input" id="id_roles_3" checked' in html
    assert "Strong-pass-2024" not in html  # passwords are never echoed back
    assert 'is-invalid' in html
    assert User.objects.filter(username__iexact=taken).count() == 1


def test_create_validates_fields(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post(reverse("tenancy:staff_create"), new_staff_data(
        password="123", phone="12345", roles=[], base_salary="-1", name="  "))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"password", "phone", "roles", "base_salary",
                                                    "name"}
    assert not User.objects.filter(username="new-sales").exists()


def test_create_refuses_other_tenants_team(world_a, world_b, client_for):
    client = client_for(world_a.admin)
    html = client.get(reverse("tenancy:staff_create")).content.decode()
    assert f'<option value="{world_b.team1.pk}"' not in html
    response = client.post(reverse("tenancy:staff_create"), new_staff_data(team=world_b.team1.pk))
    assert response.status_code == 200
    assert "team" in response.context["form"].errors
    assert not User.objects.filter(username="new-sales").exists()


# --------------------------------------------------------------------------- edit

def test_edit_staff(world_a, client_for):
    client = client_for(world_a.admin)
    url = reverse("tenancy:staff_edit", args=[world_a.sales.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert f'value="{world_a.sales.name}"' in response.content.decode()
    response = client.post(url, edit_data(world_a.sales, team=world_a.team2.pk,
                                          roles=[Role.SALES, Role.MANAGER], base_salary="6000",
                                          reason="promoted"))
    assert response.status_code == 302
    staff = fetch(world_a, world_a.sales)
    assert staff.team_id == world_a.team2.pk and staff.roles == [Role.SALES, Role.MANAGER]
    assert staff.base_salary == Decimal("6000.00")
    with world_a.context():
        entry = AuditEntry.objects.get(action="staff.update", target_id=staff.pk)
    assert entry.reason == "promoted" and entry.actor == world_a.admin
    assert set(entry.changes) == {"team", "roles", "base_salary"}
    # The history reads as labels and names, not as stored keys, ids and codes.
    detail = client.get(reverse("tenancy:staff_detail", args=[staff.pk])).content.decode()
    assert f"团队: {world_a.team1.name} → {world_a.team2.name}" in detail
    assert "角色: 销售 → 销售、经理" in detail


def test_edit_error_keeps_input(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post(reverse("tenancy:staff_edit", args=[world_a.sales.pk]),
                           edit_data(world_a.sales, name="新名字", phone="not-a-phone"))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["phone"]
    html = response.content.decode()
    assert 'value="新名字"' in html and 'value="not-a-phone"' in html
    assert fetch(world_a, world_a.sales).name == world_a.sales.name


def test_admin_cannot_remove_own_admin_role(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post(reverse("tenancy:staff_edit", args=[world_a.admin.pk]),
                           edit_data(world_a.admin, roles=[Role.SALES]))
    assert response.status_code == 200
    assert "roles" in response.context["form"].errors
    assert fetch(world_a, world_a.admin).roles == [Role.ADMIN]


def test_granting_admin_role_gives_admin_site_access(world_a, client_for):
    client_for(world_a.admin).post(reverse("tenancy:staff_edit", args=[world_a.cs.pk]),
                                   edit_data(world_a.cs, roles=[Role.CUSTOMER_SERVICE, Role.ADMIN]))
    assert User.objects.get(pk=world_a.cs.user_id).is_staff
    assert client_for(world_a.cs).get(reverse("admin:index")).status_code == 200


def test_other_tenants_staff_is_404_and_unchanged(world_a, world_b, client_for):
    client = client_for(world_a.admin)
    victim = world_b.sales
    for name in ("staff_detail", "staff_edit", "staff_deactivate", "staff_reactivate"):
        assert client.get(reverse(f"tenancy:{name}", args=[victim.pk])).status_code == 404, name
    assert client.post(reverse("tenancy:staff_edit", args=[victim.pk]),
                       edit_data(victim, name="hijacked", team="")).status_code == 404
    assert client.post(reverse("tenancy:staff_deactivate", args=[victim.pk]),
                       {"reason": "x"}).status_code == 404
    assert client.delete(reverse("tenancy:staff_edit", args=[victim.pk])).status_code == 404
    staff = fetch(world_b, victim)
    assert staff.active and staff.name == victim.name and staff.user.is_active
    with world_b.context():
        assert not AuditEntry.objects.filter(target_id=victim.pk).exclude(action="staff.create").exists()


# --------------------------------------------------------------------------- deactivate

def test_deactivate_needs_confirmation_and_reason(world_a, client_for):
    client = client_for(world_a.admin)
    url = reverse("tenancy:staff_deactivate", args=[world_a.sales.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert fetch(world_a, world_a.sales).active


def test_deactivate_keeps_history_and_blocks_login(world_a, client_for):
    from apps.customers.models import Customer

    with world_a.context():
        customer = Customer.objects.create(tenant=world_a.tenant, name="老客户", phone="13900000001",
                                           owner=world_a.sales, team=world_a.team1)
    client = client_for(world_a.admin)
    response = client.post(reverse("tenancy:staff_deactivate", args=[world_a.sales.pk]),
                           {"reason": "离职"})
    assert response.status_code == 302
    staff = fetch(world_a, world_a.sales)
    assert not staff.active and staff.deactivated_at is not None and not staff.user.is_active
    with world_a.context():
        assert Customer.objects.get(pk=customer.pk).owner_id == staff.pk  # history kept
        entry = AuditEntry.objects.get(action="staff.deactivate", target_id=staff.pk)
    assert entry.reason == "离职" and entry.actor == world_a.admin
    # The detail page shows the history.
    detail = client.get(reverse("tenancy:staff_detail", args=[staff.pk])).content.decode()
    assert "staff.deactivate" in detail and "离职" in detail
    # No more sign-in.
    login = Client().post(reverse("login"), {"username": staff.user.username,
                                             "password": "pw-for-tests-123"})
    assert login.status_code == 200
    assert [e.code for e in login.context["form"].non_field_errors().as_data()] == ["inactive"]


def test_reactivate(world_a, client_for):
    client = client_for(world_a.admin)
    client.post(reverse("tenancy:staff_deactivate", args=[world_a.sales.pk]), {"reason": "休假"})
    url = reverse("tenancy:staff_reactivate", args=[world_a.sales.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": ""}).status_code == 302  # reason optional here
    staff = fetch(world_a, world_a.sales)
    assert staff.active and staff.deactivated_at is None and staff.user.is_active
    with world_a.context():
        assert AuditEntry.objects.filter(action="staff.reactivate", target_id=staff.pk).exists()
    login = Client().post(reverse("login"), {"username": staff.user.username,
                                             "password": "pw-for-tests-123"})
    assert login.status_code == 302


def test_admin_cannot_deactivate_self(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post(reverse("tenancy:staff_deactivate", args=[world_a.admin.pk]),
                           {"reason": "oops"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert fetch(world_a, world_a.admin).active


def test_deactivating_twice_is_harmless(world_a, client_for):
    client = client_for(world_a.admin)
    url = reverse("tenancy:staff_deactivate", args=[world_a.sales.pk])
    client.post(url, {"reason": "left"})
    response = client.get(url)
    assert response.status_code == 302
    assert client.post(url, {"reason": "again"}).status_code == 302
    with world_a.context():
        assert AuditEntry.objects.filter(action="staff.deactivate", target_id=world_a.sales.pk).count() == 1
