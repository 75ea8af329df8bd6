from rest_framework.permissions import BasePermission

from .roles import Role


class IsActiveStaff(BasePermission):
    """Signed in and an active member of an active tenant (the tenant is then entered)."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated
                    and getattr(request._request, "staff", None) is not None)


class HasRole(IsActiveStaff):
    roles: tuple[str, ...] = ()

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request._request.staff.has_role(*self.roles)


def role_permission(*roles: str) -> type[HasRole]:
    return type("HasRole_" + "_".join(roles), (HasRole,), {"roles": roles})


IsTenantAdmin = role_permission(Role.ADMIN)
