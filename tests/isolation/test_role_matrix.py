"""The role matrix: every page and API route, every method, every role of the SAME tenant.

The expected access is declared in one table, tests/isolation/permissions.py (route name ->
{method: roles allowed}). A role not allowed gets 403 or 404 and changes nothing (the tenant's
snapshot, tests/isolation/data.py); a role allowed is not refused (no 403/404/405 on its own
tenant's objects: a 400 for a bare form is fine). Routes are discovered from the URLconf
(tests/isolation/routes.py) and the API routes are checked against the OpenAPI schema, so a
route added later fails here until it is declared in the table.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.conf import settings
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.conftest import TenantWorld

from .conftest import Isolation, built_once
from .permissions import DJANGO_ADMIN_PREFIX, DJANGO_ADMIN_ROLES, PERMISSIONS, SKIPPED
from .routes import Route, discover
from .test_cross_tenant_matrix import METHODS, ROLES, _payload, send

pytestmark = pytest.mark.django_db

# Everything but the Django admin (declared per prefix in the table, tested below).
ALL_ROUTES = discover(skip=("admin/",))
KEYED = {f"{r.namespace}:{r.name}" if r.namespace else r.name: r for r in ALL_ROUTES}
ROUTES = [r for name, r in KEYED.items() if name not in SKIPPED]
REFUSED = (403, 404)
NOT_REFUSED_AS = (403, 404, 405)
# URL kwargs that name no database row: what the matrix puts in the URL.
TOKENS = {"key": lambda iso: str(uuid.uuid4())}
# Routes whose object is not a database row but an entry of the caller's own session (an
# upload in progress): a role allowed there gets 404 for the matrix's made-up key, never 403.
SESSION_OBJECTS = {"imports:customer_preview", "imports:customer_result",
                   "imports:customer_report"}


def route_name(route: Route) -> str:
    return f"{route.namespace}:{route.name}" if route.namespace else str(route.name)


def allowed_roles(route: Route, method: str) -> tuple[str, ...]:
    declared = PERMISSIONS.get(route_name(route), {})
    view = getattr(route.callback, "view_class", None)
    if method == "PUT" and route.kind == "html" and view is not None and hasattr(view, "put"):
        return declared.get("POST", ())  # ProcessFormView answers PUT as a bodiless POST
    return declared.get(method, ())


def declared_methods(route: Route) -> list[str]:
    return [m for m in METHODS if m in PERMISSIONS[route_name(route)]
            or (m == "PUT" and allowed_roles(route, m))]


def has_handler(route: Route, method: str) -> bool:
    """Whether the view has code for `method` (a viewset's action, a view's method); a
    function view may answer any method."""
    callback, name = route.callback, method.lower()
    actions = getattr(callback, "actions", None)
    if actions is not None:
        return name in actions
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None:
        return True
    return hasattr(view, name) and name in view.http_method_names


def roles_refused(route: Route, method: str) -> list[str]:
    """Every role the table does not allow. For a method the view has no code for, Django
    and DRF answer 405 (or the role gate 403) whoever asks: one role that passes the route's
    role gate probes it, which keeps the matrix fast."""
    allowed = allowed_roles(route, method)
    refused = [r for r in ROLES if r not in allowed]
    if method in declared_methods(route) or has_handler(route, method):
        return refused
    gate = [r for m in declared_methods(route) for r in allowed_roles(route, m)]
    return [gate[0] if gate else ROLES[0]]


# One case per route and declared method (each role of the tenant in turn), and one per route
# for the methods it does not declare: every role there must be refused. (A case per role too
# would be ~7 000 tests; the setup of each costs more than its requests.)
CASES = [pytest.param(route, (method,), id=f"{route_name(route)}-{method}")
         for route in ROUTES for method in declared_methods(route)]
CASES += [pytest.param(route, tuple(m for m in METHODS if m not in declared_methods(route)),
                       id=f"{route_name(route)}-other-methods")
          for route in ROUTES if len(declared_methods(route)) < len(METHODS)]


@pytest.fixture(scope="module")
def _isolation_data(django_db_setup, django_db_blocker, _isolation_media):
    """Tenant A alone (conftest's builds B too, which nothing here uses)."""
    yield from built_once(django_db_blocker,
                          lambda: Isolation(TenantWorld("tenant-a", "甲家居")))


@pytest.fixture(scope="module")
def clients(_isolation_data, django_db_blocker):
    """One signed-in client per role of tenant A, made once (inside the module's transaction)."""
    out = {}
    with django_db_blocker.unblock():
        for role in ROLES:
            out[role] = APIClient()
            out[role].force_login(getattr(_isolation_data.world_a, role).user)
    return out


def url_for(iso, route: Route) -> str:
    values = {}
    for param, kind in zip(route.params, route.object_kinds, strict=True):
        if kind is not None:
            values[param] = iso.ids[kind]
        elif param in TOKENS:
            values[param] = TOKENS[param](iso)
        else:
            pytest.fail(f"{route.label}: cannot fill URL kwarg {param!r}; teach "
                        "tests/isolation/test_role_matrix.py TOKENS or routes.py what it names")
    return route.url(values)


# --------------------------------------------------------------------------- the table


def test_every_route_is_declared():
    unnamed = sorted(r.label for r in ALL_ROUTES if not r.name)
    assert not unnamed, f"routes without a name (the table keys routes by name): {unnamed}"
    assert len(KEYED) == len(ALL_ROUTES), "two routes share a name: the table cannot tell them apart"
    missing = sorted(set(KEYED) - set(PERMISSIONS) - set(SKIPPED))
    assert not missing, (f"routes with no entry in the role matrix: {missing}; add them to "
                         "tests/isolation/permissions.py (route name -> {method: roles})")


def test_the_table_names_only_existing_routes_methods_and_roles():
    stale = sorted((set(PERMISSIONS) | set(SKIPPED)) - set(KEYED))
    assert not stale, f"tests/isolation/permissions.py names routes that no longer exist: {stale}"
    assert not set(PERMISSIONS) & set(SKIPPED)
    for name, entry in PERMISSIONS.items():
        assert set(entry) <= set(METHODS), name
        for method, roles in entry.items():
            assert set(roles) <= set(ROLES), f"{name} {method}: {roles}"


def _schema_operations() -> dict[str, set[str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {re.sub(r"\{[^}]+\}", "{}", path): {m.upper() for m in ops if m.upper() in METHODS}
            for path, ops in schema["paths"].items()}


def test_api_routes_are_the_openapi_schema_paths_with_the_declared_methods():
    """The URLconf and the schema list the same API paths; the methods the table declares for
    a path are those the schema documents (a documented method nobody may use, or a usable
    method left out of the schema, fails)."""
    schema = _schema_operations()
    routes = {"/" + re.sub(r"<\w+>", "{}", r.template): r for r in ALL_ROUTES if r.kind == "api"}
    assert sorted(set(schema) - set(routes)) == [], "in the OpenAPI schema, not in the URLconf"
    assert sorted(set(routes) - set(schema)) == [], "in the URLconf, not in the OpenAPI schema"
    wrong = {}
    for path, route in routes.items():
        name = route_name(route)
        declared = set(PERMISSIONS.get(name, {}))
        if name not in SKIPPED and declared != schema[path]:
            wrong[name] = {"table": sorted(declared), "schema": sorted(schema[path])}
    assert not wrong, wrong


# --------------------------------------------------------------------------- the matrix


def plausible_payload(iso) -> dict:
    """A write that would pass the usual validation, so a refusal is the role check's: the
    cross-tenant matrix's payload (A's own ids here) plus the fields the actions ask for."""
    return {**_payload(iso.ids), "hours": "1", "amount": "100.00", "percent": "50",
            "note": "PWNED", "outcome": "owner", "status": "away", "points": "10",
            "decision": "approve", "month": "2026-01"}


@pytest.mark.parametrize(("route", "methods"), CASES)
def test_role_matrix(iso, clients, route, methods):
    """The roles the table refuses first (each with a plausible write; then the tenant's data
    must be unchanged), then the roles it allows (each with an empty body: not refused)."""
    url = url_for(iso, route)
    name = route_name(route)
    problems = []
    for method in methods:
        expected = REFUSED if method in PERMISSIONS[name] else (*REFUSED, 405)
        for role in roles_refused(route, method):
            status = send(clients[role], route.kind, method, url, plausible_payload(iso)).status_code
            if status not in expected:
                problems.append(f"{method} {url} as {role} -> {status}, expected one of "
                                f"{expected} (the role is not declared for it)")
    iso.assert_a_unchanged(f"{'/'.join(methods)} {url} ({name}) by the roles refused")
    refused_as = (403, 405) if name in SESSION_OBJECTS else NOT_REFUSED_AS
    for method in methods:
        for role in allowed_roles(route, method):
            with transaction.atomic():  # each role acts on the fixtures as they were
                status = send(clients[role], route.kind, method, url, {}).status_code
                transaction.set_rollback(True)
            if status in refused_as or status >= 500:
                problems.append(f"{method} {url} as {role} -> {status}, but the role is "
                                "declared for it")
    assert not problems, (f"{name}: the responses disagree with tests/isolation/permissions.py:"
                          "\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------- Django admin


def test_django_admin_lets_in_tenant_admins_only(iso, clients):
    change = f"{DJANGO_ADMIN_PREFIX}customers/customer/{iso.ids['customer']}/change/"
    login = settings.LOGIN_URL if settings.LOGIN_URL.startswith(DJANGO_ADMIN_PREFIX) else (
        f"{DJANGO_ADMIN_PREFIX}login/")
    for role in ROLES:
        client = clients[role]
        requests = [("GET", DJANGO_ADMIN_PREFIX), ("GET", change)]
        if role not in DJANGO_ADMIN_ROLES:  # an admin's POST would change the customer
            requests.append(("POST", change))
        for method, url in requests:
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, _payload(iso.ids))
            context = f"{method} {url} as tenant A's {role}"
            if role in DJANGO_ADMIN_ROLES:
                assert response.status_code in (200, 302), context
                if response.status_code == 302:
                    assert not response["Location"].startswith(login), context
                continue
            assert response.status_code == 302, f"{context} -> {response.status_code}"
            assert response["Location"].startswith(login), f"{context} -> {response['Location']}"
            iso.assert_a_unchanged(context)
