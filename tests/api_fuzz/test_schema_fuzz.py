"""API fuzzing (issue 10, item 2): schemathesis generates requests from the OpenAPI schema of
`/api/schema/` for every operation and sends them, in-process through the WSGI app, as a
member of each role of a tenant; every response must be free of server errors and match the
schema (status code's body schema and content type). See docs/api-fuzzing.md.

The schema is generated in-process by drf-spectacular (exactly what `/api/schema/` serves),
so the collection needs no database; the requests run against the test database, inside
the savepoint pytest-django opens for each test."""

from __future__ import annotations

import json
import os
import re

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from apps.tenancy.services import auth_token_issue
from tests.conftest import TenantWorld
from tests.isolation.conftest import Isolation
from tests.isolation.data import populate
from tests.isolation.routes import discover

# Bounds: reproducible (fixed seed, derandomized) and small enough for `make test`;
# FUZZ_MAX_EXAMPLES=50 for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "3"))
CONFIG = schemathesis.Config.from_dict({
    "seed": 20261207,
    "generation": {"mode": "positive", "max-examples": MAX_EXAMPLES, "deterministic": True,
                   "database": "none"},
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
})
ROLES = ("admin", "manager", "sales", "cs", "finance")
# Reads as every role; writes as the two roles that may do the most (the others mostly get
# their 403 at the permission check, which the isolation matrix already asserts).
WRITE_ROLES = ("admin", "sales")
# Signing out deletes the token the rest of the test uses; obtaining a token is throttled per
# address (tests/test_api_throttling.py): neither says anything under random input.
EXCLUDED = {("POST", "/api/v1/auth/logout/"), ("POST", "/api/v1/auth/token/")}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _schema():
    # Rendered and parsed back, exactly the JSON `/api/schema/` serves (lazy strings resolved).
    raw = json.loads(OpenApiJsonRenderer().render(
        SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw, config=CONFIG)
    loaded.app = get_wsgi_application()
    return loaded.exclude(
        func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in EXCLUDED)


schema = _schema()


def _id_kinds() -> dict[str, tuple[str | None, ...]]:
    """Schema path -> the kind of object each of its path parameters names (from the URLconf,
    as the isolation matrix reads it), so examples can address the tenant's real objects."""
    out = {}
    for route in discover():
        if route.kind == "api" and route.params:
            out[re.sub(r"%\((\w+)\)s", "{}", route.fmt)] = route.object_kinds
    return out


ID_KINDS = _id_kinds()


class FuzzWorld:
    """A tenant with a member of every role and one row of every model, and their tokens."""

    def __init__(self):
        self.world = TenantWorld("tenant-a", "甲家居")
        self.ids = Isolation._ids(self.world, populate(self.world))
        members = {"admin": self.world.admin, "manager": self.world.manager,
                   "sales": self.world.sales, "cs": self.world.cs,
                   "finance": self.world.finance}
        self.tokens = {role: auth_token_issue(staff=m) for role, m in members.items()}

    def fill_path(self, case) -> None:
        """An integer id the generator chose -> the id of the tenant's object of that kind (a
        random id only ever reaches the 404 of the lookup)."""
        kinds = ID_KINDS.get(re.sub(r"\{\w+\}", "{}", case.operation.path), ())
        names = re.findall(r"\{(\w+)\}", case.operation.path)
        for name, kind in zip(names, kinds, strict=False):
            if kind in self.ids and isinstance((case.path_parameters or {}).get(name), int):
                case.path_parameters[name] = self.ids[kind]


@pytest.fixture(scope="module")
def _keep_connection():
    """The WSGI handler closes the database connection at the end of every request, which
    would end the test's transaction; Django's test client turns that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def _fuzz_world(django_db_setup, django_db_blocker, _keep_connection):
    """Built once per module inside an outer transaction that is rolled back at the end; each
    test runs in its own savepoint (pytest-django's `db`), so no write leaks between tests."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            world = FuzzWorld()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


FUZZ_SETTINGS = hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                                    database=None,
                                    suppress_health_check=list(hypothesis.HealthCheck))


def _call(case, role, world) -> None:
    world.fill_path(case)
    case.call_and_validate(headers={"Authorization": f"Token {world.tokens[role]}"},
                           checks=CHECKS)


@pytest.mark.parametrize("role", ROLES)
@schema.include(method="GET").parametrize()
@FUZZ_SETTINGS
def test_api_read(case, role, db, _fuzz_world):
    _call(case, role, _fuzz_world)


@pytest.mark.parametrize("role", WRITE_ROLES)
@schema.exclude(method="GET").parametrize()
@FUZZ_SETTINGS
def test_api_write(case, role, db, _fuzz_world):
    """Writes as admin and sales (every write path the other roles reach is one of theirs,
    refused earlier; tests/isolation/test_role_matrix.py covers who may write what)."""
    _call(case, role, _fuzz_world)
