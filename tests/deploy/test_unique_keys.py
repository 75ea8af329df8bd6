"""Citus readiness: every unique key of a tenant table includes tenant_id.

Citus distributes the tenant tables by `tenant_id` and can enforce a unique constraint or
unique index only if it contains the distribution column. This lists every unique index
(constraints are enforced by one) in the public schema on a table with a `tenant_id` column
and names each one without it.

Two documented exceptions:

* primary keys on `id` alone (PK_COLUMNS): ids come from one sequence per table and are
  unique across tenants by construction; Django's foreign keys point at them. Distributing
  means turning each into (tenant_id, id) — the step docs/OPERATIONS.md describes — so the
  test only checks that every primary key has exactly that one shape.
* KNOWN_WITHOUT_TENANT: the unique keys that one-to-one fields (and one constraint) create
  today. Each is unique on an id that is itself unique across tenants, so it is correct on a
  single PostgreSQL; for Citus each must become UniqueConstraint(tenant, field). The list may
  only shrink: a new key without tenant_id fails, and so does an entry that no longer exists.
"""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

PK_COLUMNS = ["id"]

#: (table, columns) of the unique keys without tenant_id that exist today; see the docstring.
KNOWN_WITHOUT_TENANT = {
    ("commissions_teamapproval", ("settlement_id", "team_id")),
    ("deals_contract", ("renewed_by_id",)),
    ("deals_deal", ("contract_id",)),
    ("followups_followuptask", ("penalty_id",)),
    ("referrals_referral", ("deal_id",)),
    ("referrals_referrer", ("customer_id",)),
    ("referrals_referrer", ("staff_id",)),
    ("tenancy_staff", ("user_id",)),
}

UNIQUE_INDEXES = """
    SELECT t.relname, i.relname, x.indisprimary,
           ARRAY(SELECT coalesce(a.attname, '<expression>')
                   FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
                   LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                  ORDER BY k.ord),
           coalesce(pg_get_expr(x.indexprs, x.indrelid), '')
      FROM pg_index x
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = 'public' AND x.indisunique
       AND EXISTS (SELECT 1 FROM pg_attribute ta WHERE ta.attrelid = t.oid
                      AND ta.attname = 'tenant_id' AND NOT ta.attisdropped)
     ORDER BY 1, 2
"""


@pytest.fixture
def unique_indexes():
    with connection.cursor() as cur:
        cur.execute(UNIQUE_INDEXES)
        return [(table, index, primary, list(columns), exprs)
                for table, index, primary, columns, exprs in cur.fetchall()]


def test_the_query_sees_the_tenant_tables(unique_indexes):
    """Guards the test itself: the catalogue query finds known keys with and without tenant_id."""
    found = {(table, tuple(columns)) for table, _i, _p, columns, _e in unique_indexes}
    assert ("tenancy_team", ("tenant_id", "name")) in found
    assert ("customers_customer", ("id",)) in found
    assert len({table for table, *_ in unique_indexes}) >= 40


def test_every_unique_key_of_a_tenant_table_includes_tenant_id(unique_indexes):
    missing = sorted(
        f"{table}.{index} ({', '.join(columns)})"
        for table, index, primary, columns, exprs in unique_indexes
        if not primary and "tenant_id" not in columns and "tenant_id" not in exprs
        and (table, tuple(columns)) not in KNOWN_WITHOUT_TENANT)
    assert not missing, ("unique keys without tenant_id (Citus cannot enforce them on a table "
                         "distributed by tenant_id; use UniqueConstraint(fields=['tenant', ...])): "
                         + "; ".join(missing))


def test_known_exceptions_still_exist(unique_indexes):
    """An exception that was fixed is taken off the list, so the list stays the truth."""
    present = {(table, tuple(columns)) for table, _i, primary, columns, _e in unique_indexes
               if not primary}
    assert sorted(KNOWN_WITHOUT_TENANT - present) == []


def test_primary_keys_of_tenant_tables_are_on_id_alone(unique_indexes):
    """The documented exception, kept exact: every tenant table's primary key is (id)."""
    primaries = [(table, columns) for table, _i, primary, columns, _e in unique_indexes
                 if primary]
    assert primaries and all(columns == PK_COLUMNS for _t, columns in primaries), [
        (t, c) for t, c in primaries if c != PK_COLUMNS]
