"""The cross-tenant matrix: every page and API route that takes an object id, every method, every
role of tenant B, aimed at tenant A's objects. Expected: 404, no trace of A in the body, and A's
data unchanged.

Routes are discovered from the URLconf at collection time (tests/isolation/routes.py), so a route
added later is in the matrix without anyone editing this file; a kwarg the discovery does not
understand fails its cases loudly instead of being skipped.

The answer is 404 whatever the role: the base view classes look the object up in the tenant
before any role check (a role may be refused with 403 only for objects of its own tenant), so a
refusal never tells whether an id exists in another tenant.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.urls import resolve
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.tenancy.context import tenant_context
from apps.tenancy.models import TenantModel

from .conftest import MISSING_ID
from .data import tenant_models
from .routes import MODEL_KINDS, collection_routes, object_routes

ROLES = ("admin", "manager", "sales", "cs", "finance")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

ROUTES = object_routes()
COLLECTIONS = collection_routes()
CASES = [pytest.param(route, method, role, id=f"{route.label}-{method}-{role}")
         for route in ROUTES for method in METHODS for role in ROLES]

# Minimum object routes the discovery must find; fewer means the matrix went blind.
MIN_CUSTOMER_HTML_ROUTES = 3   # detail, edit, relations...
MIN_CUSTOMER_API_ROUTES = 1    # /api/v1/customers/<pk>/
MIN_TENANCY_HTML_ROUTES = 2    # team and staff pages

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def assert_no_secrets(response, secrets, context: str) -> None:
    body = _body(response)
    leaked = [s for s in secrets if s and s in body]
    assert not leaked, f"{context}: tenant A's data in the response: {leaked}"


def _payload(ids: dict[str, int]) -> dict:
    """A plausible write: valid-looking fields, every foreign key pointing at `ids`."""
    return {"name": "PWNED", "phone": "13600000001", "notes": "PWNED", "reason": "PWNED",
            "kind": "friend", "active": "false", "roles": ["admin"], "base_salary": "1",
            "username": "pwned-user", "password1": "Pwned-pass-123", "password2": "Pwned-pass-123",
            "owner": ids["staff"], "team": ids["team"], "related": ids["customer"],
            "customer": ids["customer"], "staff": ids["staff"], "user": ids["user"]}


def send(client, route_kind: str, method: str, url: str, data: dict | None = None):
    if method == "GET":
        return client.get(url)
    data = data if data is not None else {}
    if route_kind == "api":
        return client.generic(method, url, json.dumps(data), content_type="application/json")
    if method == "POST":
        return client.post(url, data)
    return client.generic(method, url, urlencode(data, doseq=True),
                          content_type="application/x-www-form-urlencoded")


def _client(route_kind, staff, client_for, api_client_for):
    return (api_client_for if route_kind == "api" else client_for)(staff)


# --------------------------------------------------------------------------- discovery


def test_discovery_finds_the_object_routes():
    html_customers = [r for r in ROUTES if r.kind == "html" and r.template.startswith("customers/")]
    api_customers = [r for r in ROUTES if r.kind == "api" and "customer" in r.object_kinds]
    html_tenancy = [r for r in ROUTES if r.kind == "html" and r.namespace == "tenancy"]
    found = sorted(r.label for r in ROUTES)
    assert len(html_customers) >= MIN_CUSTOMER_HTML_ROUTES, found
    assert len(api_customers) >= MIN_CUSTOMER_API_ROUTES, found
    assert len(html_tenancy) >= MIN_TENANCY_HTML_ROUTES, found
    assert len(CASES) == len(ROUTES) * len(METHODS) * len(ROLES) > 0


def test_the_snapshot_sees_any_change_of_a_row(iso, world_a):
    """The check every case ends with: a changed value, a new row or a changed user is seen;
    a notification read by its own recipient is not a change."""
    from apps.customers.models import Customer
    from apps.notifications.models import Notification
    from apps.tenancy.models import User

    from .data import snapshot

    with tenant_context(world_a.tenant):
        Notification.objects.filter(pk=iso.a.notification.pk).update(read_at=iso.a.deal.created_at)
    assert snapshot(world_a) == iso.before
    with tenant_context(world_a.tenant):
        Customer.objects.filter(pk=iso.a.customer.pk).update(name="改过")
        User.objects.filter(pk=world_a.sales.user_id).update(first_name="changed")
    after = snapshot(world_a)
    changed = {k for k in iso.before if iso.before[k] != after[k]}
    assert changed == {"customers.Customer", "tenancy.User"}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.label)
def test_route_kwargs_are_understood(route):
    unknown = [p for p, k in zip(route.params, route.object_kinds, strict=True) if k is None]
    assert not unknown, (f"{route.label}: URL kwargs {unknown} name no known object; extend "
                         "TOKEN_KINDS / MODEL_KINDS in tests/isolation/routes.py")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.label)
def test_route_reaches_the_object_for_its_own_tenant(iso, world_a, client_for, api_client_for,
                                                     route):
    """Control for the matrix: with A's own users, A's ids are found (not 404) by some role, so
    B's 404s below come from isolation and not from a wrongly built URL."""
    url = route.url(iso.values(route))
    assert resolve(url).func is route.callback, url
    statuses = {}
    for role in ROLES:
        client = _client(route.kind, getattr(world_a, role), client_for, api_client_for)
        statuses[role] = send(client, route.kind, "GET", url).status_code
    assert any(s != 404 and s < 500 for s in statuses.values()), f"{url}: {statuses}"
    iso.assert_a_unchanged(route.label)


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize(("route", "method", "role"), CASES)
def test_tenant_b_cannot_reach_tenant_a_object(iso, world_b, client_for, api_client_for,
                                               route, method, role):
    context = f"{method} {route.label} as tenant B's {role}"
    client = _client(route.kind, getattr(world_b, role), client_for, api_client_for)
    url = route.url(iso.values(route))
    response = send(client, route.kind, method, url, _payload(iso.ids))
    assert response.status_code == 404, f"{context} -> {response.status_code} for A's object ({url})"
    assert_no_secrets(response, iso.secrets, context)
    iso.assert_a_unchanged(context)


# --------------------------------------------------------------------------- collections


def _customer_searches(iso):
    """(query, term): search A's customer by phone, last four digits, name and ID number."""
    c = iso.a.customer
    for term in (c.phone, c.phone[-4:], c.name, c.id_number):
        for key in ("search", "q"):
            yield {key: term}, term


@pytest.mark.parametrize("route", COLLECTIONS, ids=lambda r: r.label)
def test_collection_as_tenant_b_shows_nothing_of_a(iso, world_b, client_for, api_client_for,
                                                    route):
    """Every page and endpoint without kwargs (lists, dashboards, exports, the API collections),
    as each of B's roles; customer lists also searched for A's customer."""
    a_urls = [r.url(iso.values(r)) for r in ROUTES if r.kind == "html"
              and all(k is not None for k in r.object_kinds)]
    a_customer_ids = {c.pk for c in iso.a.customers}
    for role in ROLES:
        client = _client(route.kind, getattr(world_b, role), client_for, api_client_for)
        url = route.url({})
        response = send(client, route.kind, "GET", url)
        assert response.status_code < 500
        assert_no_secrets(response, [*iso.secrets, *a_urls], f"GET {url} as B's {role}")
        if "customer" not in route.template:
            continue
        for query, term in _customer_searches(iso):
            response = client.get(url, query)
            context = f"GET {url}?{urlencode(query)} as B's {role}"
            assert response.status_code < 500, context
            # The searched term may be echoed in the search box; everything else must be absent.
            assert_no_secrets(response, [s for s in [*iso.secrets, *a_urls] if term not in s],
                              context)
            if route.kind == "api" and response.status_code == 200:
                data = response.json()
                rows = data.get("results", data) if isinstance(data, dict) else data
                assert not {r.get("id") for r in rows} & a_customer_ids, context
    iso.assert_a_unchanged(route.label)


def test_customer_lists_are_discovered():
    templates = {r.template for r in COLLECTIONS}
    assert "customers/" in templates
    assert any(r.kind == "api" and "customers" in r.template for r in COLLECTIONS), templates


# --------------------------------------------------------------------------- foreign keys


def _cross_tenant_references(world, foreign_ids_by_model) -> list[str]:
    """Rows of `world` whose foreign keys point at another tenant's rows."""
    found = []
    with tenant_context(world.tenant):
        for model in tenant_models():
            for field in model._meta.concrete_fields:
                target = getattr(field, "related_model", None)
                if not field.is_relation or target is None or not issubclass(target, TenantModel):
                    continue
                bad = foreign_ids_by_model.get(target._meta.label, set())
                rows = model.unscoped_objects.filter(tenant_id=world.tenant.pk)
                hits = rows.filter(**{f"{field.attname}__in": bad}).count() if bad else 0
                if hits:
                    found.append(f"{model._meta.label}.{field.name} -> {target._meta.label}")
    return found


def test_tenant_b_cannot_attach_tenant_a_objects_to_its_own(iso, world_a, world_b, client_for,
                                                           api_client_for):
    """POST/PUT/PATCH every route with B's own ids in the URL but A's ids in the body (owner, team,
    related customer...). RLS cannot catch this (B's row, A's id in a column), layer 1 must."""
    routes = [*COLLECTIONS, *(r for r in ROUTES if all(k is not None for k in r.object_kinds))]
    payload = _payload(iso.ids)
    for route in routes:
        url = route.url(iso.values(route, ids=iso.b_ids))
        for role in ("admin", "manager", "sales"):
            client = _client(route.kind, getattr(world_b, role), client_for, api_client_for)
            for method in ("POST", "PUT", "PATCH"):
                response = send(client, route.kind, method, url, dict(payload))
                assert response.status_code < 500, f"{method} {url} as B's {role}"
    with tenant_context(world_a.tenant):
        a_ids = {m._meta.label: set(m.unscoped_objects.filter(tenant_id=world_a.tenant.pk)
                                    .values_list("pk", flat=True)) for m in tenant_models()}
    assert _cross_tenant_references(world_b, a_ids) == []
    iso.assert_a_unchanged("foreign-key injection")


# --------------------------------------------------------------------------- Django admin


def _admin_targets(iso):
    for model in admin.site._registry:
        if issubclass(model, TenantModel):
            kind = MODEL_KINDS.get(model._meta.label)
            assert kind in iso.ids, f"admin model {model._meta.label}: add it to MODEL_KINDS"
            yield model, iso.ids[kind]


def test_django_admin_as_tenant_b_admin_shows_nothing_of_a(iso, world_a, world_b, client_for):
    client = client_for(world_b.admin)
    assert client.get("/admin/").status_code == 200  # B's admin is let into the admin
    targets = list(_admin_targets(iso))
    assert {m._meta.label for m, _ in targets} >= {"tenancy.Staff", "tenancy.Team"}
    # (url, the admin prefix of A's object: where B must never end up)
    urls = [(f"/admin/customers/customer/{iso.ids['customer']}/change/",
             f"/admin/customers/customer/{iso.ids['customer']}/"),
            (f"/admin/tenancy/staff/{iso.ids['staff']}/change/",
             f"/admin/tenancy/staff/{iso.ids['staff']}/")]
    for model, pk in targets:
        prefix = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{pk}/"
        urls += [(prefix + suffix, prefix) for suffix in ("change/", "history/", "delete/", "")]
    def request(method, url):
        if method == "GET":
            return client.get(url, follow=True)
        return client.post(url, {"name": "PWNED", "post": "yes"}, follow=True)

    for url, prefix in urls:
        for method in ("GET", "POST"):
            response = request(method, url)
            context = f"{method} {url} as B's admin"
            final = response.redirect_chain[-1][0] if response.redirect_chain else url
            if response.status_code == 403:  # read-only admins refuse POST before the lookup
                probe = request(method, url.replace(prefix, f"{prefix.rsplit('/', 2)[0]}/{MISSING_ID}/"))
                assert probe.status_code == 403, f"{context}: 403, but {probe.status_code} if missing"
            elif response.status_code != 404:  # else: redirected away (to the admin index)
                assert response.status_code == 200 and response.redirect_chain, context
                assert not final.startswith(prefix), f"{context}: ended on {final}"
            assert_no_secrets(response, iso.secrets, context)
    for model, _pk in targets:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client.get(base)
        assert_no_secrets(response, iso.secrets, f"GET {base}")
        for query, term in _customer_searches(iso):
            response = client.get(base, query)
            assert_no_secrets(response, [s for s in iso.secrets if term not in s],
                              f"GET {base}?{urlencode(query)}")
    iso.assert_a_unchanged("Django admin")


# --------------------------------------------------------------------------- API tokens


def _token_for(staff) -> str:
    client = APIClient()
    response = client.post("/api/v1/auth/token/",
                           {"username": staff.user.username, "password": "pw-for-tests-123"},
                           format="json")
    if response.status_code == 200:
        return response.json()["token"]
    return Token.objects.get_or_create(user=staff.user)[0].key


def test_api_token_of_tenant_b_cannot_read_tenant_a(iso, world_b):
    api_routes = [r for r in ROUTES if r.kind == "api"]
    assert api_routes
    for role in ROLES:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {_token_for(getattr(world_b, role))}")
        me = client.get("/api/v1/me/")
        assert me.status_code == 200 and me.json(), "token authentication does not work"
        assert_no_secrets(me, iso.secrets, "GET /api/v1/me/")
        for route in api_routes:
            url = route.url(iso.values(route))
            for method in METHODS:
                response = send(client, "api", method, url, _payload(iso.ids))
                context = f"{method} {url} with B's {role} token"
                assert response.status_code == 404, f"{context} -> {response.status_code}"
                assert_no_secrets(response, iso.secrets, context)
        for route in (r for r in COLLECTIONS if r.kind == "api"):
            response = client.get(route.url({}))
            assert_no_secrets(response, iso.secrets, f"GET {route.template} with B's {role} token")
            if "customer" in route.template:
                for query, term in _customer_searches(iso):
                    response = client.get(route.url({}), query)
                    assert_no_secrets(response, [s for s in iso.secrets if term not in s],
                                      f"GET {route.template}?{urlencode(query)} with a token")
    iso.assert_a_unchanged("API tokens")
