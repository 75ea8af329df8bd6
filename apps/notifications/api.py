"""The caller's own notifications (thin: the selectors read, the services write)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import service_call
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import IsActiveStaff

from . import services
from .models import Notification, NotificationPreference
from .selectors import channels_available, inbox, preferences_of, unread_count
from .serializers import (
    MarkedSerializer,
    NotificationSerializer,
    PreferencesSerializer,
    UnreadCountSerializer,
)


@extend_schema_view(list=extend_schema(
    summary="My notifications, newest first",
    parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL,
                                 description="1: only the unread ones."),
                OpenApiParameter("kind", OpenApiTypes.STR,
                                 description="Only this kind (one of: "
                                 + ", ".join(Notification.Kind.values) + ").")]))
class NotificationViewSet(TenantAPIMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Only the caller's own notifications exist here: anyone else's id is a 404."""

    model = Notification
    serializer_class = NotificationSerializer
    permission_classes = [IsActiveStaff]
    filter_backends: list = []
    lookup_value_regex = r"\d+"

    def scope_queryset(self, queryset):
        return queryset.filter(recipient=self.staff)

    def list(self, request, *args, **kwargs):
        unread = request.query_params.get("unread", "").lower() in ("1", "true", "yes")
        kind = request.query_params.get("kind", "")
        if kind and kind not in Notification.Kind.values:
            raise ValidationError({"kind": [_("Unknown kind of notification: %(kind)s.")
                                            % {"kind": kind}]})
        page = self.paginate_queryset(inbox(self.staff, unread_only=unread, kind=kind))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Mark one of my notifications read", request=None,
                   responses=NotificationSerializer)
    @action(detail=True, methods=["post"], url_path="read")
    def read(self, request, pk=None):
        notification = services.notification_mark_read(
            tenant=self.tenant, actor=self.staff, notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(summary="Mark all my notifications read", request=None,
                   responses=MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        count = services.notifications_mark_all_read(tenant=self.tenant, actor=self.staff)
        return Response({"marked": count})

    @extend_schema(summary="How many of my notifications are unread", responses=UnreadCountSerializer)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": unread_count(self.staff)})


class NotificationPreferencesAPIView(TenantAPIMixin, GenericAPIView):
    """The caller's own channels per kind of notification (nobody else's can be read or
    changed here)."""

    model = NotificationPreference
    serializer_class = PreferencesSerializer
    permission_classes = [IsActiveStaff]
    filter_backends: list = []

    def _body(self):
        available = channels_available(self.staff)
        return {"email_available": available["email"], "sms_available": available["sms"],
                "preferences": preferences_of(self.staff)}

    @extend_schema(summary="My notification preferences",
                   operation_id="notification_preferences_retrieve")
    def get(self, request):
        return Response(self.get_serializer(self._body()).data)

    @extend_schema(summary="Change my notification preferences",
                   operation_id="notification_preferences_update")
    def put(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values: dict[str, dict] = {}
        for item in payload.validated_data["preferences"]:
            item = dict(item)
            values.setdefault(item.pop("kind"), {}).update(item)
        service_call(lambda: services.notification_preferences_save(
            tenant=self.tenant, actor=self.staff, staff=self.staff, values=values))
        return Response(self.get_serializer(self._body()).data)
