"""Pages of the tenancy app. Sign-in, home and settings names are global (`login`, `home`,
`settings`... as settings.LOGIN_URL expects); teams and staff pages live in the `tenancy`
namespace (`tenancy:staff_list`)."""

from django.urls import include, path

from . import views

tenancy_patterns = [
    path("teams/", views.TeamListView.as_view(), name="team_list"),
    path("teams/new/", views.TeamCreateView.as_view(), name="team_create"),
    path("teams/<int:pk>/edit/", views.TeamEditView.as_view(), name="team_edit"),
    path("staff/", views.StaffListView.as_view(), name="staff_list"),
    path("staff/new/", views.StaffCreateView.as_view(), name="staff_create"),
    path("staff/<int:pk>/", views.StaffDetailView.as_view(), name="staff_detail"),
    path("staff/<int:pk>/edit/", views.StaffEditView.as_view(), name="staff_edit"),
    path("staff/<int:pk>/deactivate/", views.StaffDeactivateView.as_view(), name="staff_deactivate"),
    path("staff/<int:pk>/reactivate/", views.StaffReactivateView.as_view(), name="staff_reactivate"),
]

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("", include((tenancy_patterns, "tenancy"))),
]
