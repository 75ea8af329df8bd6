"""Points in the tenant admin: read-only (no add, change or delete). The ledger is append-only
and written only by apps.referrals.points. Registered when apps/referrals/admin.py imports this
module (`from . import admin_points  # noqa: F401`)."""

from django.contrib import admin

from apps.tenancy.admin import ReadOnlyTenantModelAdmin

from .models import PointsEntry, PointsItem, PointsRedemption


class _NoDelete(ReadOnlyTenantModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PointsItem)
class PointsItemAdmin(_NoDelete):
    list_display = ("name", "points", "active")


@admin.register(PointsRedemption)
class PointsRedemptionAdmin(_NoDelete):
    list_display = ("referrer", "item", "points", "status", "requested_by", "requested_at",
                    "decided_by", "decided_at")
    list_select_related = ("referrer", "item", "requested_by", "decided_by")
    list_filter = ("status",)


@admin.register(PointsEntry)
class PointsEntryAdmin(_NoDelete):
    list_display = ("referrer", "kind", "points", "reason", "created_by", "created_at")
    list_select_related = ("referrer", "created_by")
    list_filter = ("kind",)
