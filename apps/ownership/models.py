from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.customers.models import Customer
from apps.tenancy.models import Staff, Team, TenantModel


class OwnershipPolicy(TenantModel):
    """The tenant's ownership windows and caps, effective from a day; each save is a new version.

    The version in force on a day is the one with the latest `effective_from` on or before it
    (`apps.ownership.selectors.policy_for`); a tenant without any row uses the defaults of
    `apps.ownership.rules.DEFAULT_POLICY`. Rows are never edited: a change is a new version."""

    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    release_after_days = models.PositiveSmallIntegerField(
        _("release after (days without effective contact)"), default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)])
    revisit_window_days = models.PositiveSmallIntegerField(
        _("revisit window (days)"), default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)])
    warn_before_days = models.PositiveSmallIntegerField(
        _("warn before release (days)"), default=3,
        validators=[MinValueValidator(0), MaxValueValidator(60)])
    max_customers_per_owner = models.PositiveIntegerField(
        _("most customers one salesperson may own"), null=True, blank=True,
        help_text=_("Empty: no cap."))
    daily_claim_cap = models.PositiveSmallIntegerField(
        _("most claims from the pool per salesperson per day"), null=True, blank=True,
        help_text=_("Empty: no cap."))
    reclaim_after_days = models.PositiveSmallIntegerField(
        _("days before a former owner may reclaim"), default=7,
        validators=[MaxValueValidator(365)])
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("ownership policy")
        verbose_name_plural = _("ownership policies")
        ordering = ["-effective_from", "-version"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "version"], name="ownership_policy_version"),
            models.UniqueConstraint(fields=["tenant", "effective_from"],
                                    name="ownership_policy_one_per_day"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.effective_from})"


class OwnershipShare(TenantModel):
    """Who earns the credit of a customer's deals, as decided in a dispute.

    The deals issue reads the active shares of a customer: one row per salesperson with a
    percentage (summing to 100), or a single `confiscated` row (业绩充公: nobody earns credit).
    A later decision deactivates the earlier rows instead of deleting them."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credit_shares",
                                 verbose_name=_("customer"))
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("salesperson"))
    percent = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2,
                                  default=Decimal("0"))
    confiscated = models.BooleanField(_("confiscated"), default=False)
    active = models.BooleanField(_("active"), default=True)
    #: The dispute that decided it (an id: disputes depend on this app, not the other way).
    dispute_id = models.BigIntegerField(_("dispute"), null=True, blank=True)
    rule = models.CharField(_("rule"), max_length=40, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    created_at = models.DateTimeField(_("decided at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("ownership share")
        verbose_name_plural = _("ownership shares")
        ordering = ["-percent", "id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(percent__gte=0) & models.Q(percent__lte=100),
                name="ownership_share_percent_range"),
            models.CheckConstraint(
                condition=(models.Q(confiscated=True, staff__isnull=True, percent=0)
                           | models.Q(confiscated=False, staff__isnull=False)),
                name="ownership_share_staff_or_confiscated"),
            models.UniqueConstraint(fields=["tenant", "customer", "staff"],
                                    condition=models.Q(active=True), nulls_distinct=False,
                                    name="ownership_share_one_active_per_staff"),
        ]
        indexes = [models.Index(fields=["tenant", "customer", "active"],
                                name="ownership_share_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.staff_id or '-'} {self.percent}%"


class Visit(TenantModel):
    """A customer came to the store/office (来访): an effective contact, and the record the
    walk-in rotation and the revisit window read."""

    class Kind(models.TextChoices):
        WALK_IN = "walk_in", _("Walk-in")
        APPOINTMENT = "appointment", _("Appointment")
        BROUGHT_BY_CUSTOMER = "brought", _("Brought by an old customer")
        REVISIT = "revisit", _("Return visit")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="visits",
                                 verbose_name=_("customer"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("team"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.WALK_IN)
    #: Who the visit counts for (the owner after routing).
    attributed_to = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("salesperson"))
    #: Who actually received the customer; differs from `attributed_to` for a courtesy
    #: reception (the named salesperson was absent).
    received_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("received by"))
    courtesy = models.BooleanField(_("courtesy reception"), default=False)
    named_staff = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("salesperson asked for"))
    brought_by = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("brought by"))
    #: How the rotation decided (a code of apps.rotation.rules.Route), for the record.
    route = models.CharField(_("routing"), max_length=30, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("recorded by"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "customer", "-at"], name="visit_customer_idx"),
            models.Index(fields=["tenant", "team", "-at"], name="visit_team_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.at:%Y-%m-%d %H:%M}"
