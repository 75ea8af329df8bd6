import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .managers import TenantScopedManager, UnscopedManager
from .rls import RowLevelSecurityConstraint
from .roles import Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(value)s"), params={"value": value})


class Tenant(models.Model):
    """One company. The root of isolation: it has no tenant_id, and holds no customer data."""

    class Industry(models.TextChoices):
        HOME_FURNISHING = "home_furnishing", _("Furniture and home")
        EDUCATION = "education", _("Education and training")
        CAR_DEALER = "car_dealer", _("Car dealer")
        REAL_ESTATE = "real_estate", _("Real estate sales")
        INSURANCE = "insurance", _("Insurance")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices,
                                default=Industry.OTHER)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai",
                                 validators=[validate_time_zone])
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A login. Which company it works for is its Staff membership."""

    language = models.CharField(_("language"), max_length=10, blank=True,
                                choices=[("zh-hans", "简体中文"), ("en", "English")],
                                help_text=_("Empty means the site default (Simplified Chinese)."))

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class TenantModel(models.Model):
    """Base of every tenant-owned table: tenant column, scoped manager, row-level security.

    A subclass that declares its own Meta.constraints must keep `TenantModel.Meta.constraints`
    in them; a system check (tenancy.E001) refuses a tenant model without its RLS policy.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("tenant"), editable=False)

    objects = TenantScopedManager()
    unscoped_objects = UnscopedManager()

    class Meta:
        abstract = True
        base_manager_name = "unscoped_objects"
        constraints = [RowLevelSecurityConstraint(name="%(app_label)s_%(class)s_tenant_isolation")]


class Team(TenantModel):
    """A team, store or campus (团队/门店/校区)."""

    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="team_name_unique_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.name


class Staff(TenantModel):
    """A user's membership of exactly one tenant, with a team and one or more roles."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="staff",
                                verbose_name=_("login"))
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("mobile phone"), max_length=11, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="members", verbose_name=_("team"))
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices),
                       verbose_name=_("roles"), default=list)
    base_salary = models.DecimalField(_("base salary"), max_digits=14, decimal_places=2,
                                      default=0, validators=[MinValueValidator(0)])
    active = models.BooleanField(_("active"), default=True)
    joined_at = models.DateTimeField(_("joined at"), auto_now_add=True)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["name"]
        constraints = [
            # The signed-in user may read their own membership before a tenant is known.
            RowLevelSecurityConstraint(name="tenancy_staff_tenant_isolation",
                                       self_read_field="user_id"),
            models.CheckConstraint(condition=models.Q(base_salary__gte=0),
                                   name="staff_base_salary_not_negative"),
        ]
        indexes = [models.Index(fields=["tenant", "team"], name="staff_tenant_team_idx")]

    def __str__(self) -> str:
        return self.name

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_manager(self) -> bool:
        return Role.MANAGER in self.roles

    def get_roles_display(self) -> str:
        labels = dict(Role.choices)
        return "、".join(str(labels.get(r, r)) for r in self.roles)
