from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import RulesVersion, version_constraints
from apps.customers.models import Customer
from apps.deals.models import Deal, Refund
from apps.tenancy.models import Staff, TenantModel


class Referrer(TenantModel):
    """Who refers (转介绍人): an old customer registered as a referral member (with a valid
    resident ID), a staff member, or an outside partner under a referral agreement."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer (referral member)")
        STAFF = "staff", _("Staff member")
        PARTNER = "partner", _("Outside partner")

    class FeeKind(models.TextChoices):
        NONE = "", _("No agreement fee")
        FIXED = "fixed", _("Fixed fee per successful referral")
        PERCENT = "percent", _("Percentage of the deal")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="referrers", related_query_name="referrer",
                                 verbose_name=_("customer"))
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="referrers", related_query_name="referrer",
                              verbose_name=_("staff member"))
    # Outside partners (转介绍服务合同).
    partner_name = models.CharField(_("partner name"), max_length=100, blank=True)
    partner_phone = models.CharField(_("partner mobile phone"), max_length=11, blank=True)
    fee_kind = models.CharField(_("agreement fee"), max_length=10, choices=FeeKind.choices,
                                blank=True)
    fee_value = models.DecimalField(_("fee (amount or %)"), max_digits=14, decimal_places=2,
                                    default=Decimal("0"))
    payment_due_working_days = models.PositiveSmallIntegerField(
        _("payment due (working days after the customer pays)"), default=0)
    active = models.BooleanField(_("active"), default=True)
    registered_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("registered by"))
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("referrer")
        verbose_name_plural = _("referrers")
        ordering = ["-registered_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=(Q(kind="customer", customer__isnull=False, staff__isnull=True)
                           | Q(kind="staff", staff__isnull=False, customer__isnull=True)
                           | Q(kind="partner", customer__isnull=True, staff__isnull=True)
                           & ~Q(partner_name="")),
                name="referrer_kind_matches_identity"),
            models.CheckConstraint(condition=Q(fee_value__gte=0), name="referrer_fee_non_negative"),
            # One referrer per customer and per staff member, with the tenant in the key (Citus:
            # tests/deploy/test_unique_keys.py).
            models.UniqueConstraint(fields=["tenant", "customer"], name="referrer_customer_once"),
            models.UniqueConstraint(fields=["tenant", "staff"], name="referrer_staff_once"),
        ]


class ReferralCard(TenantModel):
    """A referrer's personal code (for the link and the printable QR card)."""

    referrer = models.ForeignKey(Referrer, on_delete=models.PROTECT, related_name="cards",
                                 verbose_name=_("referrer"))
    #: Unique per tenant; the public link carries the tenant's slug and the code, and the code
    #: is looked up inside that tenant only (a code of tenant A never reaches tenant B).
    code = models.CharField(_("code"), max_length=16)
    active = models.BooleanField(_("active"), default=True)
    issued_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("issued by"))
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("referral card")
        verbose_name_plural = _("referral cards")
        ordering = ["-issued_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "code"], name="referral_card_code_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "referrer", "active"],
                                name="referral_card_referrer_idx")]


class RewardPolicy(RulesVersion):
    """A version of the tenant's referrer reward policy (data validated by
    apps.referrals.rewards), effective from a day; never edited."""

    class Meta(RulesVersion.Meta):
        verbose_name = _("reward policy")
        verbose_name_plural = _("reward policies")
        constraints = version_constraints("reward_policy")


class Referral(TenantModel):
    """One referred person (转介绍). The lifecycle (DOMAIN.md §3) is apps.referrals.lifecycle:

    registered → verified → converted (the referred customer's first deal) → reward_pending
    (held for the refund window) → approved (manager) → paid (finance); or rejected (with a
    reason) or reversed (the referred deal was refunded). A converted referral whose reward is
    nothing (no money, gift or points) stays converted."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        VERIFIED = "verified", _("Verified")
        CONVERTED = "converted", _("Converted")
        REWARD_PENDING = "reward_pending", _("Reward pending")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected")
        REVERSED = "reversed", _("Reversed")

    class Channel(models.TextChoices):
        STAFF = "staff", _("Logged by staff")
        LINK = "link", _("Public link")

    class Rejection(models.TextChoices):
        FALSE_INFO = "false_info", _("False information")
        EXISTING_CUSTOMER = "existing_customer", _("Already a customer")
        RELATIVE = "relative", _("A relative of the referrer")
        DUPLICATE = "duplicate", _("Duplicate")
        EXPIRED = "expired", _("No purchase within the conversion window")
        SELF = "self", _("Self-referral")

    #: A referral in these states counts as a success (the leaderboard, the ordinal, the count
    #: bonus, the VIP tier); one in DEAD_STATUSES no longer blocks the person being referred.
    SUCCESS_STATUSES = ("converted", "reward_pending", "approved", "paid")
    DEAD_STATUSES = ("rejected", "reversed")
    OPEN_STATUSES = ("registered", "verified")

    referrer = models.ForeignKey(Referrer, on_delete=models.PROTECT, related_name="referrals",
                                 verbose_name=_("referrer"))
    card = models.ForeignKey(ReferralCard, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="referrals", verbose_name=_("card"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    #: The referred person as given (the public form), and the customer once known.
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("mobile phone"), max_length=11)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="referred_by", verbose_name=_("referred customer"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.REGISTERED)
    rejection_reason = models.CharField(_("rejection reason"), max_length=30, blank=True,
                                        choices=Rejection.choices)
    rejection_note = models.CharField(_("rejection note"), max_length=500, blank=True)
    note = models.TextField(_("note"), max_length=1000, blank=True)
    #: The referred customer's first deal (one deal earns at most one referral reward).
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="referrals", related_query_name="referral",
                             verbose_name=_("deal"))
    submitted_ip = models.GenericIPAddressField(_("submitted from"), null=True, blank=True)
    flagged = models.BooleanField(_("flagged for review"), default=False)
    flag_reason = models.CharField(_("flag reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("logged by"))
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # The steps (who and when; None = the system).
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("verified by"))
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("approved by"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    paid_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("paid by"))
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    rejected_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("rejected by"))
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)

    # The reward, computed at conversion (apps.referrals.rewards.referral_reward, or a partner's
    # agreement fee) and recomputed on a partial refund before payment. The rule version and the
    # inputs are kept so any figure can be explained later.
    ordinal = models.PositiveIntegerField(_("referral no."), null=True, blank=True)
    reward_policy = models.ForeignKey(RewardPolicy, on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="+",
                                      verbose_name=_("reward policy"))
    reward_policy_version = models.PositiveIntegerField(_("reward policy version"), null=True,
                                                        blank=True)
    reward_preset = models.CharField(_("reward preset"), max_length=20, blank=True)
    reward_cash = models.DecimalField(_("cash"), max_digits=14, decimal_places=2,
                                      default=Decimal("0"))
    reward_percent = models.DecimalField(_("percent"), max_digits=9, decimal_places=4,
                                         null=True, blank=True)
    reward_percent_amount = models.DecimalField(_("percentage amount"), max_digits=14,
                                                decimal_places=2, default=Decimal("0"))
    reward_count_bonus = models.DecimalField(_("count bonus"), max_digits=14, decimal_places=2,
                                             default=Decimal("0"))
    reward_total = models.DecimalField(_("reward"), max_digits=14, decimal_places=2,
                                       default=Decimal("0"))
    reward_gift = models.CharField(_("gift"), max_length=100, blank=True)
    reward_points = models.PositiveIntegerField(_("points"), default=0)
    override_percent = models.DecimalField(_("override on later purchases (%)"), max_digits=9,
                                           decimal_places=4, default=Decimal("0"))
    reward_inputs = models.JSONField(_("reward inputs"), default=dict, blank=True)
    reward_explanation = models.JSONField(_("reward explanation"), default=list, blank=True)
    #: The reward may be approved from the day after this one (the refund window).
    hold_until = models.DateField(_("held until"), null=True, blank=True)
    #: Partners: the agreement fee is due on this day (N working days after the customer paid).
    payment_due_on = models.DateField(_("payment due"), null=True, blank=True)
    #: What a refund after payment took back (kept ≤ the reward).
    reward_clawed_back = models.DecimalField(_("clawed back"), max_digits=14, decimal_places=2,
                                             default=Decimal("0"))

    class Meta(TenantModel.Meta):
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            # A person is referred once: at most one referral per customer that is alive.
            models.UniqueConstraint(
                fields=["tenant", "customer"],
                condition=Q(customer__isnull=False) & ~Q(status__in=["rejected", "reversed"]),
                name="referral_one_alive_per_customer"),
            # One deal earns at most one referral (tenant in the key: Citus).
            models.UniqueConstraint(fields=["tenant", "deal"], name="referral_deal_once"),
            models.CheckConstraint(
                condition=Q(status="rejected", rejection_reason__gt="")
                | (~Q(status="rejected") & Q(rejection_reason="")),
                name="referral_rejected_has_reason"),
            models.CheckConstraint(
                condition=Q(status__in=["registered", "verified", "rejected"])
                | Q(deal__isnull=False, customer__isnull=False, converted_at__isnull=False),
                name="referral_converted_has_deal"),
            models.CheckConstraint(condition=Q(reward_total__gte=0)
                                   & Q(reward_clawed_back__gte=0),
                                   name="referral_reward_non_negative"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="referral_status_idx"),
            models.Index(fields=["tenant", "referrer", "-created_at"],
                         name="referral_referrer_idx"),
            models.Index(fields=["tenant", "phone"], name="referral_phone_idx"),
            # The honour board: successes by conversion time, grouped by referrer.
            models.Index(fields=["tenant", "converted_at", "referrer"],
                         condition=Q(status__in=["converted", "reward_pending", "approved",
                                                 "paid"]),
                         name="referral_success_idx"),
        ]


class RewardLine(TenantModel):
    """The referral money ledger (append-only): what a referrer is owed or owes back. A `reward`
    line when finance pays a referral, an `override` line (±) for each later purchase (or its
    refund) of a customer the referrer brought, a `clawback` line (−) when a paid reward is
    taken back after a refund. The monthly settlement (commission issue) puts lines of a closed
    month into the next open one; `occurred_on` is the tenant-local day."""

    class Kind(models.TextChoices):
        REWARD = "reward", _("Reward paid")
        OVERRIDE = "override", _("Override on a later purchase")
        CLAWBACK = "clawback", _("Clawback after a refund")

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="lines",
                                 verbose_name=_("referral"))
    referrer = models.ForeignKey(Referrer, on_delete=models.PROTECT, related_name="reward_lines",
                                 verbose_name=_("referrer"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("deal"))
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("refund"))
    policy_version = models.PositiveIntegerField(_("policy version"), null=True, blank=True)
    explanation = models.CharField(_("why"), max_length=300, blank=True)
    occurred_on = models.DateField(_("day"))
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("reward line")
        verbose_name_plural = _("reward lines")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=~Q(amount=0), name="reward_line_not_zero"),
            models.CheckConstraint(
                condition=Q(kind="reward", amount__gt=0) | Q(kind="clawback", amount__lt=0)
                | Q(kind="override"),
                name="reward_line_sign_matches_kind"),
            # Paid once; one override per purchase and one per refund of it.
            models.UniqueConstraint(fields=["tenant", "referral"], condition=Q(kind="reward"),
                                    name="reward_line_paid_once"),
            models.UniqueConstraint(fields=["tenant", "referral", "deal"],
                                    condition=Q(kind="override", refund__isnull=True),
                                    name="reward_line_override_once"),
            models.UniqueConstraint(fields=["tenant", "referral", "refund"],
                                    condition=Q(refund__isnull=False),
                                    name="reward_line_once_per_refund"),
        ]
        indexes = [models.Index(fields=["tenant", "referrer", "-created_at"],
                                name="reward_line_referrer_idx"),
                   models.Index(fields=["tenant", "occurred_on"], name="reward_line_day_idx")]


class HonourAward(TenantModel):
    """The monthly top three staff referrers (flagged for the ranking bonus the commission
    issue pays), recorded once per tenant and month by apps.referrals.board."""

    month = models.DateField(_("month"))  # the first day of the month
    rank = models.PositiveSmallIntegerField(_("rank"))
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("staff member"))
    referrer = models.ForeignKey(Referrer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("referrer"))
    successes = models.PositiveIntegerField(_("successful referrals"))
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("honour award")
        verbose_name_plural = _("honour awards")
        ordering = ["-month", "rank"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "month", "rank"],
                                    name="honour_award_rank_once"),
            models.UniqueConstraint(fields=["tenant", "month", "staff"],
                                    name="honour_award_staff_once"),
            models.CheckConstraint(condition=Q(rank__gte=1, rank__lte=3),
                                   name="honour_award_top_three"),
        ]


class PointsItem(TenantModel):
    """Something points can be redeemed for (e.g. 100 points → a paid day off)."""

    name = models.CharField(_("name"), max_length=100)
    points = models.PositiveIntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("points item")
        verbose_name_plural = _("points items")
        ordering = ["points", "id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=Q(points__gt=0), name="points_item_positive"),
        ]


class PointsRedemption(TenantModel):
    """A referrer's request to redeem points for an item; approved or rejected by a manager."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    referrer = models.ForeignKey(Referrer, on_delete=models.PROTECT, related_name="redemptions",
                                 verbose_name=_("referrer"))
    item = models.ForeignKey(PointsItem, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("item"))
    points = models.PositiveIntegerField(_("points"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.REQUESTED)
    requested_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("points redemption")
        verbose_name_plural = _("points redemptions")
        ordering = ["-requested_at", "-id"]


class PointsEntry(TenantModel):
    """The append-only points ledger: a referrer's balance is the sum of their rows."""

    class Kind(models.TextChoices):
        EARNED = "earned", _("Earned")
        REDEEMED = "redeemed", _("Redeemed")
        EXPIRED = "expired", _("Expired")
        ADJUSTED = "adjusted", _("Adjusted")

    referrer = models.ForeignKey(Referrer, on_delete=models.PROTECT, related_name="points",
                                 verbose_name=_("referrer"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("referral"))
    redemption = models.ForeignKey(PointsRedemption, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("redemption"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=~Q(points=0), name="points_entry_not_zero"),
            models.CheckConstraint(
                condition=(Q(kind="earned", points__gt=0) | Q(kind="redeemed", points__lt=0)
                           | Q(kind="expired", points__lt=0) | Q(kind="adjusted")),
                name="points_entry_sign_matches_kind"),
        ]
        indexes = [models.Index(fields=["tenant", "referrer", "-created_at"],
                                name="points_entry_referrer_idx")]
