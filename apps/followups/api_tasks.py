"""API of the follow-up tasks (回访) and of "my day" (thin: apps.followups.services writes and
validates, apps.followups.selectors and apps.followups.myday read).

GET  /api/v1/followups/tasks/?status=&purpose=&channel=&assignee=&team=&customer=
                              &due_from=&due_to=&overdue=true     the follow-ups the caller sees
POST /api/v1/followups/tasks/                {"customer": id, "purpose": "after_sale",
                                              "channel": "phone", "due_at": "…" (optional),
                                              "assignee": id (optional), "title": ""}
GET  /api/v1/followups/tasks/<pk>/           one follow-up
POST /api/v1/followups/tasks/<pk>/result/    {"result": "reached", "satisfaction": 4,
                                              "notes": "", "next_step": ""}
POST /api/v1/followups/tasks/<pk>/cancel/    {"reason": "客户已搬走"}
GET  /api/v1/followups/my-day/               the caller's day: overdue, today, upcoming

Who: sales, managers, customer service and administrators (finance has no follow-up access:
403). Sales see and record their own follow-ups, managers their team's, customer service and
administrators everything; cancelling: managers (their team), customer service,
administrators. Another tenant's follow-up, or one the caller may not see, is 404 whatever
the method; refusals of the services are field errors (400) with nothing changed."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import service_call
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from . import myday, selectors, services
from .models import Channel, FollowUpTask, Purpose
from .serializers import (
    FollowUpCancelSerializer,
    FollowUpCreateSerializer,
    FollowUpFilterSerializer,
    FollowUpResultResponseSerializer,
    FollowUpResultSerializer,
    FollowUpTaskSerializer,
    MyDaySerializer,
    my_day_data,
)

#: Who works on follow-ups (finance does not).
TASK_ROLES = selectors.CREATE_ROLES
CanUse = role_permission(*TASK_ROLES)
CanCancel = role_permission(*selectors.CANCEL_ROLES)

#: The service's field names → the API's.
RESULT_RENAME = {"result_notes": "notes"}

TASK_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=FollowUpTask.Status.values),
    OpenApiParameter("purpose", OpenApiTypes.STR, enum=Purpose.values),
    OpenApiParameter("channel", OpenApiTypes.STR, enum=Channel.values),
    OpenApiParameter("assignee", OpenApiTypes.INT, description="Assignee's staff id."),
    OpenApiParameter("team", OpenApiTypes.INT, description="Team id (the assignee's team "
                                                           "when the task was made)."),
    OpenApiParameter("customer", OpenApiTypes.INT, description="Customer id."),
    OpenApiParameter("due_from", OpenApiTypes.STR, description=(
        "Due from: an ISO date (from the start of that day in the company's time zone) or "
        "date and time (without an offset: the company's time).")),
    OpenApiParameter("due_to", OpenApiTypes.STR, description=(
        "Due before: an ISO date (up to the end of that day, included) or date and time "
        "(excluded).")),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description=(
        "true: only the open follow-ups past their due time.")),
]



class TaskAPIMixin(TenantAPIMixin):
    model = FollowUpTask
    filter_backends: list = []
    serializer_class = FollowUpTaskSerializer
    permission_classes = [CanUse]

    def scope_queryset(self, queryset):
        return selectors.visible_tasks(self.staff, queryset)

    def get_queryset(self):
        return super().get_queryset().select_related("customer", "assignee", "completed_by")

    def task_data(self, task: FollowUpTask) -> dict:
        # Read back unscoped: a task just created for someone else stays answerable.
        task = (FollowUpTask.objects.select_related("customer", "assignee", "completed_by")
                .get(pk=task.pk))
        return FollowUpTaskSerializer(task).data


class TaskListAPIView(TaskAPIMixin, GenericAPIView):
    def get_serializer_class(self):
        return FollowUpCreateSerializer if self.request.method == "POST" \
            else FollowUpTaskSerializer

    @extend_schema(summary="The follow-ups the caller sees, soonest due first",
                   operation_id="followups_tasks_list", parameters=TASK_PARAMETERS,
                   responses=FollowUpTaskSerializer(many=True))
    def get(self, request):
        filters = FollowUpFilterSerializer(data=request.query_params,
                                           context={"time_zone": self.tenant.time_zone})
        filters.is_valid(raise_exception=True)
        rows = selectors.filter_tasks(self.get_queryset(), **filters.validated_data)
        page = self.paginate_queryset(rows.order_by("due_at", "id"))
        return self.get_paginated_response(FollowUpTaskSerializer(page, many=True).data)

    @extend_schema(summary="Create a follow-up", operation_id="followups_tasks_create",
                   request=FollowUpCreateSerializer, responses={201: FollowUpTaskSerializer})
    def post(self, request):
        payload = FollowUpCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        task = service_call(lambda: services.task_create(
            tenant=self.tenant, actor=self.staff, customer=data["customer"],
            purpose=data["purpose"], channel=data["channel"], due_at=data["due_at"],
            assignee=data["assignee"], title=data["title"]))
        return Response(self.task_data(task), status=status.HTTP_201_CREATED)


class TaskDetailAPIView(TaskAPIMixin, GenericAPIView):
    @extend_schema(summary="A follow-up", operation_id="followups_tasks_retrieve")
    def get(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)


class TaskResultAPIView(TaskAPIMixin, GenericAPIView):
    serializer_class = FollowUpResultSerializer

    @extend_schema(summary="Record the result of a follow-up",
                   operation_id="followups_tasks_result", request=FollowUpResultSerializer,
                   responses={200: FollowUpResultResponseSerializer})
    def post(self, request, pk):
        task = self.get_object()
        payload = FollowUpResultSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        done = service_call(lambda: services.task_complete(
            tenant=self.tenant, actor=self.staff, task=task, result=data["result"],
            satisfaction=data["satisfaction"], notes=data["notes"],
            next_step=data["next_step"]), RESULT_RENAME)
        body = self.task_data(done)
        body["follow_ups"] = [t.pk for t in done.follow_ups]
        return Response(body)


class TaskCancelAPIView(TaskAPIMixin, GenericAPIView):
    serializer_class = FollowUpCancelSerializer
    permission_classes = [CanCancel]

    @extend_schema(summary="Cancel a follow-up with a reason (managers, customer service, "
                           "administrators)",
                   operation_id="followups_tasks_cancel", request=FollowUpCancelSerializer,
                   responses={200: FollowUpTaskSerializer})
    def post(self, request, pk):
        task = self.get_object()
        payload = FollowUpCancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        service_call(lambda: services.task_cancel(
            tenant=self.tenant, actor=self.staff, task=task,
            reason=payload.validated_data["reason"]))
        return Response(self.task_data(task))


class MyDayAPIView(TenantAPIMixin, GenericAPIView):
    """The caller's open follow-ups: overdue, today's by calling window, the next days; each
    with the script for its purpose and the customer's key facts."""

    model = FollowUpTask
    filter_backends: list = []
    pagination_class = None
    permission_classes = [CanUse]
    serializer_class = MyDaySerializer

    @extend_schema(summary="My day: overdue, today's and upcoming follow-ups",
                   operation_id="followups_my_day")
    def get(self, request):
        return Response(my_day_data(myday.my_day(self.staff, tenant=self.tenant)))
