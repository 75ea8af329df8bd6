"""The Django admin: tenant admins only, and only their tenant's teams and staff."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.tenancy.models import Tenant
from apps.tenancy.services import staff_set_active

pytestmark = pytest.mark.django_db


def test_tenant_admin_sees_only_own_teams_and_staff(world_a, world_b, client_for):
    client = client_for(world_a.admin)
    assert client.get(reverse("admin:index")).status_code == 200
    teams = client.get(reverse("admin:tenancy_team_changelist"))
    assert teams.status_code == 200
    assert {t.pk for t in teams.context["cl"].result_list} == {world_a.team1.pk, world_a.team2.pk}
    staff = client.get(reverse("admin:tenancy_staff_changelist"))
    assert staff.status_code == 200
    pks = {s.pk for s in staff.context["cl"].result_list}
    assert world_a.sales.pk in pks and len(pks) == 7
    assert world_b.sales.name not in staff.content.decode()
    # The team filter offers only the tenant's teams.
    assert world_a.team1.name in staff.content.decode()


def test_admin_search_stays_in_tenant(world_a, world_b, client_for):
    response = client_for(world_a.admin).get(reverse("admin:tenancy_staff_changelist"),
                                             {"q": "tenant-b"})
    assert list(response.context["cl"].result_list) == []


def test_other_tenants_object_does_not_exist(world_a, world_b, client_for):
    client = client_for(world_a.admin)
    for url in (reverse("admin:tenancy_staff_change", args=[world_b.sales.pk]),
                reverse("admin:tenancy_team_change", args=[world_b.team1.pk]),
                reverse("admin:tenancy_staff_history", args=[world_b.sales.pk])):
        response = client.get(url, follow=True)
        assert response.status_code in (200, 404), url
        html = response.content.decode()
        assert world_b.sales.name not in html and "乙教育" not in html
        if response.status_code == 200:
            assert response.redirect_chain, url
            assert any(m.level_tag == "warning" for m in response.context["messages"])


def test_own_object_is_visible_read_only(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.get(reverse("admin:tenancy_staff_change", args=[world_a.sales.pk]))
    assert response.status_code == 200
    assert world_a.sales.name in response.content.decode()
    # Read-only: changes go through the app's pages (audited services).
    response = client.post(reverse("admin:tenancy_staff_change", args=[world_a.sales.pk]),
                           {"name": "changed"})
    assert response.status_code == 403
    assert client.get(reverse("admin:tenancy_team_add")).status_code == 403


@pytest.mark.parametrize("who", ["manager", "sales", "cs", "finance"])
def test_non_admin_staff_is_refused(world_a, client_for, who):
    client = client_for(getattr(world_a, who))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    response = client.get(reverse("admin:tenancy_staff_changelist"))
    assert response.status_code == 302


def test_admin_login_page_applies_membership_rules(world_a):
    url = reverse("admin:login")
    # A tenant admin signs in.
    ok = Client().post(url, {"username": world_a.admin.user.username, "password": "pw-for-tests-123",
                             "next": reverse("admin:index")})
    assert ok.status_code == 302
    # A non-admin does not.
    refused = Client().post(url, {"username": world_a.sales.user.username,
                                  "password": "pw-for-tests-123"})
    assert refused.status_code == 200 and refused.context["form"].errors
    # Nor an admin of a deactivated tenant.
    Tenant.objects.filter(pk=world_a.tenant.pk).update(active=False)
    client = Client()
    refused = client.post(url, {"username": world_a.admin.user.username,
                                "password": "pw-for-tests-123"})
    assert refused.status_code == 200
    assert [e.code for e in refused.context["form"].non_field_errors().as_data()] == ["no_membership"]
    assert "_auth_user_id" not in client.session


def test_deactivated_admin_loses_admin_site(world_a, world_b, client_for):
    second = world_a.make_staff("admin2", ["admin"], None)
    client = client_for(second)
    assert client.get(reverse("admin:index")).status_code == 200
    staff_set_active(tenant=world_a.tenant, actor=world_a.admin, staff=second, active=False)
    assert client.get(reverse("admin:index")).status_code == 302
