"""The Django admin, for tenant administrators only and scoped to their tenant.

`TenantModelAdmin` is the base of every ModelAdmin of a tenant model: its queryset comes from
the scoped manager, new objects get the admin's tenant, and only tenant admins may use it."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .forms import AdminStaffAuthenticationForm
from .models import Staff, Team


def _is_tenant_admin(request) -> bool:
    staff = getattr(request, "staff", None)
    return bool(request.user.is_active and staff is not None and staff.is_admin)


admin.site.site_header = _("referral_crm administration")
admin.site.site_title = _("referral_crm administration")
admin.site.has_permission = _is_tenant_admin
# The admin's own login page applies the same membership check as the site's login page.
admin.site.login_form = AdminStaffAuthenticationForm


class TenantModelAdmin(admin.ModelAdmin):
    exclude = ("tenant",)

    def get_queryset(self, request):
        return self.model.objects.all()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.tenant = request.tenant
        super().save_model(request, obj, form, change)

    def has_module_permission(self, request):
        return _is_tenant_admin(request)

    def has_view_permission(self, request, obj=None):
        return _is_tenant_admin(request)

    def has_add_permission(self, request):
        return _is_tenant_admin(request)

    def has_change_permission(self, request, obj=None):
        return _is_tenant_admin(request)

    def has_delete_permission(self, request, obj=None):
        return False  # history is kept; deactivate instead


class ReadOnlyTenantModelAdmin(TenantModelAdmin):
    """Shown in the admin; changed only through the app's pages (services audit each change)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("name", "active", "created_at")
    search_fields = ("name",)


@admin.register(Staff)
class StaffAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("name", "team", "roles", "active")
    list_select_related = ("team",)
    list_filter = ("active", "team")
    search_fields = ("name", "phone")
    readonly_fields = ("user", "joined_at", "deactivated_at")
