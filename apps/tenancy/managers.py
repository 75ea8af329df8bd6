"""Layer 1 of isolation: every default manager of a tenant-owned model filters by the tenant
in context, and refuses to run without one. The escape hatch is `Model.unscoped_objects`."""

from django.db import models

from .context import require_tenant_id


class TenantQuerySet(models.QuerySet):
    pass


class TenantScopedManager(models.Manager.from_queryset(TenantQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(tenant_id=require_tenant_id())


class UnscopedManager(models.Manager.from_queryset(TenantQuerySet)):
    """Crosses tenants in Python; PostgreSQL row-level security still applies."""
