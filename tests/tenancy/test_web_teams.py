"""Teams pages: tenant admins only, scoped to their tenant, audited."""

import pytest
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.tenancy.models import Staff, Team

pytestmark = pytest.mark.django_db


def test_team_list_shows_only_own_tenant(world_a, world_b, client_for):
    response = client_for(world_a.admin).get(reverse("tenancy:team_list"))
    assert response.status_code == 200
    teams = list(response.context["teams"])
    assert {t.pk for t in teams} == {world_a.team1.pk, world_a.team2.pk}
    assert {t.name: t.active_members for t in teams} == {"一组": 3, "二组": 1}
    assert f'href="{reverse("tenancy:team_edit", args=[world_b.team1.pk])}"' not in \
        response.content.decode()


@pytest.mark.parametrize("who", ["manager", "sales", "cs", "finance"])
def test_non_admins_are_refused(world_a, client_for, who):
    client = client_for(getattr(world_a, who))
    assert client.get(reverse("tenancy:team_list")).status_code == 403
    assert client.get(reverse("tenancy:team_create")).status_code == 403
    assert client.post(reverse("tenancy:team_create"), {"name": "黑客组"}).status_code == 403
    response = client.post(reverse("tenancy:team_edit", args=[world_a.team1.pk]), {"name": "x"})
    assert response.status_code == 403
    with world_a.context():
        assert not Team.objects.filter(name__in=["黑客组", "x"]).exists()


def test_create_team(world_a, client_for):
    client = client_for(world_a.admin)
    assert client.get(reverse("tenancy:team_create")).status_code == 200
    response = client.post(reverse("tenancy:team_create"), {"name": "  三组 "})
    assert response.status_code == 302
    assert response["Location"] == reverse("tenancy:team_list")
    with world_a.context():
        team = Team.objects.get(name="三组")
        entry = AuditEntry.objects.get(action="team.create", target_id=team.pk)
    assert team.active and team.tenant_id == world_a.tenant.pk
    assert entry.actor == world_a.admin


def test_duplicate_team_name_is_a_field_error(world_a, world_b, client_for):
    client = client_for(world_a.admin)
    response = client.post(reverse("tenancy:team_create"), {"name": "一组"})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert 'value="一组"' in response.content.decode()
    # The same name in another tenant is fine.
    assert client_for(world_b.admin).post(reverse("tenancy:team_create"),
                                          {"name": "三组"}).status_code == 302
    assert client.post(reverse("tenancy:team_create"), {"name": "三组"}).status_code == 302


def test_rename_and_deactivate_team(world_a, client_for):
    client = client_for(world_a.admin)
    url = reverse("tenancy:team_edit", args=[world_a.team2.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert 'value="二组"' in response.content.decode()
    response = client.post(url, {"name": "二组（东区）"})  # unchecked box = deactivate
    assert response.status_code == 302
    with world_a.context():
        team = Team.objects.get(pk=world_a.team2.pk)
        entry = AuditEntry.objects.get(action="team.update", target_id=team.pk)
    assert team.name == "二组（东区）" and not team.active
    assert entry.changes == {"name": ["二组", "二组（东区）"], "active": [True, False]}
    # The member stays in the team; the team is no longer offered for new staff.
    with world_a.context():
        assert Staff.objects.get(pk=world_a.sales_other_team.pk).team_id == team.pk
    form = client.get(reverse("tenancy:staff_create")).context["form"]
    assert team not in form.fields["team"].queryset


def test_rename_to_another_teams_name_is_refused(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post(reverse("tenancy:team_edit", args=[world_a.team2.pk]),
                           {"name": "一组", "active": "on"})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    with world_a.context():
        assert Team.objects.get(pk=world_a.team2.pk).name == "二组"


def test_other_tenants_team_is_404_and_unchanged(world_a, world_b, client_for):
    client = client_for(world_a.admin)
    url = reverse("tenancy:team_edit", args=[world_b.team1.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "hijacked", "active": "on"}).status_code == 404
    assert client.put(url).status_code == 404
    with world_b.context():
        assert Team.objects.get(pk=world_b.team1.pk).name == "一组"
