"""Base classes every tenant API view inherits. Querysets always start from the model's
scoped manager; subclasses narrow them in `scope_queryset`, they never replace them."""

from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound

from .middleware import enter_user_tenant


class TenantAPIMixin:
    model = None  # the TenantModel this view serves

    def perform_authentication(self, request):
        super().perform_authentication(request)
        django_request = request._request
        if getattr(django_request, "staff", None) is None and request.user.is_authenticated:
            # Token authentication happens here, after TenantMiddleware: enter the tenant now,
            # inside the request transaction the middleware opened.
            enter_user_tenant(django_request, request.user)

    @property
    def staff(self):
        return self.request._request.staff

    @property
    def tenant(self):
        return self.request._request.tenant

    def get_queryset(self):
        return self.scope_queryset(self.model.objects.all())

    def permission_denied(self, request, message=None, code=None):
        # Another tenant's object (or no object) is a 404 before any role is considered, so a
        # refusal never tells whether an id exists elsewhere.
        self._raise_404_unless_in_tenant()
        super().permission_denied(request, message=message, code=code)

    def _raise_404_unless_in_tenant(self):
        lookup = self.lookup_url_kwarg or self.lookup_field
        if lookup in self.kwargs and getattr(self.request._request, "tenant", None) is not None:
            if not self.model.objects.filter(**{self.lookup_field: self.kwargs[lookup]}).exists():
                raise NotFound

    def http_method_not_allowed(self, request, *args, **kwargs):
        # An object the caller may not see is 404 whatever the method: look it up first.
        if (self.lookup_url_kwarg or self.lookup_field) in kwargs:
            self.get_object()
        return super().http_method_not_allowed(request, *args, **kwargs)

    def scope_queryset(self, queryset):
        return queryset


class TenantModelViewSet(TenantAPIMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                         mixins.UpdateModelMixin, mixins.ListModelMixin,
                         viewsets.GenericViewSet):
    """No DELETE by default: history is kept; deactivation is a service call."""
