"""Layer 2: PostgreSQL row-level security, tested with raw SQL so the scoped managers are out of
the picture. Every test here must fail if a policy, ENABLE or FORCE goes missing."""

import json

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from apps.customers.models import Customer
from apps.tenancy.context import no_tenant, set_db_user, tenant_context
from apps.tenancy.models import Staff
from tests.isolation.data import populate, tenant_models, tenant_tables

pytestmark = pytest.mark.django_db

# Tables `populate` fills for each tenant: for these, seeing zero rows of A under B is only
# meaningful because A's rows are proven to exist (see `_rows_by_tenant`).
POPULATED = {"tenancy_team", "tenancy_staff", "customers_customer", "customers_customerrelation",
             "customers_teamcustomercount", "core_auditentry"}


@pytest.fixture
def two_tenants(world_a, world_b):
    return populate(world_a), populate(world_b)


def _rows_by_tenant(table: str) -> dict[int, int]:
    with connection.cursor() as cur:
        cur.execute(f'SELECT tenant_id, count(*) FROM "{table}" GROUP BY tenant_id')
        return dict(cur.fetchall())


def _current_setting(name: str):
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting(%s, true)", [name])
        return cur.fetchone()[0]


def test_suite_runs_on_the_test_database_built_by_migrations():
    """Everything below is only evidence if the database was just built by this checkout's
    migrations (policies included). pytest-django sets up only the aliases tests use
    (`default`), and `default` is a TEST MIRROR of `owner`: unless `owner` is set up too, the
    mirror keeps owner's real NAME and the suite silently runs on the development database."""
    expected = settings.DATABASES["owner"]["TEST"]["NAME"]
    assert connection.settings_dict["NAME"] == expected, (
        f"tests run on database {connection.settings_dict['NAME']!r}, not the test database "
        f"{expected!r}: set up the `owner` alias in django_db_setup (tests/conftest.py)")


def test_tenant_tables_are_discovered_and_match_the_models():
    tables = set(tenant_tables())
    assert POPULATED <= tables
    assert {m._meta.db_table for m in tenant_models()} == tables


def test_raw_select_star_on_customers_under_b_returns_no_row_of_a(world_a, world_b, two_tenants):
    a_data, b_data = two_tenants
    a_ids = {c.pk for c in a_data.customers}
    with tenant_context(world_a.tenant), connection.cursor() as cur:
        cur.execute("SELECT id FROM customers_customer")
        assert a_ids <= {r[0] for r in cur.fetchall()}  # A's rows are really there
    with tenant_context(world_b.tenant), connection.cursor() as cur:
        cur.execute("SELECT * FROM customers_customer")
        columns = [c.name for c in cur.description]
        rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    assert {r["id"] for r in rows} == {c.pk for c in b_data.customers}
    assert {r["tenant_id"] for r in rows} == {world_b.tenant.pk}
    dump = json.dumps(rows, default=str, ensure_ascii=False)
    for secret in a_data.secrets:
        assert secret not in dump


def test_every_tenant_table_under_b_returns_no_row_of_a(world_a, world_b, two_tenants):
    a, b = world_a.tenant.pk, world_b.tenant.pk
    for table in tenant_tables():
        with tenant_context(world_a.tenant):
            seen_by_a = _rows_by_tenant(table)
        with tenant_context(world_b.tenant):
            seen_by_b = _rows_by_tenant(table)
            with connection.cursor() as cur:  # no WHERE, no GROUP BY: the plainest read
                cur.execute(f'SELECT tenant_id FROM "{table}"')
                assert {r[0] for r in cur.fetchall()} <= {b}, table
        assert set(seen_by_a) <= {a}, f"{table}: A's context sees {seen_by_a}"
        assert set(seen_by_b) <= {b}, f"{table}: B's context sees {seen_by_b}"
        if table in POPULATED:
            assert seen_by_a.get(a, 0) > 0 and seen_by_b.get(b, 0) > 0, table


def test_unscoped_manager_is_still_limited_by_rls(world_a, world_b, two_tenants):
    with tenant_context(world_b.tenant):
        assert not Customer.unscoped_objects.filter(tenant=world_a.tenant).exists()
        assert not Staff.unscoped_objects.filter(tenant=world_a.tenant).exists()
        assert Customer.unscoped_objects.count() == len(two_tenants[1].customers)


def test_no_tenant_every_tenant_table_is_empty_without_error(two_tenants):
    with no_tenant():
        assert _current_setting("app.tenant_id") == ""
        for table in tenant_tables():
            with connection.cursor() as cur:
                cur.execute(f'SELECT count(*) FROM "{table}"')
                assert cur.fetchone()[0] == 0, table


def test_raw_update_and_delete_under_b_touch_no_row_of_a(world_a, world_b, two_tenants):
    a_data, _ = two_tenants
    a_customer, a_relation = a_data.customer, a_data.relation
    statements = [
        ("UPDATE customers_customer SET name = 'PWNED', notes = 'PWNED' WHERE id = %s", a_customer.pk),
        ("UPDATE customers_customer SET tenant_id = %s WHERE id = %s",
         (world_b.tenant.pk, a_customer.pk)),
        ("UPDATE customers_customer SET name = 'PWNED' WHERE tenant_id = %s", world_a.tenant.pk),
        ("UPDATE tenancy_staff SET roles = ARRAY['admin'] WHERE id = %s", world_a.sales.pk),
        ("UPDATE tenancy_team SET name = 'PWNED' WHERE id = %s", world_a.team1.pk),
        ("DELETE FROM customers_customerrelation WHERE id = %s", a_relation.pk),
        ("DELETE FROM customers_customer WHERE id = %s", a_customer.pk),
        ("DELETE FROM customers_customer WHERE tenant_id = %s", world_a.tenant.pk),
        ("DELETE FROM core_auditentry WHERE tenant_id = %s", world_a.tenant.pk),
        ("DELETE FROM customers_teamcustomercount WHERE tenant_id = %s", world_a.tenant.pk),
    ]
    with tenant_context(world_a.tenant):
        before = {t: _rows_by_tenant(t) for t in tenant_tables()}
        before_customer = Customer.objects.filter(pk=a_customer.pk).values().get()
    with tenant_context(world_b.tenant):
        for sql, params in statements:
            with connection.cursor() as cur:
                cur.execute(sql, params if isinstance(params, tuple) else [params])
                assert cur.rowcount == 0, sql
    with no_tenant():
        for sql, params in statements:
            with connection.cursor() as cur:
                cur.execute(sql, params if isinstance(params, tuple) else [params])
                assert cur.rowcount == 0, f"no tenant: {sql}"
    with tenant_context(world_a.tenant):
        assert {t: _rows_by_tenant(t) for t in tenant_tables()} == before
        assert Customer.objects.filter(pk=a_customer.pk).values().get() == before_customer


INSERT_CUSTOMER = """
    INSERT INTO customers_customer (tenant_id, name, phone, id_number, gender, address, source,
        grade, tags, notes, created_at, updated_at)
    VALUES (%s, 'Injected', '13600000000', '', '', '', 'walk_in', '', '{}', '', now(), now())"""
INSERT_TEAM = ("INSERT INTO tenancy_team (tenant_id, name, active, created_at) "
               "VALUES (%s, 'Injected', true, now())")


@pytest.mark.parametrize("sql", [INSERT_CUSTOMER, INSERT_TEAM], ids=["customer", "team"])
def test_raw_insert_with_a_tenant_id_under_b_violates_with_check(world_a, world_b, sql):
    with tenant_context(world_b.tenant):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, [world_a.tenant.pk])
        with transaction.atomic(), connection.cursor() as cur:  # control: B's own id is fine
            cur.execute(sql, [world_b.tenant.pk])
            assert cur.rowcount == 1
    with no_tenant():
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, [world_a.tenant.pk])
    with tenant_context(world_a.tenant), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer WHERE name = 'Injected'")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM tenancy_team WHERE name = 'Injected'")
        assert cur.fetchone()[0] == 0


def test_moving_a_row_of_b_into_a_violates_with_check(world_a, world_b, two_tenants):
    b_customer = two_tenants[1].customer
    with tenant_context(world_b.tenant):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("UPDATE customers_customer SET tenant_id = %s WHERE id = %s",
                            [world_a.tenant.pk, b_customer.pk])


def test_every_tenant_table_forces_rls_with_a_tenant_policy():
    """Discovers tables from the catalog, so a future table without its policy fails here."""
    tables = tenant_tables()
    assert len(tables) >= len(POPULATED)
    with connection.cursor() as cur:
        cur.execute("""SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = 'public' AND c.relname = ANY(%s)""", [tables])
        flags = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        cur.execute("""SELECT tablename, policyname, permissive, cmd, roles::text[],
                              coalesce(qual, ''), coalesce(with_check, '')
                       FROM pg_policies WHERE schemaname = 'public' AND tablename = ANY(%s)""",
                    [tables])
        policies = cur.fetchall()
    problems = []
    for table in tables:
        if flags.get(table) != (True, True):
            problems.append(f"{table}: relrowsecurity/relforcerowsecurity = {flags.get(table)}")
        mine = [p for p in policies if p[0] == table]
        tenant_policies = [p for p in mine if "app.tenant_id" in p[5] and "tenant_id" in p[5]
                           and p[3] == "ALL" and "app.tenant_id" in p[6]]
        if not tenant_policies:
            problems.append(f"{table}: no FOR ALL policy on app.tenant_id in USING and WITH CHECK")
        for _t, name, permissive, cmd, _roles, qual, _check in mine:
            # Permissive policies are OR-ed: any other one widens what a tenant sees. The only
            # one allowed is the read-only self policy on app.user_id (Staff).
            if permissive == "PERMISSIVE" and "app.tenant_id" not in qual and not (
                    cmd == "SELECT" and "app.user_id" in qual):
                problems.append(f"{table}: policy {name} ({cmd}) is not tenant-bound: {qual}")
    assert problems == []


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_rls_predicate_keeps_the_tenant_index_usable(world_a, world_b):
    """The policy compares tenant_id with a scalar sub-select (computed once, an InitPlan) using a
    leakproof `=`, so PostgreSQL can turn it into an index condition on a tenant-leading index.
    A volatile or leaky policy (e.g. a non-leakproof
    function) would be evaluated as a Filter over every row instead, and `Index Cond` would not
    mention tenant_id — which is what this test asserts against.

    The app role cannot ANALYZE (PostgreSQL skips a table the role does not own, with a warning)
    and the rows are uncommitted anyway, so statistics stay default. `enable_seqscan = off` makes
    the choice deterministic by removing only the sequential alternative; whether the policy can
    become an index condition at all is still decided by the predicate's shape. (Today's plan:
    Index Scan on the tenant FK index, Index Cond on tenant_id, owner_id as a Filter.)"""
    for world in (world_a, world_b):
        with tenant_context(world.tenant):
            owners = [world.sales, world.sales2, world.sales_other_team]
            Customer.objects.bulk_create([
                Customer(tenant=world.tenant, name=f"bulk{i}", phone=f"150{world.tenant.pk % 10}{i:07d}",
                         owner=owners[i % 3], team=owners[i % 3].team)
                for i in range(1500)])
    with tenant_context(world_a.tenant), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN (FORMAT JSON) SELECT id, name, phone FROM customers_customer "
                    "WHERE owner_id = %s ORDER BY created_at DESC LIMIT 25", [world_a.sales.pk])
        raw = cur.fetchone()[0]
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
        cur.execute("RESET enable_seqscan")
    scans = [n for n in _plan_nodes(plan)
             if n["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")]
    assert scans, json.dumps(plan, indent=1)
    assert not any(n["Node Type"] == "Seq Scan" for n in _plan_nodes(plan))
    # The policy's scalar sub-select is an InitPlan whose output ($0...) is the index condition.
    init_plans = {f"${i}" for i, n in enumerate(
        n for n in _plan_nodes(plan) if n.get("Parent Relationship") == "InitPlan")}
    assert init_plans, json.dumps(plan, indent=1)
    tenant_conds = [n for n in scans
                    if any(f"tenant_id = {p})" in n.get("Index Cond", "") for p in init_plans)]
    assert tenant_conds, json.dumps(plan, indent=1)
    assert all(n["Index Name"].startswith("customer_") or "tenant_id" in n["Index Name"]
               for n in tenant_conds), json.dumps(plan, indent=1)


def test_staff_self_read_policy_shows_only_the_users_own_row(world_a, world_b):
    for staff in (world_a.sales, world_b.admin):
        with no_tenant():
            set_db_user(staff.user_id)
            with connection.cursor() as cur:
                cur.execute("SELECT id, user_id, tenant_id FROM tenancy_staff")
                assert cur.fetchall() == [(staff.pk, staff.user_id, staff.tenant_id)]
                # The self policy is read-only: the row cannot be changed or deleted.
                cur.execute("UPDATE tenancy_staff SET roles = ARRAY['admin'] WHERE id = %s", [staff.pk])
                assert cur.rowcount == 0
                cur.execute("DELETE FROM tenancy_staff WHERE id = %s", [staff.pk])
                assert cur.rowcount == 0
                # ...and it opens no other table.
                for table in tenant_tables():
                    if table != "tenancy_staff":
                        cur.execute(f'SELECT count(*) FROM "{table}"')
                        assert cur.fetchone()[0] == 0, table
            set_db_user(None)
    with no_tenant(), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM tenancy_staff")
        assert cur.fetchone()[0] == 0
