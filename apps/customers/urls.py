from django.urls import path

from . import views, views_export

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("export.xlsx", views_export.CustomerExportView.as_view(), name="export"),
    path("new/", views.CustomerCreateView.as_view(), name="create"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CustomerEditView.as_view(), name="edit"),
    path("<int:pk>/relations/", views.RelationAddView.as_view(), name="relation_add"),
    path("<int:pk>/relations/<int:relation_pk>/remove/", views.RelationRemoveView.as_view(),
         name="relation_remove"),
]
