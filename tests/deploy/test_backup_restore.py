"""scripts/backup.sh and scripts/restore.sh: a dump of the (test) database restored into a new
database has the same rows, the row-level security policies and the app role's grants.

The scripts connect as the local server's superuser (the owner cannot dump: FORCE row-level
security). Rows are committed (the `committed` marker) so pg_dump sees them."""

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from apps.customers.services import customer_create
from tests.concurrency import committed

ROOT = Path(__file__).resolve().parents[2]
SUPERUSER = os.environ.get("BACKUP_TEST_PGUSER", "postgres")
TABLES = ["tenancy_tenant", "tenancy_user", "tenancy_staff", "customers_customer",
          "core_auditentry"]

pytestmark = committed


def server(alias: str) -> tuple[str, str]:
    """(host or socket directory, port) of a database alias (the URL's ?host= lands in OPTIONS)."""
    d = connections[alias].settings_dict
    return d["HOST"] or d["OPTIONS"].get("host", ""), str(d["PORT"] or "5432")


def counts(conn) -> dict[str, int]:
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}


@pytest.fixture
def scratch(world_a):
    """(libpq environment, source database, scratch database name); drops the scratch one."""
    source = connections["owner"].settings_dict
    host, port = server("owner")
    env = {**os.environ, "PGHOST": host, "PGPORT": port, "PGUSER": SUPERUSER}
    env.pop("PGPASSWORD", None)
    try:
        admin = psycopg.connect(host=host, port=port, user=SUPERUSER, dbname="postgres",
                                autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no superuser connection to the test server ({exc}); set "
                    "BACKUP_TEST_PGUSER/PGPASSWORD for a server that is not the local one")
    name = f"{source['NAME']}_restored"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    yield env, source["NAME"], name
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_backup_and_restore_into_a_new_database(world_a, world_b, scratch, tmp_path):
    env, source, restored = scratch
    for i in range(3):
        customer_create(tenant=world_a.tenant, actor=world_a.sales, name=f"甲客户{i}",
                        phone=f"1380013800{i}")
    customer_create(tenant=world_b.tenant, actor=world_b.sales, name="乙客户", phone="13900139000")
    dump = tmp_path / "backup.dump"

    run = [subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
           for cmd in (["sh", "scripts/backup.sh", source, str(dump)],
                       ["sh", "scripts/restore.sh", str(dump), restored])]
    assert [r.returncode for r in run] == [0, 0], [r.stderr[-2000:] for r in run]
    assert dump.stat().st_size > 0

    dsn = {"host": env["PGHOST"], "port": env["PGPORT"], "user": env["PGUSER"]}
    with psycopg.connect(**dsn, dbname=source) as a, psycopg.connect(**dsn, dbname=restored) as b:
        before, after = counts(a), counts(b)
    assert after == before
    assert after["customers_customer"] == 4 and after["tenancy_tenant"] == 2

    # The restored database still protects the tenants: the app role sees no tenant rows
    # without a tenant, and only its tenant's with one.
    app = connections["default"].settings_dict
    host, port = server("default")
    with psycopg.connect(host=host, port=port, user=app["USER"], password=app["PASSWORD"],
                         dbname=restored) as conn:
        assert conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0] == 0
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(world_a.tenant.pk)])
        assert conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0] == 3


def test_restore_refuses_an_existing_database(scratch, tmp_path):
    env, source, _restored = scratch
    dump = tmp_path / "backup.dump"
    assert subprocess.run(["sh", "scripts/backup.sh", source, str(dump)], env=env, cwd=ROOT,
                          capture_output=True, timeout=120).returncode == 0
    result = subprocess.run(["sh", "scripts/restore.sh", str(dump), source], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"database {source} exists" in result.stderr


def test_backup_as_the_owner_fails_loudly_and_leaves_no_file(scratch, tmp_path):
    """The owner role cannot dump (FORCE row-level security): no half backup is left behind."""
    env, source, _restored = scratch
    owner = settings.DATABASES["owner"]
    dump = tmp_path / "backup.dump"
    result = subprocess.run(["sh", "scripts/backup.sh", source, str(dump)],
                            env={**env, "PGUSER": owner["USER"], "PGPASSWORD": owner["PASSWORD"]},
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "row-level security" in result.stderr
    assert not dump.exists() and not Path(f"{dump}.partial").exists()
