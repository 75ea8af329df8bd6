"""VIP tiers (会员等级) and membership cards (金会员卡): the tenant's versioned tier scheme, each
buyer's current tier with its history, cards, vouchers used on deals and gifts given.

Rules and the pure evaluation: apps.vip.tiers. Writes: apps.vip.services (tiers), apps.vip.cards,
apps.vip.benefits. Every row here is written by those services only."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.models import RulesVersion, version_constraints
from apps.customers.models import Customer
from apps.deals.models import Deal
from apps.referrals.models import Referral
from apps.tenancy.models import Staff, Team, Tenant, TenantModel

CODE_MAX = 20


class TierScheme(RulesVersion):
    """A version of the tenant's tier scheme (data validated by apps.vip.tiers): the tiers in
    order with their thresholds and benefits, and the voucher period; never edited."""

    #: The preset it was made from ("default") or "" for a hand-written one.
    preset = models.CharField(_("preset"), max_length=30, blank=True)
    #: When the re-evaluation of every customer under this version finished (None: not yet).
    recomputed_at = models.DateTimeField(_("re-evaluated at"), null=True, blank=True)

    class Meta(RulesVersion.Meta):
        verbose_name = _("tier scheme")
        verbose_name_plural = _("tier schemes")
        constraints = version_constraints("vip_scheme")


class CustomerTier(TenantModel):
    """A buyer's current tier. `computed_order` is what the thresholds give for the facts
    stored next to it; `tier_order` may be higher (tiers never go down automatically, and a
    manager may set one by hand). `review` flags a customer whose facts dropped below their
    tier (a refund): a manager keeps the tier or sets another.

    Re-evaluating every customer rewrites many rows at once (apps.vip.recompute), so the table
    keeps only the indexes its readers use: the tenant and customer foreign keys have none of
    their own. The unique (customer, tenant) index leads with the customer so the foreign key
    check of a deleted customer is an index lookup, not a scan of every tier row; the
    (tenant, tier_order) index serves the tenant's."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("tenant"), editable=False, db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"), db_index=False)
    tier = models.CharField(_("tier"), max_length=CODE_MAX)
    tier_order = models.PositiveSmallIntegerField(_("tier order"))
    computed_order = models.PositiveSmallIntegerField(_("tier by the thresholds"))
    contract_total = models.DecimalField(_("contract total"), max_digits=16, decimal_places=2,
                                         default=0)
    successful_referrals = models.PositiveIntegerField(_("successful referrals"), default=0)
    manual = models.BooleanField(_("set by hand"), default=False)
    review = models.BooleanField(_("to review"), default=False)
    review_reason = models.CharField(_("why to review"), max_length=300, blank=True)
    scheme_version = models.PositiveIntegerField(_("scheme version"), default=0)
    since = models.DateTimeField(_("in this tier since"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("customer tier")
        verbose_name_plural = _("customer tiers")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["customer", "tenant"], name="vip_tier_one_per_customer"),
        ]
        indexes = [
            models.Index(fields=["tenant", "tier_order"], name="vip_tier_order_idx"),
            models.Index(fields=["tenant", "id"], name="vip_tier_review_idx",
                         condition=Q(review=True)),
        ]


class TierChange(TenantModel):
    """Tier history (append-only): who, when, why, from what facts.

    A re-evaluation inserts a history row per change in bulk, so the table keeps the two
    indexes its readers use — (customer, tenant, created_at) for a customer's history and the
    foreign key check of a deleted customer, (tenant, created_at) for the card statistics —
    and no index per foreign key; the tenant is pinned by the row-level security policy and
    the team is copied from the customer row, so neither has a database foreign key
    (`on_delete=PROTECT` still guards the ORM)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("tenant"), editable=False, db_index=False,
                               db_constraint=False)

    class Kind(models.TextChoices):
        INITIAL = "initial", _("first tier")
        UPGRADE = "upgrade", _("upgrade")
        MANUAL = "manual", _("set by hand")
        REVIEW = "review", _("flagged for review")
        REVIEW_CLEARED = "review_cleared", _("review closed, tier kept")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"), db_index=False)
    #: The customer's team when it happened (the card statistics count per team).
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("team"), db_index=False,
                             db_constraint=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    from_tier = models.CharField(_("from tier"), max_length=CODE_MAX, blank=True)
    to_tier = models.CharField(_("to tier"), max_length=CODE_MAX, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    #: What caused it: "deal:12", "refund:3", "referral:9", "recompute:v4", "" (by hand).
    cause = models.CharField(_("cause"), max_length=100, blank=True)
    contract_total = models.DecimalField(_("contract total"), max_digits=16, decimal_places=2,
                                         default=0)
    successful_referrals = models.PositiveIntegerField(_("successful referrals"), default=0)
    scheme_version = models.PositiveIntegerField(_("scheme version"), default=0)
    actor = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("by"), db_index=False)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "tenant", "created_at"], name="vip_change_customer"),
            models.Index(fields=["tenant", "created_at"], name="vip_change_time"),
        ]


class VipCard(TenantModel):
    """A membership card: number unique in the tenant, the tier printed on it. One active card
    per customer; a lost card is void and reissued with a new number (`replaces`), an upgrade
    issues the new tier's card and voids the old one."""

    class Kind(models.TextChoices):
        FIRST = "first", _("first card")
        UPGRADE = "upgrade", _("upgrade")
        REISSUE = "reissue", _("reissue (lost)")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("card status", "active")
        VOID = "void", pgettext_lazy("card status", "void")

    class VoidReason(models.TextChoices):
        LOST = "lost", _("lost")
        UPGRADED = "upgraded", _("replaced by an upgrade")
        OTHER = "other", _("other")

    number = models.CharField(_("card number"), max_length=30)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    tier = models.CharField(_("tier"), max_length=CODE_MAX)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    #: The customer's team at issue (the card statistics count per team).
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("team"))
    issued_on = models.DateField(_("issued on"))
    issued_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("issued by"))
    replaces = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("replaces"))
    void_reason = models.CharField(_("why void"), max_length=10, choices=VoidReason.choices,
                                   blank=True)
    void_note = models.CharField(_("note"), max_length=200, blank=True)
    voided_at = models.DateTimeField(_("void since"), null=True, blank=True)
    voided_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("voided by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("membership card")
        verbose_name_plural = _("membership cards")
        ordering = ["-issued_on", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "number"], name="vip_card_number_unique"),
            models.UniqueConstraint(fields=["tenant", "customer"], name="vip_card_one_active",
                                    condition=Q(status="active")),
            models.CheckConstraint(condition=Q(status="active", voided_at__isnull=True)
                                   | Q(status="void", voided_at__isnull=False),
                                   name="vip_card_void_stamped"),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer"], name="vip_card_customer"),
            models.Index(fields=["tenant", "issued_on"], name="vip_card_issued_on"),
        ]


class VoucherUse(TenantModel):
    """A tier voucher (抵用券) redeemed against a deal: at most one per deal, and per customer
    no more than the tier's voucher amount in the scheme's voucher period."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("deal"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    tier = models.CharField(_("tier"), max_length=CODE_MAX)
    #: The first day of the voucher period it counts against (date.min: once per lifetime).
    period_start = models.DateField(_("period from"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("voucher use")
        verbose_name_plural = _("voucher uses")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "deal"], name="vip_voucher_one_per_deal"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="vip_voucher_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "customer", "period_start"],
                                name="vip_voucher_period")]


class GiftGiven(TenantModel):
    """A tier gift handed to a customer (再推介赠予老客户: for a further successful referral),
    optionally naming that referral (each referral earns one gift)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    tier = models.CharField(_("tier"), max_length=CODE_MAX)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("for the referral"))
    description = models.CharField(_("gift"), max_length=200)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, null=True,
                                blank=True)
    given_on = models.DateField(_("given on"))
    given_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("given by"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("gift given")
        verbose_name_plural = _("gifts given")
        ordering = ["-given_on", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "referral"], name="vip_gift_once_per_referral",
                                    condition=Q(referral__isnull=False)),
            models.CheckConstraint(condition=Q(value__isnull=True) | Q(value__gte=0),
                                   name="vip_gift_value_not_negative"),
        ]
        indexes = [models.Index(fields=["tenant", "customer"], name="vip_gift_customer")]
