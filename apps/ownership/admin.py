"""Ownership data in the tenant admin: read-only (policy versions are added on the policy page,
shares by dispute decisions, visits by the rotation; each through a service that audits)."""

from django.contrib import admin

from apps.tenancy.admin import ReadOnlyTenantModelAdmin

from .models import OwnershipPolicy, OwnershipShare, Visit


@admin.register(OwnershipPolicy)
class OwnershipPolicyAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("version", "effective_from", "release_after_days", "revisit_window_days",
                    "warn_before_days", "max_customers_per_owner", "daily_claim_cap",
                    "reclaim_after_days", "created_by", "created_at")
    list_select_related = ("created_by",)


@admin.register(OwnershipShare)
class OwnershipShareAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("customer", "staff", "percent", "confiscated", "active", "rule", "created_at")
    list_filter = ("active", "confiscated")
    list_select_related = ("customer", "staff")


@admin.register(Visit)
class VisitAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("customer", "kind", "attributed_to", "received_by", "courtesy", "at")
    list_filter = ("kind", "courtesy")
    list_select_related = ("customer", "attributed_to", "received_by")
