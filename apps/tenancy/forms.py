"""Forms of the sign-in, settings, teams and staff pages. Validation only: writes go through
`apps.tenancy.services`, whose ValidationErrors are put back on the form
(`apps.core.forms.add_service_errors`)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.forms import BootstrapFormMixin
from apps.core.identity import normalize_phone

from . import selectors
from .models import Staff, Team, User
from .roles import Role

# --------------------------------------------------------------------------- sign-in

class StaffAuthenticationForm(BootstrapFormMixin, AuthenticationForm):
    """Django's login form, refusing logins without an active membership of an active tenant,
    with a message that says so (not the generic "wrong password")."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            staff = selectors.authenticate_member(self.request, username=username, password=password)
            self.staff = staff
            self.user_cache = staff.user
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class AdminStaffAuthenticationForm(StaffAuthenticationForm):
    """The admin site's login: the same membership check, and the admin's own `is_staff` rule."""

    error_messages = {**AuthenticationForm.error_messages,
                      "invalid_login": AdminAuthenticationForm.error_messages["invalid_login"]}
    required_css_class = "required"

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login",
                                  params={"username": self.username_field.verbose_name})


class PasswordChangeForm(BootstrapFormMixin, DjangoPasswordChangeForm):
    pass


# --------------------------------------------------------------------------- my settings

class LanguageForm(BootstrapFormMixin, forms.Form):
    language = forms.ChoiceField(label=_("Language"), widget=forms.RadioSelect,
                                 choices=[("zh-hans", "简体中文"), ("en", "English")])


# --------------------------------------------------------------------------- teams

class TeamForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("team", "Name"), max_length=100,
                           help_text=_("A team, store or campus, e.g. 一组 or 朝阳门店."))
    active = forms.BooleanField(label=_("Active"), required=False, initial=True,
                                help_text=_("A deactivated team keeps its history but is no longer "
                                            "offered for new staff."))

    def __init__(self, *args, team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if team is None:
            del self.fields["active"]  # a new team is active


# --------------------------------------------------------------------------- staff

class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name if obj.active else _("%(team)s (deactivated)") % {"team": obj.name}


class StaffFormBase(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, required=False)
    team = TeamChoiceField(label=_("Team"), queryset=None, required=False,
                           empty_label=_("No team"))
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=Role.choices,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text=_("A person may hold several roles."))
    base_salary = forms.DecimalField(label=_("Base salary (CNY)"), max_digits=14, decimal_places=2,
                                     min_value=Decimal("0"), initial=Decimal("0"))

    def __init__(self, *args, current_team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the tenant's teams (scoped manager, evaluated inside the request's tenant).
        self.fields["team"].queryset = selectors.team_choices(include=current_team)

    def clean_phone(self):
        phone = self.cleaned_data["phone"]
        return normalize_phone(phone) if phone else ""


class StaffCreateForm(StaffFormBase):
    username = forms.CharField(
        label=_("Username"), max_length=150, validators=[UnicodeUsernameValidator()],
        help_text=_("Used to sign in; unique across the whole system. Letters, digits and "
                    "@ . + - _ only."))
    password = forms.CharField(label=_("Initial password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("Tell it to the person; they can change it after "
                                           "signing in."))

    field_order = ["username", "password", "name", "phone", "team", "roles", "base_salary"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is already taken."), code="duplicate")
        return username

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = User(username=cleaned.get("username", ""))
            try:
                password_validation.validate_password(password, probe)
            except ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class StaffEditForm(StaffFormBase):
    reason = forms.CharField(label=_("Reason for the change"), max_length=500, required=False,
                             widget=forms.TextInput,
                             help_text=_("Optional; kept in the audit log."))

    @classmethod
    def initial_for(cls, staff: Staff) -> dict:
        return {"name": staff.name, "phone": staff.phone, "team": staff.team_id,
                "roles": list(staff.roles), "base_salary": staff.base_salary}


class StaffActiveForm(BootstrapFormMixin, forms.Form):
    """Confirmation of a deactivation (reason required) or reactivation (reason optional)."""

    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, reason_required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


class StaffFilterForm(BootstrapFormMixin, forms.Form):
    ACTIVE_CHOICES = [("active", _("Active")), ("inactive", _("Deactivated")), ("all", _("All"))]

    q = forms.CharField(label=_("Search"), required=False, max_length=50,
                        widget=forms.SearchInput(attrs={"placeholder": _("Name, username or phone")}))
    team = forms.ChoiceField(label=_("Team"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False,
                             choices=[("", _("All roles")), *Role.choices])
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        teams = [(str(t.pk), t.name if t.active else _("%(team)s (deactivated)") % {"team": t.name})
                 for t in Team.objects.order_by("-active", "name")]
        self.fields["team"].choices = [("", _("All teams")), *teams,
                                       (selectors.NO_TEAM, _("No team"))]

    def filters(self) -> dict:
        """Arguments for selectors.staff_list; invalid values fall back to the defaults."""
        data = self.cleaned_data if self.is_valid() else {}
        return {"q": data.get("q", ""), "team": data.get("team", ""), "role": data.get("role", ""),
                "active": data.get("active") or "active"}
