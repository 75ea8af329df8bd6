"""The web shell: sign-in, my settings, home page, teams and staff pages; and the small
account API (token, logout, me). Thin: reads from `selectors`, writes through `services`."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, ListView, TemplateView
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.core.audit import history_of, history_rows
from apps.core.forms import add_service_errors
from apps.core.views import is_htmx

from . import selectors, services
from .api import TenantAPIMixin
from .forms import (
    LanguageForm,
    PasswordChangeForm,
    StaffActiveForm,
    StaffAuthenticationForm,
    StaffCreateForm,
    StaffEditForm,
    StaffFilterForm,
    TeamForm,
)
from .models import Staff, Team, User
from .roles import Role
from .serializers import MeSerializer, TokenObtainSerializer, TokenSerializer
from .views_base import StaffRequiredMixin, TenantObjectMixin

# --------------------------------------------------------------------------- sign-in, password

class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link cannot sign anyone out."""


class PasswordChangeView(StaffRequiredMixin, auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        user = services.user_change_password(tenant=self.tenant, actor=self.staff,
                                             new_password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, user)  # stay signed in on this device
        return redirect(self.get_success_url())


class PasswordChangeDoneView(StaffRequiredMixin, auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"


# --------------------------------------------------------------------------- my settings

class SettingsView(StaffRequiredMixin, FormView):
    template_name = "tenancy/settings.html"
    form_class = LanguageForm

    def get_initial(self):
        return {"language": self.request.user.language or settings.LANGUAGE_CODE}

    def get_context_data(self, **kwargs):
        return super().get_context_data(profile=self.staff, **kwargs)

    def form_valid(self, form):
        language = form.cleaned_data["language"]
        services.user_set_language(tenant=self.tenant, actor=self.staff, language=language)
        with translation.override(language):  # the confirmation in the language just picked
            messages.success(self.request, _("Your settings have been saved."))
        return redirect("settings")


# --------------------------------------------------------------------------- home

class HomeView(StaffRequiredMixin, TemplateView):
    template_name = "home/home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        panels = selectors.home_panels(self.staff)
        ctx["panels"] = panels
        ctx["app_panels"] = selectors.app_home_panels(self.staff)
        teams = panels.get("teams")
        if teams and teams["rows"]:
            ctx["team_chart"] = {
                "labels": [row["team"] for row in teams["rows"]],
                "data": [row["customers"] for row in teams["rows"]],
                "label": _("Customers"),
            }
        return ctx


# --------------------------------------------------------------------------- teams (admins)

class AdminOnly:
    required_roles = (Role.ADMIN,)


class ObjectMixin(TenantObjectMixin):
    """The object named by `<int:pk>`, from the scoped queryset: another tenant's id is 404."""

    def get_object(self):
        if not hasattr(self, "object"):
            self.object = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        return self.object

    def get_context_data(self, **kwargs):
        kwargs.setdefault("object", self.get_object())
        return super().get_context_data(**kwargs)


class TeamListView(AdminOnly, StaffRequiredMixin, ListView):
    template_name = "tenancy/team_list.html"
    context_object_name = "teams"

    def get_queryset(self):
        return selectors.team_list()


class TeamFormMixin:
    """Create and edit share this; each view defines `save(form) -> Team` (a service call)."""

    template_name = "tenancy/team_form.html"
    form_class = TeamForm
    success_url = reverse_lazy("tenancy:team_list")

    def form_valid(self, form):
        try:
            team = self.save(form)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Team “%(team)s” saved.") % {"team": team.name})
        return redirect(self.success_url)


class TeamCreateView(AdminOnly, TeamFormMixin, StaffRequiredMixin, FormView):
    def save(self, form):
        return services.team_create(tenant=self.tenant, actor=self.staff,
                                    name=form.cleaned_data["name"])


class TeamEditView(AdminOnly, TeamFormMixin, ObjectMixin, FormView):
    model = Team

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "team": self.get_object()}

    def get_initial(self):
        team = self.get_object()
        return {"name": team.name, "active": team.active}

    def save(self, form):
        return services.team_update(tenant=self.tenant, actor=self.staff, team=self.get_object(),
                                    name=form.cleaned_data["name"],
                                    active=form.cleaned_data["active"])


# --------------------------------------------------------------------------- staff (admins)

class StaffListView(AdminOnly, StaffRequiredMixin, ListView):
    template_name = "tenancy/staff_list.html"
    context_object_name = "members"
    paginate_by = 25

    def get(self, request, *args, **kwargs):
        self.filter_form = StaffFilterForm(request.GET or None)
        response = super().get(request, *args, **kwargs)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def get_queryset(self):
        return selectors.staff_list(**self.filter_form.filters())

    def get_template_names(self):
        if is_htmx(self.request):
            return ["tenancy/_staff_results.html"]  # the filter form swaps only the results
        return [self.template_name]

    def get_context_data(self, **kwargs):
        return super().get_context_data(filter_form=self.filter_form, **kwargs)


HISTORY_LABELS = {
    "staff.create": gettext_lazy("Added"),
    "staff.update": gettext_lazy("Changed"),
    "staff.deactivate": gettext_lazy("Deactivated"),
    "staff.reactivate": gettext_lazy("Reactivated"),
    "user.language": gettext_lazy("Changed their language"),
    "user.password_change": gettext_lazy("Changed their password"),
    "auth.token_issue": gettext_lazy("Got an API token"),
    "auth.token_revoke": gettext_lazy("Signed out of the API"),
    "ownership.reassign": gettext_lazy("Customers reassigned"),
}


def _history_rows(history: list) -> list[dict]:
    """The staff member's audit entries with translated field labels, team names, role and
    language labels instead of the stored keys, ids and codes."""
    team_ids = set()
    for entry in history:
        value = entry.changes.get("team")
        team_ids.update(v for v in (value if isinstance(value, list) else [value]) if v)
    team_names = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))
    roles = dict(Role.choices)
    languages = dict(User._meta.get_field("language").choices)

    def label(field):
        model = User if field in ("username", "language") else Staff
        try:
            return model._meta.get_field(field).verbose_name
        except FieldDoesNotExist:
            return field

    def show(field, value):
        if field == "team":
            return team_names.get(value, f"#{value}")
        if field == "roles":
            return "、".join(str(roles.get(r, r)) for r in value)
        if field == "active":
            return _("Active") if value else _("Deactivated")
        if field == "language":
            return languages.get(value, value)
        return value

    return history_rows(history, action_labels=HISTORY_LABELS, label=label, show=show)


class StaffDetailView(AdminOnly, ObjectMixin, TemplateView):
    model = Staff
    template_name = "tenancy/staff_detail.html"

    def scope_queryset(self, queryset):
        return queryset.select_related("team", "user")

    def get_context_data(self, **kwargs):
        history = _history_rows(history_of(self.get_object(), limit=50))
        return super().get_context_data(history=history, **kwargs)


class StaffCreateView(AdminOnly, StaffRequiredMixin, FormView):
    template_name = "tenancy/staff_form.html"
    form_class = StaffCreateForm

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            staff = services.staff_create(
                tenant=self.tenant, actor=self.staff, username=data["username"],
                password=data["password"], name=data["name"], phone=data["phone"],
                team=data["team"], roles=data["roles"], base_salary=data["base_salary"])
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("%(name)s can now sign in as “%(username)s”.") % {
            "name": staff.name, "username": data["username"]})
        return redirect("tenancy:staff_detail", pk=staff.pk)


class StaffEditView(AdminOnly, ObjectMixin, FormView):
    model = Staff
    template_name = "tenancy/staff_form.html"
    form_class = StaffEditForm

    def scope_queryset(self, queryset):
        return queryset.select_related("team", "user")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "current_team": self.get_object().team}

    def get_initial(self):
        return StaffEditForm.initial_for(self.get_object())

    def form_valid(self, form):
        data = form.cleaned_data
        staff = self.get_object()
        try:
            services.staff_update(tenant=self.tenant, actor=self.staff, staff=staff,
                                  name=data["name"], roles=data["roles"], team=data["team"],
                                  phone=data["phone"], base_salary=data["base_salary"],
                                  reason=data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Changes to %(name)s saved.") % {"name": data["name"]})
        return redirect("tenancy:staff_detail", pk=staff.pk)


class StaffSetActiveView(AdminOnly, ObjectMixin, FormView):
    """Confirmation page, then the service call. `active` is what the member becomes."""

    model = Staff
    active: bool
    form_class = StaffActiveForm
    template_name = "tenancy/staff_confirm_active.html"

    def scope_queryset(self, queryset):
        return queryset.select_related("team", "user")

    def get(self, request, *args, **kwargs):
        staff = self.get_object()
        if staff.active == self.active:
            messages.info(request, self.already_message(staff))
            return redirect("tenancy:staff_detail", pk=staff.pk)
        return super().get(request, *args, **kwargs)

    def already_message(self, staff):
        if self.active:
            return _("%(name)s is already active.") % {"name": staff.name}
        return _("%(name)s is already deactivated.") % {"name": staff.name}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "reason_required": not self.active}

    def get_context_data(self, **kwargs):
        return super().get_context_data(activating=self.active, **kwargs)

    def form_valid(self, form):
        staff = self.get_object()
        if staff.active == self.active:
            messages.info(self.request, self.already_message(staff))
            return redirect("tenancy:staff_detail", pk=staff.pk)
        try:
            services.staff_set_active(tenant=self.tenant, actor=self.staff, staff=staff,
                                      active=self.active, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        if self.active:
            msg = _("%(name)s is active again and can sign in.")
        else:
            msg = _("%(name)s has been deactivated and can no longer sign in. Their history is kept.")
        messages.success(self.request, msg % {"name": staff.name})
        return redirect("tenancy:staff_detail", pk=staff.pk)


class StaffDeactivateView(StaffSetActiveView):
    active = False


class StaffReactivateView(StaffSetActiveView):
    active = True


# --------------------------------------------------------------------------- account API

class AccountAPIView(TenantAPIMixin, APIView):
    """An API view about the caller themself (no object in the URL)."""

    lookup_field = "pk"
    lookup_url_kwarg = None


class TokenObtainView(APIView):
    """Exchange a username and password for an API token (active members only)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    # A strict rate per client address (API_THROTTLE_AUTH_TOKEN) against password guessing
    # across many usernames; wrong passwords for one username are locked out by django-axes.
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "auth_token"
    serializer_class = TokenObtainSerializer

    @extend_schema(
        request=TokenObtainSerializer,
        responses={200: TokenSerializer,
                   400: OpenApiResponse(description="Missing fields, or wrong username or password."),
                   403: OpenApiResponse(description="The account or its company is deactivated "
                                                    "(code `inactive` or `no_membership`)."),
                   429: OpenApiResponse(description="Too many attempts from this address "
                                                    "(code `throttled`), or this username is "
                                                    "locked out on this address after repeated "
                                                    "wrong passwords (code `locked_out`).")},
        auth=[],
    )
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            staff = selectors.authenticate_member(request._request, **serializer.validated_data)
        except ValidationError as exc:
            code = exc.code or "invalid_login"
            if code == "invalid_login":
                raise exceptions.ValidationError({"non_field_errors": [str(exc.message)]})
            raise exceptions.PermissionDenied(detail=str(exc.message), code=code)
        key = services.auth_token_issue(staff=staff)
        return Response(TokenSerializer({"token": key}).data)


class TokenLogoutView(AccountAPIView):
    """Delete the caller's API token; every client using it is signed out."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.auth_token_revoke(user=request.user, staff=self.staff)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(AccountAPIView):
    """Who am I: login, membership, company, roles and interface language."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        staff = self.staff
        data = {"user": request.user, "staff": staff, "tenant": staff.tenant,
                "roles": list(staff.roles),
                "language": request.user.language or settings.LANGUAGE_CODE}
        return Response(MeSerializer(data).data)

