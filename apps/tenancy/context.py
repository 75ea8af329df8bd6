"""The tenant context: which company the current request, task or command works for.

Two things are kept in step:
* a context variable read by the scoped managers (layer 1), and
* the PostgreSQL setting `app.tenant_id`, set with set_config(..., is_local=true) inside the
  current transaction, read by the row-level security policies (layer 2).
A tenant can only be entered inside a transaction: outside one the setting would not hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar

from django.db import connections, transaction

from .rls import TENANT_SETTING, USER_SETTING

_current_tenant_id: ContextVar[int | None] = ContextVar("current_tenant_id", default=None)


class TenantContextMissing(RuntimeError):
    """A tenant-scoped query ran with no tenant entered."""


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


def require_tenant_id() -> int:
    tenant_id = _current_tenant_id.get()
    if tenant_id is None:
        raise TenantContextMissing(
            "No tenant context: wrap the code in tenant_context(tenant) or use an unscoped_* "
            "manager on purpose.")
    return tenant_id


def _set_db_setting(name: str, value: int | None, using: str) -> None:
    conn = connections[using]
    if not conn.in_atomic_block:
        raise TenantContextMissing(f"{name} can only be set inside a transaction")
    with conn.cursor() as cur:
        cur.execute("SELECT set_config(%s, %s, true)", [name, "" if value is None else str(value)])


def set_db_user(user_id: int | None, using: str = "default") -> None:
    _set_db_setting(USER_SETTING, user_id, using)


def activate(tenant_id: int | None, using: str = "default"):
    """Enter `tenant_id` in the current transaction; returns a token for `deactivate`."""
    _set_db_setting(TENANT_SETTING, tenant_id, using)
    return _current_tenant_id.set(tenant_id)


def reset(token) -> None:
    """Forget the tenant in Python only (the transaction that set it is being rolled back)."""
    _current_tenant_id.reset(token)


def deactivate(token, using: str = "default", *, transaction_ends: bool = False) -> None:
    """Leave the tenant entered with `token`, restoring the one before it.

    `transaction_ends`: the caller commits right after, which discards the setting anyway, so
    the database round trip to restore it is skipped."""
    _current_tenant_id.reset(token)
    conn = connections[using]
    # A block marked for rollback takes its setting with it (settings are transactional).
    if transaction_ends and len(conn.atomic_blocks) == 1:
        return
    if conn.in_atomic_block and not conn.needs_rollback:
        _set_db_setting(TENANT_SETTING, _current_tenant_id.get(), using)


@contextmanager
def tenant_context(tenant, using: str = "default") -> Iterator[None]:
    """Run the block in one transaction as `tenant` (a Tenant or its id)."""
    tenant_id = getattr(tenant, "pk", tenant)
    with transaction.atomic(using=using):
        if (using == "default" and tenant_id is not None and tenant_id == _current_tenant_id.get()
                and len(connections[using].atomic_blocks) > 1):
            # Nested (a service calling a service) in a transaction already in this tenant: the
            # setting is in place and outlives this savepoint, so there is nothing to set or
            # restore — two round trips saved per nested service call.
            yield
            return
        token = activate(tenant_id, using)
        try:
            yield
        except BaseException:
            # The atomic block rolls back, and the setting with it; only the variable is ours.
            reset(token)
            raise
        deactivate(token, using, transaction_ends=True)


def in_tenant(tenant, using: str = "default"):
    """tenant_context(tenant) — or nothing when the caller's transaction is already in that
    tenant: for reads called from a service of the tenant (deal entry calls the VIP and
    follow-up hooks), where the nested context's savepoint would be two round trips for
    nothing. Writes that must roll back alone keep tenant_context."""
    tenant_id = getattr(tenant, "pk", tenant)
    if connections[using].in_atomic_block and current_tenant_id() == tenant_id:
        return nullcontext()
    return tenant_context(tenant, using)


def no_tenant(using: str = "default"):
    """Explicitly leave any tenant: tenant tables then show zero rows."""
    return tenant_context(None, using)
