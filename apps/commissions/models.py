"""Commissions (提成) and the monthly settlement (月结): versioned rule sets, the settlement of a
tenant-month with its state machine and team approvals, the stored result lines, and the
penalty events other modules feed in. The rules and the calculation are pure
(apps.commissions.rules, apps.commissions.engine); apps.commissions.settlements writes these."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import RulesVersion, version_constraints
from apps.deals.models import Deal
from apps.tenancy.models import Staff, Team, Tenant, TenantModel

from .rules import LINE_KINDS


class CommissionRuleSet(RulesVersion):
    """A version of the tenant's commission rules (data validated by apps.commissions.rules),
    effective from a day; never edited."""

    preset = models.CharField(_("preset"), max_length=30, blank=True)

    class Meta(RulesVersion.Meta):
        verbose_name = _("commission rule set")
        verbose_name_plural = _("commission rule sets")
        constraints = version_constraints("commission_rules")


class CommissionSettings(TenantModel):
    """The tenant's settlement settings (one row per tenant, created with the defaults)."""

    #: The day of the month the beat job calculates last month (1–28).
    calculation_day = models.PositiveSmallIntegerField(_("calculation day"), default=1)
    updated_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("updated by"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("commission settings")
        verbose_name_plural = _("commission settings")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="commission_settings_one"),
            models.CheckConstraint(condition=Q(calculation_day__gte=1, calculation_day__lte=28),
                                   name="commission_settings_day_range"),
        ]


class Settlement(TenantModel):
    """The settlement of one tenant-month (月结): open → calculated (re-runnable) → submitted →
    approved (each team's manager, then an administrator) → closed (finance; immutable, also in
    the database) → paid."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CALCULATED = "calculated", _("Calculated")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        CLOSED = "closed", _("Closed")
        PAID = "paid", _("Paid")

    #: Once closed, lines never change (a database trigger refuses it too).
    FROZEN_STATUSES = ("closed", "paid")

    month = models.DateField(_("month"))  # the first day of the month
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.OPEN)
    runs = models.PositiveIntegerField(_("calculations"), default=0)
    calculated_at = models.DateTimeField(_("calculated at"), null=True, blank=True)
    calculated_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("calculated by"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("submitted by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("approved by"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("closed by"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    paid_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("paid by"))
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2,
                                default=Decimal("0"))
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    people = models.PositiveIntegerField(_("people"), default=0)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-month"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "month"], name="settlement_one_per_month"),
        ]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def frozen(self) -> bool:
        return self.status in self.FROZEN_STATUSES


class TeamApproval(TenantModel):
    """A team manager's approval of their team's lines in a submitted settlement."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE,
                                   related_name="team_approvals",
                                   verbose_name=_("settlement"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("team"))
    approved_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("team approval")
        verbose_name_plural = _("team approvals")
        ordering = ["team__name", "id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "settlement", "team"],
                                    name="team_approval_once"),
        ]


class CommissionLine(TenantModel):
    """One result line of a settlement (apps.commissions.engine.Line, stored): who, what kind,
    which rule and version, base, rate or fixed amount, share, result, and what it comes from.
    An adjustment line carries what it adjusts (a late deal, a refund of a closed month's deal,
    a clawback, a late penalty)."""

    KIND_CHOICES = [(kind, kind) for kind in LINE_KINDS]

    # A month writes up to a million lines in one statement, so the table keeps only the
    # indexes its readers use (Meta.indexes) and one database foreign key, to the settlement.
    # Each other foreign-key check is a per-row trigger at commit (about 7 s per million
    # lines each, measured in the bench); tenant, staff, team and deal are guaranteed
    # without them: RLS's WITH CHECK pins tenant_id, the only writer
    # (settlements.settlement_calculate) copies ids it has just read in the same
    # transaction, and those rows are never deleted (on_delete=PROTECT still guards the ORM).
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("tenant"), editable=False, db_index=False,
                               db_constraint=False)
    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines",
                                   verbose_name=_("settlement"), db_index=False)
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("staff member"),
                              db_index=False, db_constraint=False)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("team"), db_index=False,
                             db_constraint=False)
    kind = models.CharField(_("kind"), max_length=20, choices=KIND_CHOICES)
    rule_version = models.PositiveIntegerField(_("rule version"), null=True, blank=True)
    rule_index = models.PositiveSmallIntegerField(_("rule no."), null=True, blank=True)
    rule_name = models.CharField(_("rule"), max_length=200, blank=True)
    base = models.DecimalField(_("base"), max_digits=16, decimal_places=2, null=True, blank=True)
    rate = models.DecimalField(_("rate (%)"), max_digits=12, decimal_places=6, null=True,
                               blank=True)
    fixed = models.DecimalField(_("fixed amount"), max_digits=16, decimal_places=2, null=True,
                                blank=True)
    share = models.DecimalField(_("share (%)"), max_digits=12, decimal_places=6, null=True,
                                blank=True)
    result = models.DecimalField(_("result"), max_digits=16, decimal_places=2)
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("deal"), db_index=False,
                             db_constraint=False)
    #: The event behind the line ("deal:12", "refund:7", "penalty:3", "referral:9", ...).
    ref = models.CharField(_("source"), max_length=100, blank=True)
    #: An adjustment: what it adjusts (e.g. "refund:7 of deal:12, closed 2026-10").
    adjusts = models.CharField(_("adjusts"), max_length=200, blank=True)
    is_adjustment = models.BooleanField(_("adjustment"), default=False)
    explanation = models.TextField(_("why"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta(TenantModel.Meta):
        verbose_name = _("commission line")
        verbose_name_plural = _("commission lines")
        ordering = ["settlement", "position", "id"]
        indexes = [
            models.Index(fields=["tenant", "settlement", "staff"], name="commission_line_person"),
            models.Index(fields=["tenant", "deal"], name="commission_line_deal"),
            models.Index(fields=["tenant", "ref"], name="commission_line_ref"),
        ]


class PenaltyEvent(TenantModel):
    """A penalty fed by another module (e.g. a follow-up missed past the grace period → −50),
    settled by the settlement of its month (or, when that month is closed, of the next open
    one, as an adjustment)."""

    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("staff member"))
    code = models.SlugField(_("code"), max_length=40)
    #: None: the rule's default amount for the code.
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True,
                                 blank=True)
    occurred_on = models.DateField(_("day"))
    source = models.CharField(_("source"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("penalty")
        verbose_name_plural = _("penalties")
        ordering = ["-occurred_on", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gt=0),
                                   name="penalty_amount_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "occurred_on"], name="penalty_day_idx")]
