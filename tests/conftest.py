"""Shared fixtures: two tenants, staff of every role, logged-in clients.

The suite connects as the restricted application role (DATABASE_URL); the owner role only
creates and migrates the test database (see DATABASES["owner"]["TEST"] in settings)."""

import os
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create, team_create, tenant_create

os.environ.setdefault("TESTING", "true")


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # throttling counters and cached sessions must not leak between tests
    yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files (dispute evidence) go to a directory of the test, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


class TenantWorld:
    """One tenant with two teams and a member of every role (plus a second salesperson)."""

    def __init__(self, slug: str, name: str):
        self.tenant = tenant_create(name=name, slug=slug, industry=Tenant.Industry.HOME_FURNISHING)
        t = self.tenant
        self.team1 = team_create(tenant=t, actor=None, name="一组")
        self.team2 = team_create(tenant=t, actor=None, name="二组")
        mk = self.make_staff
        self.admin = mk("admin", [Role.ADMIN], None)
        self.manager = mk("manager", [Role.MANAGER], self.team1)
        self.sales = mk("sales", [Role.SALES], self.team1)
        self.sales2 = mk("sales2", [Role.SALES], self.team1)
        self.sales_other_team = mk("sales3", [Role.SALES], self.team2)
        self.cs = mk("cs", [Role.CUSTOMER_SERVICE], None)
        self.finance = mk("finance", [Role.FINANCE], None)

    def make_staff(self, suffix, roles, team, **kw):
        return staff_create(tenant=self.tenant, actor=None, username=f"{self.tenant.slug}-{suffix}",
                            password="pw-for-tests-123", name=f"{self.tenant.slug}{suffix}",
                            roles=roles, team=team, base_salary=Decimal("5000.00"), **kw)

    def context(self):
        return tenant_context(self.tenant)


@pytest.fixture
def world_a(db):
    return TenantWorld("tenant-a", "甲家居")


@pytest.fixture
def world_b(db):
    return TenantWorld("tenant-b", "乙教育")


def login(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def api_login(staff) -> APIClient:
    client = APIClient()
    client.force_login(staff.user)
    return client


@pytest.fixture
def client_for():
    return login


@pytest.fixture
def api_client_for():
    return api_login


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb,
                    django_db_modify_db_settings):
    """Set up `owner` too: pytest-django only sets up the aliases tests use (`default`), and
    `default` mirrors `owner`, so without this the suite runs on the dev database. Under
    pytest-xdist each worker gets its own database (django_db_modify_db_settings adds _gw0,
    _gw1, ... to the name)."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=0, interactive=False, keepdb=django_db_keepdb,
                                 aliases={"default", "owner"}, serialized_aliases=set())
    yield
    with django_db_blocker.unblock():
        from django.db import connections

        connections.close_all()  # the app role's connection to the test DB, before DROP
        teardown_databases(db_cfg, verbosity=0, keepdb=django_db_keepdb)
