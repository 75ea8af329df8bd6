"""Who sees which customer: the selector, the HTML pages and the API agree."""

import pytest
from django.urls import reverse

from apps.customers.selectors import visible_customers

pytestmark = pytest.mark.django_db

# Which of the `book` customers each role of world_a sees.
EXPECTED = {
    "admin": {"own", "own2", "other_team", "manager_own", "unowned", "admin_team2"},
    "cs": {"own", "own2", "other_team", "manager_own", "unowned", "admin_team2"},
    "finance": {"own", "own2", "other_team", "manager_own", "unowned", "admin_team2"},
    "manager": {"own", "own2", "manager_own"},   # team1 + own
    "sales": {"own"},
    "sales2": {"own2"},
    "sales_other_team": {"other_team"},
}
NAMES = ["own", "own2", "other_team", "manager_own", "unowned", "admin_team2"]


def expected_pks(book, role):
    return {getattr(book, n).pk for n in EXPECTED[role]}


@pytest.mark.parametrize("role", EXPECTED)
def test_selector(world_a, book, role):
    with world_a.context():
        seen = set(visible_customers(getattr(world_a, role)).values_list("pk", flat=True))
    assert seen == expected_pks(book, role)


def test_several_roles_see_the_union(world_a, book):
    from apps.tenancy.roles import Role
    from apps.tenancy.services import staff_update

    s = world_a.sales_other_team
    staff_update(tenant=world_a.tenant, actor=None, staff=s, name=s.name,
                 roles=[Role.SALES, Role.MANAGER], team=world_a.team1)
    with world_a.context():
        s.refresh_from_db()
        seen = set(visible_customers(s).values_list("pk", flat=True))
    assert seen == {book.own.pk, book.own2.pk, book.manager_own.pk, book.other_team.pk}


@pytest.mark.parametrize("role", EXPECTED)
def test_html_list_and_detail(world_a, book, role, client_for):
    client = client_for(getattr(world_a, role))
    body = client.get(reverse("customers:list")).content.decode()
    for name in NAMES:
        customer = getattr(book, name)
        url = reverse("customers:detail", args=[customer.pk])
        if name in EXPECTED[role]:
            assert url in body, (role, name)
            assert client.get(url).status_code == 200
        else:
            assert url not in body, (role, name)
            assert client.get(url).status_code == 404
            assert client.get(reverse("customers:edit", args=[customer.pk])).status_code == 404
            assert client.post(reverse("customers:relation_add", args=[customer.pk]),
                               {"kind": "friend", "related_phone": book.own.phone}).status_code == 404


@pytest.mark.parametrize("role", EXPECTED)
def test_api_list_and_detail(world_a, book, role, api_client_for):
    client = api_client_for(getattr(world_a, role))
    res = client.get("/api/v1/customers/")
    assert res.status_code == 200
    assert {row["id"] for row in res.json()["results"]} == expected_pks(book, role)
    for name in NAMES:
        customer = getattr(book, name)
        status = 200 if name in EXPECTED[role] else 404
        assert client.get(f"/api/v1/customers/{customer.pk}/").status_code == status
        assert client.get(f"/api/v1/customers/{customer.pk}/relations/").status_code == status
        if status == 404:
            res = client.patch(f"/api/v1/customers/{customer.pk}/", {"name": "x"}, format="json")
            assert res.status_code in (403, 404)  # finance is refused before the lookup


def test_other_tenant_gets_404_and_nothing_changes(world_a, world_b, book, client_for, api_client_for):
    c = book.own
    for staff in (world_b.admin, world_b.sales):
        web, api = client_for(staff), api_client_for(staff)
        assert web.get(reverse("customers:detail", args=[c.pk])).status_code == 404
        assert web.post(reverse("customers:edit", args=[c.pk]),
                        {"name": "hacked", "phone": c.phone, "source": "walk_in"}).status_code == 404
        assert api.get(f"/api/v1/customers/{c.pk}/").status_code == 404
        assert api.patch(f"/api/v1/customers/{c.pk}/", {"name": "hacked"},
                         format="json").status_code == 404
        assert api.delete(f"/api/v1/customers/{c.pk}/").status_code == 404
        assert api.get("/api/v1/customers/").json()["count"] == 0
    with world_a.context():
        c.refresh_from_db()
    assert c.name == "张三"


def test_finance_reads_but_cannot_write(world_a, book, client_for, api_client_for):
    web, api = client_for(world_a.finance), api_client_for(world_a.finance)
    assert web.get(reverse("customers:create")).status_code == 403
    assert web.post(reverse("customers:create"), {"name": "x", "phone": "13800138000",
                                                  "source": "walk_in"}).status_code == 403
    assert web.get(reverse("customers:edit", args=[book.own.pk])).status_code == 403
    assert web.post(reverse("customers:relation_add", args=[book.own.pk]),
                    {"kind": "friend", "related_phone": book.own2.phone}).status_code == 403
    detail = web.get(reverse("customers:detail", args=[book.own.pk])).content.decode()
    assert reverse("customers:edit", args=[book.own.pk]) not in detail
    assert api.post("/api/v1/customers/", {"name": "x", "phone": "13800138000"},
                    format="json").status_code == 403
    assert api.patch(f"/api/v1/customers/{book.own.pk}/", {"name": "x"},
                     format="json").status_code == 403
    assert api.post(f"/api/v1/customers/{book.own.pk}/relations/",
                    {"related_id": book.own2.pk, "kind": "friend"}, format="json").status_code == 403


def test_anonymous_is_sent_to_login_or_refused(db, client):
    assert client.get(reverse("customers:list")).status_code == 302
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/customers/").status_code in (401, 403)
