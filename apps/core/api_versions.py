"""The API of versioned rules (credit rule sets, reward policies, commission rule sets): one
serializer base and one pair of views, so the three apps only say what differs — the model, the
presets, the service that creates a version and which version is in force.

    class RuleSetSerializer(VersionSerializer):
        presets = PRESETS
        class Meta(VersionSerializer.Meta):
            model = CreditRuleSet

    @extend_schema_view(get=extend_schema(operation_id=..., summary=...), post=...)
    class RuleSetListAPIView(VersionListAPIView):
        model = CreditRuleSet
        serializer_class = RuleSetSerializer
        view_permission = role_permission(*rulesets.VIEW_ROLES)
        def in_force_pk(self): ...
        def create_version(self, **data): return rulesets.rule_set_create(...)

GET lists the versions newest first (paginated); POST (administrators) creates one through the
app's service, whose field errors come back in the project's error format; the detail view reads
one version. Every row says whether it is the version in force today (`in_force`).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.customers.serializers import NamedRefSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import IsTenantAdmin

VERSION_FIELDS = ["id", "version", "effective_from", "name", "preset", "rules", "note",
                  "created_by", "created_at", "in_force"]


class VersionSerializer(serializers.ModelSerializer):
    """A version of a tenant's rules. On POST give `rules` (the data) or a `preset` to copy;
    the app's service checks everything and answers with field errors."""

    #: The preset names a version may be copied from (the subclass's app).
    presets: tuple[str, ...] | dict = ()

    effective_from = serializers.DateField(help_text=_("Today or a later day (tenant time zone)."))
    name = serializers.CharField(max_length=200)
    preset = serializers.ChoiceField(choices=[("", "—")], required=False, allow_blank=True,
                                     help_text=_("Used when no rules are given."))
    rules = serializers.JSONField(required=False, allow_null=True, help_text=_(
        "The rule set data; without it the preset is copied."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=400)
    created_by = NamedRefSerializer(read_only=True, allow_null=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        fields = VERSION_FIELDS
        read_only_fields = ["id", "version", "created_at"]
        validators = []  # one version per day: the service says so with a field error

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = [("", "—"), *((p, p) for p in self.presets)]

    def get_in_force(self, row) -> bool:
        return row.pk == self.context.get("in_force_pk")


class _VersionAPIView(TenantAPIMixin, GenericAPIView, metaclass=ABCMeta):
    filter_backends = []
    #: Who reads the versions (a role_permission class; administrators also write).
    view_permission = IsTenantAdmin

    @abstractmethod
    def in_force_pk(self) -> int | None:
        """The id of the version in force today (None: the preset applies)."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsTenantAdmin()]
        return [self.view_permission()]

    def version_context(self) -> dict:
        return {**self.get_serializer_context(), "in_force_pk": self.in_force_pk()}

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("-effective_from", "-version")


class VersionListAPIView(_VersionAPIView):
    """Every version, newest first; administrators add one."""

    @abstractmethod
    def create_version(self, **data):
        """Create a version through the app's service (tenant and actor are the view's)."""

    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        serializer = self.get_serializer_class()(page, many=True, context=self.version_context())
        return self.get_paginated_response(serializer.data)

    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            row = self.create_version(**payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(self.get_serializer_class()(row, context=self.version_context()).data,
                        status=status.HTTP_201_CREATED)


class VersionDetailAPIView(_VersionAPIView):
    """One version."""

    def get(self, request, pk):
        row = self.get_object()
        return Response(self.get_serializer_class()(row, context=self.version_context()).data)
