"""The home page shows each role its panels, with few queries."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse

from apps.customers.models import Customer, TeamCustomerCount
from apps.tenancy.roles import Role

pytestmark = pytest.mark.django_db


def make_customers(world, owner, n, *, start=0, team=None):
    """Fixture rows written directly (the customers services are not under test here)."""
    with world.context():
        return [Customer.objects.create(tenant=world.tenant, name=f"客户{start + i:02d}",
                                        phone=f"139{world.tenant.pk % 10}{start + i:07d}",
                                        owner=owner, team=team or owner.team)
                for i in range(n)]


def make_counts(world, day, counts):
    with world.context():
        for team, customers in counts.items():
            TeamCustomerCount.objects.create(tenant=world.tenant, team=team, day=day,
                                             customers=customers)


def home(client):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response, response.content.decode()


def test_sales_sees_own_customer_count_and_latest_ten(world_a, world_b, client_for):
    mine = make_customers(world_a, world_a.sales, 12)
    make_customers(world_a, world_a.sales2, 3, start=50)
    make_customers(world_b, world_b.sales, 4, start=80)
    response, html = home(client_for(world_a.sales))
    panel = response.context["panels"]["sales"]
    assert panel["count"] == 12
    assert [c.pk for c in panel["latest"]] == [c.pk for c in reversed(mine)][:10]
    assert 'id="panel-sales"' in html
    assert "客户11" in html and "客户02" in html and "客户01" not in html  # only the latest 10
    assert "客户50" not in html and "客户80" not in html  # a colleague's, another tenant's
    assert f'href="{reverse("customers:detail", args=[mine[-1].pk])}"' in html
    for other in ("panel-teams", "panel-admin", "panel-finance", "panel-customer-service"):
        assert f'id="{other}"' not in html


def test_sales_without_customers(world_a, client_for):
    response, html = home(client_for(world_a.sales))
    assert response.context["panels"]["sales"]["count"] == 0
    assert 'id="panel-sales"' in html


def test_manager_sees_latest_nightly_count_of_own_team_with_chart(world_a, world_b, client_for):
    make_counts(world_a, dt.date(2025, 1, 1), {world_a.team1: 5, world_a.team2: 9})
    make_counts(world_a, dt.date(2025, 1, 2), {world_a.team1: 7, world_a.team2: 11})
    make_counts(world_b, dt.date(2025, 1, 3), {world_b.team1: 99})
    response, html = home(client_for(world_a.manager))
    teams = response.context["panels"]["teams"]
    assert teams["scope"] == "team"
    assert teams["day"] == dt.date(2025, 1, 2)
    assert teams["rows"] == [{"team": "一组", "customers": 7}]
    assert 'id="panel-teams"' in html and 'id="panel-sales"' not in html
    data = json.loads(re.search(r'<script id="team-chart-data" type="application/json">(.*?)</script>',
                                html, re.S).group(1))
    assert data["labels"] == ["一组"] and data["data"] == [7]
    assert "/static/vendor/chartjs/chart.umd.min.js" in html


def test_manager_without_counts_yet(world_a, client_for):
    response, html = home(client_for(world_a.manager))
    assert response.context["panels"]["teams"]["rows"] == []
    # (Chart.js is on the page anyway: the referral charts panel of managers.)
    assert "team-chart-data" not in html and "js/home.js" not in html


def test_manager_without_team(world_a, client_for):
    boss = world_a.make_staff("boss", [Role.MANAGER], None)
    make_counts(world_a, dt.date(2025, 1, 2), {world_a.team1: 7})
    response, _html = home(client_for(boss))
    assert response.context["panels"]["teams"] == {"day": None, "rows": [], "scope": "none"}


def test_admin_sees_all_teams_and_staff_counts(world_a, world_b, client_for):
    make_counts(world_a, dt.date(2025, 1, 2), {world_a.team1: 7, world_a.team2: 11, None: 2})
    make_counts(world_b, dt.date(2025, 1, 5), {world_b.team1: 99})
    response, html = home(client_for(world_a.admin))
    panels = response.context["panels"]
    assert panels["teams"]["scope"] == "all"
    assert panels["teams"]["day"] == dt.date(2025, 1, 2)
    assert sorted(r["customers"] for r in panels["teams"]["rows"]) == [2, 7, 11]
    assert panels["admin"] == {"staff_active": 7, "staff_inactive": 0, "teams_active": 2,
                               "teams_inactive": 0}
    assert f'href="{reverse("tenancy:staff_list")}"' in html
    assert f'href="{reverse("tenancy:team_list")}"' in html
    assert f'href="{reverse("tenancy:staff_create")}"' in html


def test_customer_service_and_finance_see_tenant_customer_count(world_a, world_b, client_for):
    make_customers(world_a, world_a.sales, 3)
    make_customers(world_a, world_a.sales_other_team, 2, start=10)
    make_customers(world_b, world_b.sales, 6, start=20)
    response, html = home(client_for(world_a.cs))
    assert response.context["panels"] == {"customer_service": {"customers": 5}}
    assert 'id="panel-customer-service"' in html
    response, html = home(client_for(world_a.finance))
    assert response.context["panels"] == {"finance": {"customers": 5}}
    assert 'id="panel-finance"' in html


def test_person_with_several_roles_sees_each_panel(world_a, client_for):
    everyone = world_a.make_staff("all", [r.value for r in Role], world_a.team1)
    make_customers(world_a, everyone, 2)
    response, html = home(client_for(everyone))
    assert set(response.context["panels"]) == {"sales", "teams", "customer_service", "finance",
                                               "admin"}
    for panel in ("panel-sales", "panel-teams", "panel-customer-service", "panel-finance",
                  "panel-admin"):
        assert f'id="{panel}"' in html


def test_home_query_budget(world_a, client_for, django_assert_max_num_queries):
    everyone = world_a.make_staff("all", [r.value for r in Role], world_a.team1)
    make_customers(world_a, everyone, 15)
    make_counts(world_a, dt.date(2025, 1, 2), {world_a.team1: 7, world_a.team2: 11})
    client = client_for(everyone)
    client.get(reverse("home"))  # warm the session cache
    # 7 of plumbing (savepoint, user, app.user_id, membership, app.tenant_id set and reset,
    # release; the session is cached) + my count, my latest 10, team counts, tenant count,
    # staff counts and team counts + the unread-notification badge + the app panels: customers
    # about to be released (policy, count) and disputes waiting (count) + the referral charts
    # (referrals and deals per month).
    with django_assert_max_num_queries(19):
        response = client.get(reverse("home"))
    assert response.status_code == 200
