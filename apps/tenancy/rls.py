"""PostgreSQL row-level security as a model constraint, so `makemigrations` writes it.

Every tenant-owned model inherits `RowLevelSecurityConstraint` from `TenantModel`; the
migration that creates the table then also runs::

    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    ALTER TABLE t FORCE ROW LEVEL SECURITY;       -- applies to the table owner too
    CREATE POLICY t_tenant_isolation ON t
        USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint))
        WITH CHECK (same);

`current_setting(..., true)` returns NULL (or '' once set and reset) when no tenant is set, so
the policy compares against NULL and yields zero rows instead of raising. The expression sits in
a scalar sub-select, computed once per query, so the planner still uses the tenant index
(tests/tenancy/test_rls.py checks EXPLAIN).

The SQL is generated when a migration runs: changing it here changes new tables only, so a
change of policy needs a migration that drops and recreates the policies of existing tables.
"""

from django.db.models import BaseConstraint

TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"


def setting_expr(name: str) -> str:
    # Wrapped in a scalar sub-select, PostgreSQL computes it once per query (an InitPlan)
    # rather than once per row, and still uses it as an index condition on tenant_id.
    return f"(SELECT NULLIF(current_setting('{name}', true), '')::bigint)"


class RowLevelSecurityConstraint(BaseConstraint):
    """Tenant isolation policy on `field`; optionally a read-only policy on `self_read_field`.

    `self_read_field` lets a signed-in user read the rows that are their own before any tenant
    is known (the Staff row that tells the request which tenant it belongs to).
    """

    def __init__(self, field: str = "tenant_id", *, name: str, self_read_field: str | None = None,
                 violation_error_message=None, violation_error_code=None):
        super().__init__(name=name, violation_error_message=violation_error_message,
                         violation_error_code=violation_error_code)
        self.field = field
        self.self_read_field = self_read_field

    def _statements(self, table: str) -> list[str]:
        q = f'"{table}"'
        cond = f'"{self.field}" = {setting_expr(TENANT_SETTING)}'
        stmts = [
            f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {q} FORCE ROW LEVEL SECURITY",
            f'CREATE POLICY "{self.name}" ON {q} USING ({cond}) WITH CHECK ({cond})',
        ]
        if self.self_read_field:
            own = f'"{self.self_read_field}" = {setting_expr(USER_SETTING)}'
            stmts.append(f'CREATE POLICY "{self.name}_self" ON {q} FOR SELECT USING ({own})')
        return stmts

    def constraint_sql(self, model, schema_editor):
        # Called while the table is being created: run the policy DDL right after it.
        schema_editor.deferred_sql.extend(self._statements(model._meta.db_table))
        return None

    def create_sql(self, model, schema_editor):
        return "; ".join(self._statements(model._meta.db_table))

    def remove_sql(self, model, schema_editor):
        q = f'"{model._meta.db_table}"'
        stmts = [f'DROP POLICY IF EXISTS "{self.name}" ON {q}']
        if self.self_read_field:
            stmts.append(f'DROP POLICY IF EXISTS "{self.name}_self" ON {q}')
        stmts += [f"ALTER TABLE {q} NO FORCE ROW LEVEL SECURITY",
                  f"ALTER TABLE {q} DISABLE ROW LEVEL SECURITY"]
        return "; ".join(stmts)

    def validate(self, model, instance, exclude=None, using=None):
        return None  # enforced by PostgreSQL, nothing to check in Python

    def __eq__(self, other):
        if isinstance(other, RowLevelSecurityConstraint):
            return (self.name, self.field, self.self_read_field) == (
                other.name, other.field, other.self_read_field)
        return super().__eq__(other)

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        kwargs["field"] = self.field
        if self.self_read_field:
            kwargs["self_read_field"] = self.self_read_field
        return path, args, kwargs
