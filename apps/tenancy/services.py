"""Every write to tenants, teams and staff. Keyword-only, one transaction, audited."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.audit import audit_record, diff

from .context import tenant_context
from .models import Staff, Team, Tenant, User
from .roles import Role

VALID_ROLES = {r.value for r in Role}


def tenant_create(*, name: str, slug: str, industry: str = Tenant.Industry.OTHER,
                  time_zone: str = "Asia/Shanghai") -> Tenant:
    """Platform operation (management command / demo loader): a new company."""
    tenant = Tenant(name=name, slug=slug, industry=industry, time_zone=time_zone)
    tenant.full_clean()
    tenant.save()
    return tenant


def _clean_roles(roles) -> list[str]:
    roles = list(dict.fromkeys(roles or []))
    unknown = [r for r in roles if r not in VALID_ROLES]
    if unknown:
        raise ValidationError({"roles": _("Unknown role: %(roles)s") % {"roles": ", ".join(unknown)}})
    if not roles:
        raise ValidationError({"roles": _("Pick at least one role.")})
    return roles


def _check_team(tenant: Tenant, team: Team | None) -> None:
    if team is not None and team.tenant_id != tenant.pk:
        raise ValidationError({"team": _("Unknown team.")})


def _save_team(team: Team) -> None:
    """Save; a name taken meanwhile (the unique constraint) becomes a field error."""
    if Team.objects.filter(name=team.name).exclude(pk=team.pk).exists():
        raise ValidationError({"name": _("A team with this name already exists.")})
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise ValidationError({"name": _("A team with this name already exists.")})


@transaction.atomic
def team_create(*, tenant: Tenant, actor: Staff | None, name: str) -> Team:
    with tenant_context(tenant):
        team = Team(tenant=tenant, name=name.strip())
        team.full_clean(exclude=["tenant"])
        _save_team(team)
        audit_record(tenant=tenant, actor=actor, action="team.create", target=team,
                     changes={"name": team.name})
        return team


@transaction.atomic
def team_update(*, tenant: Tenant, actor: Staff | None, team: Team, name: str,
                active: bool = True) -> Team:
    with tenant_context(tenant):
        team = Team.objects.select_for_update().get(pk=team.pk)
        changes = diff(team, {"name": name.strip(), "active": active})
        team.name, team.active = name.strip(), active
        team.full_clean(exclude=["tenant"])
        _save_team(team)
        if changes:
            audit_record(tenant=tenant, actor=actor, action="team.update", target=team,
                         changes=changes)
        return team


@transaction.atomic
def staff_create(*, tenant: Tenant, actor: Staff | None, username: str, password: str | None,
                 name: str, roles, team: Team | None = None, phone: str = "",
                 base_salary: Decimal = Decimal("0"), email: str = "",
                 language: str = "") -> Staff:
    """A new login and its membership of `tenant`. Usernames are unique across the platform."""
    with tenant_context(tenant):
        roles = _clean_roles(roles)
        _check_team(tenant, team)
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError({"username": _("This username is already taken.")})
        user = User(username=username, email=email, language=language,
                    is_staff=Role.ADMIN in roles)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # taken by a concurrent request since the check above
            raise ValidationError({"username": _("This username is already taken.")})
        staff = Staff(tenant=tenant, user=user, name=name.strip(), phone=phone, team=team,
                      roles=roles, base_salary=Decimal(base_salary))
        staff.full_clean(exclude=["tenant", "user"])
        staff.save()
        audit_record(tenant=tenant, actor=actor, action="staff.create", target=staff,
                     changes={"username": username, "name": staff.name, "roles": roles,
                              "team": team.pk if team else None, "base_salary": staff.base_salary})
        return staff


@transaction.atomic
def staff_update(*, tenant: Tenant, actor: Staff | None, staff: Staff, name: str, roles,
                 team: Team | None, phone: str = "", base_salary: Decimal = Decimal("0"),
                 reason: str = "") -> Staff:
    with tenant_context(tenant):
        staff = Staff.objects.select_for_update().get(pk=staff.pk)
        roles = _clean_roles(roles)
        _check_team(tenant, team)
        if actor is not None and staff.pk == actor.pk and Role.ADMIN not in roles:
            raise ValidationError({"roles": _("You cannot remove your own administrator role.")})
        data = {"name": name.strip(), "roles": roles, "team": team, "phone": phone,
                "base_salary": Decimal(base_salary)}
        changes = diff(staff, data)
        for field, value in data.items():
            setattr(staff, field, value)
        staff.full_clean(exclude=["tenant", "user"])
        staff.save()
        user = staff.user
        if user.is_staff != (Role.ADMIN in roles):
            user.is_staff = Role.ADMIN in roles
            user.save(update_fields=["is_staff"])
        if changes:
            audit_record(tenant=tenant, actor=actor, action="staff.update", target=staff,
                         changes=changes, reason=reason)
        return staff


@transaction.atomic
def staff_set_active(*, tenant: Tenant, actor: Staff | None, staff: Staff, active: bool,
                     reason: str = "") -> Staff:
    """Deactivate (or reactivate) a member. History stays; the login stops working."""
    with tenant_context(tenant):
        staff = Staff.objects.select_for_update().get(pk=staff.pk)
        if actor is not None and staff.pk == actor.pk and not active:
            raise ValidationError(_("You cannot deactivate yourself."))
        if staff.active == active:
            return staff
        staff.active = active
        staff.deactivated_at = None if active else timezone.now()
        staff.save(update_fields=["active", "deactivated_at"])
        user = staff.user
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(tenant=tenant, actor=actor,
                     action="staff.reactivate" if active else "staff.deactivate", target=staff,
                     changes={"active": [not active, active]}, reason=reason)
        return staff


# --------------------------------------------------------------------------- the signed-in user
# Their own settings, password and API tokens.

LANGUAGE_CHOICES = {code for code, _label in User._meta.get_field("language").choices}


@transaction.atomic
def user_set_language(*, tenant: Tenant, actor: Staff, language: str) -> User:
    """The actor picks their interface language ('zh-hans' or 'en'; '' = the site default)."""
    if language and language not in LANGUAGE_CHOICES:
        raise ValidationError({"language": _("Unknown language.")})
    with tenant_context(tenant):
        user = User.objects.select_for_update().get(pk=actor.user_id)
        if user.language != language:
            old = user.language
            user.language = language
            user.save(update_fields=["language"])
            audit_record(tenant=tenant, actor=actor, action="user.language", target=actor,
                         changes={"language": [old, language]})
        return user


@transaction.atomic
def user_change_password(*, tenant: Tenant, actor: Staff, new_password: str) -> User:
    """The actor sets a new password (the form has checked the old one and the validators)."""
    with tenant_context(tenant):
        user = User.objects.select_for_update().get(pk=actor.user_id)
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_record(tenant=tenant, actor=actor, action="user.password_change", target=actor)
        return user


@transaction.atomic
def auth_token_issue(*, staff: Staff) -> str:
    """The API token of an active member (created on first use); returns its key."""
    from rest_framework.authtoken.models import Token

    with tenant_context(staff.tenant_id):
        token, created = Token.objects.get_or_create(user_id=staff.user_id)
        if created:
            audit_record(tenant=staff.tenant, actor=staff, action="auth.token_issue", target=staff)
        return token.key


@transaction.atomic
def auth_token_revoke(*, user: User, staff: Staff | None) -> bool:
    """Delete the user's API token (API logout). Returns whether there was one."""
    from rest_framework.authtoken.models import Token

    deleted, _rows = Token.objects.filter(user_id=user.pk).delete()
    if deleted and staff is not None:
        with tenant_context(staff.tenant_id):
            audit_record(tenant=staff.tenant, actor=staff, action="auth.token_revoke", target=staff)
    return bool(deleted)
