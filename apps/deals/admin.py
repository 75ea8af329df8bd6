"""Deals in the tenant admin: read-only. Deals are entered, refunded and annotated on the app's
pages and the API (the services split and reverse the credit and audit every step); roles and
rule sets have their own pages (apps.deals.views_rules); contracts are written by the deals
that create them."""

from django.contrib import admin

from apps.tenancy.admin import ReadOnlyTenantModelAdmin

from .models import Contract, CreditRuleSet, Deal, DealCredit, DealParticipant, DealRole, Refund


class ParticipantInline(admin.TabularInline):
    model = DealParticipant
    fields = ("staff", "role", "subject")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return DealParticipant.objects.select_related("staff", "role")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CreditInline(admin.TabularInline):
    model = DealCredit
    fields = ("staff", "role_code", "percent", "amount", "confiscated", "source", "rule_version",
              "refund", "explanation")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return DealCredit.objects.select_related("staff", "refund")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Deal)
class DealAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("contract_number", "customer", "kind", "amount", "refunded_amount",
                    "signed_on", "team", "credit_rule_version", "created_by")
    list_filter = ("kind", "team")
    list_select_related = ("customer", "team", "created_by")
    search_fields = ("contract_number", "customer__name", "customer__phone")
    date_hierarchy = "signed_on"
    inlines = [ParticipantInline, CreditInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("deal", "amount", "refunded_on", "created_by", "created_at")
    list_select_related = ("deal", "created_by")
    search_fields = ("deal__contract_number", "reason")


@admin.register(Contract)
class ContractAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("number", "customer", "start", "end", "amount", "hours_bought",
                    "hours_consumed", "owner", "team")
    list_select_related = ("customer", "owner", "team")
    search_fields = ("number", "customer__name", "customer__phone")


@admin.register(DealRole)
class DealRoleAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("code", "name", "order", "active")


@admin.register(CreditRuleSet)
class CreditRuleSetAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("version", "effective_from", "name", "preset", "created_by", "created_at")
    list_select_related = ("created_by",)
