"""Search, filters, ordering and pagination of the customer list (HTML and API)."""

import pytest
from django.urls import reverse

from apps.customers.models import Customer
from apps.customers.selectors import customer_list

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf(world_a):
    """Five customers with distinct names, phones, sources, grades and tags."""
    t, w = world_a.tenant, world_a
    return {
        "alice": CustomerFactory(tenant=t, actor=w.sales, name="Alice 王", phone="13811112222",
                                 source="referral", grade="A", tags=["VIP", "新房"]),
        "bob": CustomerFactory(tenant=t, actor=w.sales, name="Bob 李", phone="13933332222",
                               source="online", grade="B", tags=["VIP"]),
        "carol": CustomerFactory(tenant=t, actor=w.sales2, name="Carol 王", phone="13755556666",
                                 source="referral", grade="B"),
        "dave": CustomerFactory(tenant=t, actor=w.sales_other_team, name="Dave", phone="13677778888"),
        "erin": CustomerFactory(tenant=t, actor=w.cs, name="Erin", phone="15000002222", tags=["新房"]),
    }


def names(staff, world, **filters):
    with world.context():
        return [c.name.split()[0] for c in customer_list(staff, filters)]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, ["Erin", "Dave", "Carol", "Bob", "Alice"]),                        # newest first
    ({"search": "2222"}, ["Erin", "Bob", "Alice"]),                         # last four digits
    ({"search": "+86 138-1111-2222"}, ["Alice"]),                           # a mobile: exact
    ({"search": "13811112223"}, []),
    ({"search": "王"}, ["Carol", "Alice"]),                                  # name
    ({"search": "alice"}, ["Alice"]),
    ({"search": "1111"}, []),                                               # not the last four
    ({"source": "referral"}, ["Carol", "Alice"]),
    ({"grade": "B"}, ["Carol", "Bob"]),
    ({"tag": "VIP"}, ["Bob", "Alice"]),
    ({"tag": "新房", "ordering": "name"}, ["Alice", "Erin"]),
    ({"ordering": "name"}, ["Alice", "Bob", "Carol", "Dave", "Erin"]),
    ({"ordering": "-name"}, ["Erin", "Dave", "Carol", "Bob", "Alice"]),
    ({"ordering": "created_at"}, ["Alice", "Bob", "Carol", "Dave", "Erin"]),
    ({"source": "referral", "grade": "B", "search": "王"}, ["Carol"]),
])
def test_search_filters_ordering(world_a, shelf, filters, expected):
    assert names(world_a.admin, world_a, **filters) == expected


def test_owner_and_team_filters(world_a, shelf):
    assert names(world_a.admin, world_a, owner=str(world_a.sales.pk)) == ["Bob", "Alice"]
    assert names(world_a.admin, world_a, team=world_a.team2.pk) == ["Dave"]
    # Filters narrow what one sees, never widen it.
    assert names(world_a.sales, world_a, owner=world_a.sales2.pk) == []


def test_last_four_search_uses_the_stored_last_four_column(world_a, shelf):
    with world_a.context():
        sql = str(customer_list(world_a.admin, {"search": "2222"}).query)
    assert '"customers_customer"."phone_last4" = 2222' in sql


@pytest.mark.parametrize(("param", "value"), [
    ("owner", "999999"), ("owner", "abc"), ("team", "999999"), ("source", "tv"), ("grade", "Z"),
    ("ordering", "phone"), ("tag", "t" * 21),
])
def test_unknown_filter_value_is_a_400_field_error(world_a, shelf, api_client_for, client_for,
                                                   param, value):
    res = api_client_for(world_a.admin).get("/api/v1/customers/", {param: value})
    assert res.status_code == 400
    error = res.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [param]
    page = client_for(world_a.admin).get(reverse("customers:list"), {param: value})
    assert page.status_code == 400
    assert "alert-danger" in page.content.decode()


def test_owner_of_another_tenant_is_unknown(world_a, world_b, shelf, api_client_for):
    res = api_client_for(world_a.admin).get("/api/v1/customers/", {"owner": world_b.sales.pk})
    assert res.status_code == 400 and list(res.json()["error"]["fields"]) == ["owner"]


def test_api_filters_and_pagination(world_a, shelf, api_client_for):
    api = api_client_for(world_a.admin)
    res = api.get("/api/v1/customers/", {"search": "2222", "ordering": "name", "page_size": 2})
    body = res.json()
    assert body["count"] == 3 and [r["name"] for r in body["results"]] == ["Alice 王", "Bob 李"]
    res = api.get("/api/v1/customers/", {"search": "2222", "ordering": "name", "page_size": 2,
                                         "page": 2})
    assert [r["name"] for r in res.json()["results"]] == ["Erin"]
    res = api.get("/api/v1/customers/", {"page_size": 2, "page": 4})
    assert res.status_code == 400 and list(res.json()["error"]["fields"]) == ["page"]


def test_html_pagination_past_the_end_shows_the_last_page(world_a, client_for):
    for _ in range(27):
        CustomerFactory(tenant=world_a.tenant, actor=world_a.sales)
    client = client_for(world_a.sales)
    first = client.get(reverse("customers:list"), {"ordering": "name"})
    assert first.status_code == 200 and len(first.context["customers"]) == 25
    last = client.get(reverse("customers:list"), {"ordering": "name", "page": 99})
    assert last.status_code == 200
    assert last.context["page"].number == 2 and len(last.context["customers"]) == 2
    assert 'href="?ordering=name&amp;page=2"' in first.content.decode()  # filters kept


def test_htmx_search_returns_only_the_table(world_a, shelf, client_for):
    res = client_for(world_a.admin).get(reverse("customers:list"), {"search": "王"},
                                        headers={"HX-Request": "true"})
    body = res.content.decode()
    assert res.status_code == 200
    assert "<table" in body and "<form" not in body and "<html" not in body
    assert "Alice" in body and "Carol" in body and "Bob" not in body
    assert "HX-Request" in res["Vary"]  # no cache hands the fragment out for the full page
    full = client_for(world_a.admin).get(reverse("customers:list")).content.decode()
    assert 'hx-get="/customers/"' in full and 'hx-push-url="true"' in full


@pytest.fixture
def many(world_a):
    for i in range(30):
        CustomerFactory(tenant=world_a.tenant, actor=world_a.admin,
                        owner=[world_a.sales, world_a.sales2, world_a.sales_other_team][i % 3],
                        tags=["VIP"])
    with world_a.context():
        assert Customer.objects.count() == 30


def test_api_list_query_budget(world_a, many, api_client_for, django_assert_max_num_queries):
    api = api_client_for(world_a.admin)
    with django_assert_max_num_queries(10):
        res = api.get("/api/v1/customers/")
    assert len(res.json()["results"]) == 25
    assert all(r["owner"]["name"] and r["team"]["name"] for r in res.json()["results"])


def test_html_list_query_budget(world_a, many, client_for, django_assert_max_num_queries):
    client = client_for(world_a.admin)
    with django_assert_max_num_queries(11):  # the API's budget + the header's unread badge
        res = client.get(reverse("customers:list"))
    assert len(res.context["customers"]) == 25
