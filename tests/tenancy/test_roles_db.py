"""The application connects as a restricted role that row-level security applies to."""

import pytest
from django.db import DatabaseError, connection, transaction

from apps.tenancy.db_roles import role_problems

pytestmark = pytest.mark.django_db


def test_app_role_is_not_superuser_owner_or_bypassrls():
    assert role_problems("default") == []
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles "
                    "WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False)


def test_app_role_cannot_disable_rls():
    with pytest.raises(DatabaseError, match="must be owner"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("ALTER TABLE tenancy_team DISABLE ROW LEVEL SECURITY")


def test_app_role_cannot_switch_to_owner():
    from django.conf import settings

    owner = settings.DATABASES["owner"]["USER"]
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f'SET ROLE "{owner}"')


def test_app_role_cannot_truncate():
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("TRUNCATE tenancy_staff CASCADE")


@pytest.mark.django_db(databases=["default", "owner"])
def test_production_refuses_to_start_as_the_table_owner():
    """What the WSGI app, the worker and beat run at start with PRODUCTION=true."""
    from django.core.exceptions import ImproperlyConfigured

    from apps.tenancy.db_roles import enforce_app_role

    enforce_app_role("default")  # the restricted role passes
    assert "connects as the owner of the tables" in role_problems("owner")
    with pytest.raises(ImproperlyConfigured, match="owner of the tables"):
        enforce_app_role("owner")


def test_check_db_roles_command_passes_for_the_app_role():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("check_db_roles", stdout=out)
    assert "ok" in out.getvalue()
