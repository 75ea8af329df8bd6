from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import RulesVersion, version_constraints
from apps.customers.models import Customer
from apps.tenancy.models import Staff, Team, TenantModel

CENT = Decimal("0.01")


class DealRole(TenantModel):
    """A role a staff member can play in a deal (tenant-defined list; defaults in
    apps.deals.rules.DEFAULT_ROLES). The credit rules refer to roles by `code`."""

    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=50)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("deal role")
        verbose_name_plural = _("deal roles")
        ordering = ["order", "id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "code"], name="deal_role_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class CreditRuleSet(RulesVersion):
    """A version of the tenant's credit-split rules (业绩分配), effective from a day.

    `rules` is data validated by apps.deals.engine (pydantic); a deal's credit lines record
    the version that produced them. Rows are never edited: a change is a new version."""

    #: The preset it was made from ("education", …) or "" for a hand-written one.
    preset = models.CharField(_("preset"), max_length=30, blank=True)

    class Meta(RulesVersion.Meta):
        verbose_name = _("credit rule set")
        verbose_name_plural = _("credit rule sets")
        constraints = version_constraints("credit_rules")


class Contract(TenantModel):
    """A contract / term / membership of a customer (合同/课程/会员期): what a renewal renews."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="contracts",
                                 verbose_name=_("customer"))
    number = models.CharField(_("contract number"), max_length=40)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(CENT)])
    hours_bought = models.DecimalField(_("hours bought"), max_digits=8, decimal_places=1,
                                       null=True, blank=True)
    hours_consumed = models.DecimalField(_("hours consumed"), max_digits=8, decimal_places=1,
                                         default=Decimal("0"))
    owner = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("owner"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("team"))
    #: The contract that a renewal of this one created (None until renewed).
    renewed_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="renewed_from", related_query_name="renews",
                                   verbose_name=_("renewed by"))
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "number"], name="contract_number_unique"),
            # One-to-one, with the tenant in the key (Citus: tests/deploy/test_unique_keys.py).
            models.UniqueConstraint(fields=["tenant", "renewed_by"],
                                    name="contract_renewed_once"),
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="contract_end_after_start"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="contract_amount_positive"),
            models.CheckConstraint(condition=Q(hours_consumed__gte=0),
                                   name="contract_hours_consumed_non_negative"),
        ]
        indexes = [
            models.Index(fields=["tenant", "end"], name="contract_end_idx"),
            models.Index(fields=["tenant", "customer", "-start"], name="contract_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class Deal(TenantModel):
    """A deal (成交/合同/订单): who bought what, when, for how much, and who took part."""

    class Kind(models.TextChoices):
        NEW = "new", _("New deal")
        RENEWAL = "renewal", _("Renewal")
        REFERRAL = "referral", _("Referral")
        EXPANSION = "expansion", _("Course expansion")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="deals",
                                 verbose_name=_("customer"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(CENT)])
    signed_on = models.DateField(_("signing date"))
    contract_number = models.CharField(_("contract number"), max_length=40)
    units = models.PositiveIntegerField(_("units"), default=1, validators=[MinValueValidator(1)])
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    #: For referral and expansion deals: did the teacher raise it during the lessons? (If not,
    #: the consultant who closed it alone earns it: 000 seed, 三.3 / 四.3.)
    teacher_raised = models.BooleanField(_("raised by the teacher"), default=True)
    #: The contract this deal created (a term with start/end), if any.
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="deals", related_query_name="deal",
                                 verbose_name=_("contract"))
    #: Renewals: the contract renewed and the days from its start to the signing (start = day 0).
    renews = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="renewal_deals", verbose_name=_("renews contract"))
    days_since_contract_start = models.PositiveIntegerField(_("days since the contract start"),
                                                            null=True, blank=True)
    refunded_amount = models.DecimalField(_("refunded"), max_digits=14, decimal_places=2,
                                          default=Decimal("0"))
    owner = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("customer owner at signing"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("team"))
    #: The credit rule set version that split it (None: decided by a dispute's shares).
    credit_rule_version = models.PositiveIntegerField(_("credit rule version"), null=True,
                                                      blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("entered by"))
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-signed_on", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "contract_number"],
                                    name="deal_contract_number_unique"),
            models.UniqueConstraint(fields=["tenant", "contract"], name="deal_contract_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="deal_amount_positive"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0)
                                   & Q(refunded_amount__lte=F("amount")),
                                   name="deal_refund_within_amount"),
            models.CheckConstraint(condition=Q(units__gte=1), name="deal_units_positive"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-signed_on", "-id"], name="deal_signed_idx"),
            models.Index(fields=["tenant", "team", "-signed_on"], name="deal_team_idx"),
            models.Index(fields=["tenant", "customer", "-signed_on"], name="deal_customer_idx"),
            models.Index(fields=["tenant", "kind", "-signed_on"], name="deal_kind_idx"),
        ]

    def __str__(self) -> str:
        return self.contract_number

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.refunded_amount


class DealParticipant(TenantModel):
    """A staff member who took part in a deal, in a role (one row per staff and role)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="participants",
                             verbose_name=_("deal"))
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("staff"))
    role = models.ForeignKey(DealRole, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("role"))
    #: Teachers of several subjects share equally; the subject is for the record.
    subject = models.CharField(_("subject"), max_length=30, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("deal participant")
        verbose_name_plural = _("deal participants")
        ordering = ["role__order", "id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "deal", "staff", "role"],
                                    name="deal_participant_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "staff"], name="deal_participant_staff_idx")]


class Refund(TenantModel):
    """A full or partial refund of a deal; its credit reversal lines point at it."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="refunds",
                             verbose_name=_("deal"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2,
                                 validators=[MinValueValidator(CENT)])
    refunded_on = models.DateField(_("refund date"))
    reason = models.TextField(_("reason"), max_length=1000)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("refunded by"))
    created_at = models.DateTimeField(_("entered at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-refunded_on", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]


class DealCredit(TenantModel):
    """One line of who earns how much of a deal (业绩): a share of the deal (refund None), or
    the reversal of a share by a refund (refund set, negative amount). Never edited.

    `staff` None with `confiscated` is the confiscated credit of a dispute (业绩充公)."""

    class Source(models.TextChoices):
        RULES = "rules", _("Credit rules")
        DISPUTE = "dispute", _("Dispute decision")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="credits",
                             verbose_name=_("deal"))
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("staff"))
    role_code = models.CharField(_("role"), max_length=30, blank=True)
    percent = models.DecimalField(_("share (%)"), max_digits=9, decimal_places=6)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    confiscated = models.BooleanField(_("confiscated"), default=False)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    rule_version = models.PositiveIntegerField(_("rule version"), null=True, blank=True)
    #: Why (the rule that applied), for the deal page.
    explanation = models.CharField(_("why"), max_length=300, blank=True)
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="credit_reversals", verbose_name=_("refund"))
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("deal credit")
        verbose_name_plural = _("deal credits")
        ordering = ["deal", "refund", "-amount", "id"]
        indexes = [
            models.Index(fields=["tenant", "deal"], name="deal_credit_deal_idx"),
            models.Index(fields=["tenant", "staff", "-created_at"], name="deal_credit_staff_idx"),
        ]
