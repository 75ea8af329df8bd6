"""API routes of the follow-up tasks and "my day" (under /api/v1/); included in
apps/followups/api_urls.py."""

from django.urls import path

from . import api_tasks as api

urlpatterns: list = [
    path("followups/tasks/", api.TaskListAPIView.as_view(), name="api-followups-tasks"),
    path("followups/tasks/<int:pk>/", api.TaskDetailAPIView.as_view(),
         name="api-followups-task"),
    path("followups/tasks/<int:pk>/result/", api.TaskResultAPIView.as_view(),
         name="api-followups-task-result"),
    path("followups/tasks/<int:pk>/cancel/", api.TaskCancelAPIView.as_view(),
         name="api-followups-task-cancel"),
    path("followups/my-day/", api.MyDayAPIView.as_view(), name="api-followups-my-day"),
]
