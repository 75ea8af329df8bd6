from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.customers.models import Customer
from apps.deals.models import Deal
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
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="referrer", verbose_name=_("customer"))
    staff = models.OneToOneField(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="referrer", verbose_name=_("staff member"))
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


class Referral(TenantModel):
    """One referred person (转介绍): state machine in apps.referrals.rules (DOMAIN.md §3)."""

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
    rejection_reason = models.CharField(_("rejection reason"), max_length=30, blank=True)
    note = models.TextField(_("note"), max_length=1000, blank=True)
    #: The referred customer's first deal (one deal earns at most one referral reward).
    deal = models.OneToOneField(Deal, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="referral", verbose_name=_("deal"))
    submitted_ip = models.GenericIPAddressField(_("submitted from"), null=True, blank=True)
    flagged = models.BooleanField(_("flagged for review"), default=False)
    flag_reason = models.CharField(_("flag reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("logged by"))
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="referral_status_idx"),
            models.Index(fields=["tenant", "referrer", "-created_at"],
                         name="referral_referrer_idx"),
            models.Index(fields=["tenant", "phone"], name="referral_phone_idx"),
        ]


class RewardPolicy(TenantModel):
    """A version of the tenant's referrer reward policy (data validated by
    apps.referrals.rewards), effective from a day; never edited."""

    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    name = models.CharField(_("name"), max_length=100)
    rules = models.JSONField(_("rules"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("reward policy")
        verbose_name_plural = _("reward policies")
        ordering = ["-effective_from", "-version"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "version"], name="reward_policy_version"),
            models.UniqueConstraint(fields=["tenant", "effective_from"],
                                    name="reward_policy_one_per_day"),
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
