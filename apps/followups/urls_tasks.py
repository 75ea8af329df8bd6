"""Routes of the follow-up task pages and My day; included in apps/followups/urls.py
(namespace "followups", prefix /followups/): task_list, task_create, task_detail, task_result,
task_cancel, my_day."""

from django.urls import path

from . import views_tasks as views

urlpatterns: list = [
    path("", views.TaskListView.as_view(), name="task_list"),
    path("new/", views.TaskCreateView.as_view(), name="task_create"),
    path("my-day/", views.MyDayView.as_view(), name="my_day"),
    path("<int:pk>/", views.TaskDetailView.as_view(), name="task_detail"),
    path("<int:pk>/result/", views.TaskResultView.as_view(), name="task_result"),
    path("<int:pk>/cancel/", views.TaskCancelView.as_view(), name="task_cancel"),
]
