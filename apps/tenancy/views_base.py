"""Base classes every tenant HTML view inherits (the HTML twin of apps.tenancy.api)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404


class StaffRequiredMixin(LoginRequiredMixin):
    """Signed in, an active member of an active tenant, and holding one of `required_roles`."""

    required_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if getattr(request, "staff", None) is None:
            raise PermissionDenied
        if self.required_roles and not request.staff.has_role(*self.required_roles):
            self.permission_denied()
        return super().dispatch(request, *args, **kwargs)

    def permission_denied(self):
        """Refuse with 403; views with an object in the URL turn that into 404 first when the
        object is not in the tenant (see TenantObjectMixin)."""
        raise PermissionDenied

    @property
    def staff(self):
        return self.request.staff

    @property
    def tenant(self):
        return self.request.tenant


class TenantObjectMixin(StaffRequiredMixin):
    """Querysets start from the scoped manager; narrow them in `scope_queryset`."""

    model = None

    def get_queryset(self):
        return self.scope_queryset(self.model.objects.all())

    def permission_denied(self):
        # Another tenant's object (or no object) is a 404 before any role is considered, so a
        # refusal never tells whether an id exists elsewhere.
        if "pk" in self.kwargs and not self.model.objects.filter(pk=self.kwargs["pk"]).exists():
            raise Http404
        super().permission_denied()

    def http_method_not_allowed(self, request, *args, **kwargs):
        # An object the caller may not see is 404 whatever the method: look it up first.
        if "pk" in kwargs:
            get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def scope_queryset(self, queryset):
        return queryset
