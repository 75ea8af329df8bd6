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
* GLOBAL_BY_DESIGN: `tenancy_staff.user_id`. A login (the global user table) belongs to
  exactly one tenant: signing in finds the membership by the user alone, before any tenant is
  known (apps.tenancy.selectors.active_membership, under the row-level security policy that
  lets a user read their own Staff row). So the key is global on purpose; a per-tenant key
  would let one login join two companies. Under Citus it stays enforceable by keeping
  `tenancy_staff` a reference table (or by moving the rule onto the user); see
  docs/OPERATIONS.md "Scaling out". The list may only shrink: a new key without tenant_id
  fails, and so does an entry that no longer exists.

The former one-to-one fields are foreign keys with a UniqueConstraint(tenant, field);
`test_one_to_one_rules_still_hold` proves each still refuses a second row in the tenant.
"""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.commissions.models import PenaltyEvent, Settlement, TeamApproval
from apps.customers.models import Customer
from apps.deals.models import Contract, Deal
from apps.followups.models import FollowUpTask
from apps.referrals.models import Referral, Referrer

pytestmark = pytest.mark.django_db

PK_COLUMNS = ["id"]

#: (table, columns) of the unique keys without tenant_id that are global by design (docstring).
GLOBAL_BY_DESIGN = {
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
        and (table, tuple(columns)) not in GLOBAL_BY_DESIGN)
    assert not missing, ("unique keys without tenant_id (Citus cannot enforce them on a table "
                         "distributed by tenant_id; use UniqueConstraint(fields=['tenant', ...])): "
                         + "; ".join(missing))


def test_known_exceptions_still_exist(unique_indexes):
    """An exception that was fixed is taken off the list, so the list stays the truth."""
    present = {(table, tuple(columns)) for table, _i, primary, columns, _e in unique_indexes
               if not primary}
    assert sorted(GLOBAL_BY_DESIGN - present) == []


def test_primary_keys_of_tenant_tables_are_on_id_alone(unique_indexes):
    """The documented exception, kept exact: every tenant table's primary key is (id)."""
    primaries = [(table, columns) for table, _i, primary, columns, _e in unique_indexes
                 if primary]
    assert primaries and all(columns == PK_COLUMNS for _t, columns in primaries), [
        (t, c) for t, c in primaries if c != PK_COLUMNS]


# ------------------------------------------------------------ the former one-to-one fields

DAY = datetime.date(2026, 1, 5)


def _customer(w, n):
    return Customer.objects.create(tenant=w.tenant, name=f"客户{n}", phone=f"1390000{n:04d}")


def _contract(w, n, **fields):
    return Contract.objects.create(tenant=w.tenant, customer=_customer(w, n), number=f"HT-{n}",
                                   start=DAY, end=DAY, amount=1000, **fields)


def _deal(w, n, **fields):
    return Deal.objects.create(tenant=w.tenant, customer=_customer(w, n), kind=Deal.Kind.NEW,
                               amount=1000, signed_on=DAY, contract_number=f"D-{n}", **fields)


def _task(w, n, **fields):
    return FollowUpTask.objects.create(tenant=w.tenant, customer=_customer(w, n),
                                       assignee=w.sales, team=w.team1, channel="phone",
                                       purpose="after_sale", due_at=timezone.now(), **fields)


def _referral(w, n, **fields):
    partner = Referrer.objects.create(tenant=w.tenant, kind=Referrer.Kind.PARTNER,
                                      partner_name=f"伙伴{n}")
    return Referral.objects.create(tenant=w.tenant, referrer=partner,
                                   channel=Referral.Channel.LINK, name=f"被介绍{n}",
                                   phone=f"1370000{n:04d}", **fields)


#: (table, columns) → (constraint, the shared target, a row pointing at it). Each was a
#: one-to-one field (or a constraint) unique without tenant_id before Citus readiness.
ONE_TO_ONE = {
    ("deals_contract", ("renewed_by_id",)): (
        "contract_renewed_once", lambda w: _contract(w, 0),
        lambda w, n, x: _contract(w, n, renewed_by=x)),
    ("deals_deal", ("contract_id",)): (
        "deal_contract_once", lambda w: _contract(w, 0),
        lambda w, n, x: _deal(w, n, contract=x)),
    ("followups_followuptask", ("penalty_id",)): (
        "followup_penalty_once",
        lambda w: PenaltyEvent.objects.create(tenant=w.tenant, staff=w.sales,
                                              code="missed_follow_up", occurred_on=DAY),
        lambda w, n, x: _task(w, n, penalty=x)),
    ("referrals_referral", ("deal_id",)): (
        "referral_deal_once", lambda w: _deal(w, 0),
        lambda w, n, x: _referral(w, n, deal=x)),
    ("referrals_referrer", ("customer_id",)): (
        "referrer_customer_once", lambda w: _customer(w, 0),
        lambda w, n, x: Referrer.objects.create(tenant=w.tenant, kind=Referrer.Kind.CUSTOMER,
                                                customer=x)),
    ("referrals_referrer", ("staff_id",)): (
        "referrer_staff_once", lambda w: w.sales,
        lambda w, n, x: Referrer.objects.create(tenant=w.tenant, kind=Referrer.Kind.STAFF,
                                                staff=x)),
    ("commissions_teamapproval", ("settlement_id", "team_id")): (
        "team_approval_once", lambda w: Settlement.objects.create(tenant=w.tenant, month=DAY),
        lambda w, n, x: TeamApproval.objects.create(tenant=w.tenant, settlement=x,
                                                    team=w.team1, approved_by=w.manager)),
}


@pytest.mark.parametrize("key", sorted(ONE_TO_ONE), ids=lambda k: f"{k[0]}.{'+'.join(k[1])}")
def test_one_to_one_rules_still_hold(world_a, unique_indexes, key):
    """A second row pointing at the same target in the same tenant is refused by the
    database, by the (tenant_id, …) key that replaced the one without tenant_id."""
    table, columns = key
    constraint, target, row = ONE_TO_ONE[key]
    keys = {(t, index): tuple(cols) for t, index, _p, cols, _e in unique_indexes}
    assert keys.get((table, constraint)) == ("tenant_id", *columns)
    with world_a.context():
        shared = target(world_a)
        first = row(world_a, 1, shared)
        model = type(first)
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            row(world_a, 2, shared)
        assert refused.value.__cause__.diag.constraint_name == constraint
        field = columns[0].removesuffix("_id")
        assert list(model.objects.filter(**{field: shared}).values_list("pk", flat=True)) == [
            first.pk]
