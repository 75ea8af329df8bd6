"""Tier benefits in use: vouchers (抵用券) redeemed against deals, and gifts given (再推介赠予).

Both are money, so both are services in the house style: keyword-only, one transaction, inside
`tenant_context`, refused with field-keyed ValidationError (nothing written) or PermissionDenied,
one audit row each. Rows are never edited nor deleted.

Who (what a real CRM does — the people who handle the deal or care for the customer):

* **Redeem a voucher** (`voucher_redeem`): whoever may enter deals and sees this deal under the
  deals module's visibility (apps.deals.selectors.visible_deals): administrators (any deal),
  managers (their team's deals and their own), salespeople (deals they took part in, earned
  credit on, or of a customer they own). Finance reads deals but does not redeem; customer
  service does not see deals.
* **Record a gift** (`gift_record`): customer service (they hand gifts and cards out), managers
  and administrators, for a customer they may see (apps.customers.selectors.visible_customers:
  managers their team's, the others every customer).
* **Undo a voucher**: not offered. VoucherUse allows one row per deal with a positive amount
  (constraints `vip_voucher_one_per_deal`, `vip_voucher_positive`), so a reversal that keeps the
  row needs a model change (cancelled_at / cancelled_by / cancel_reason, the period sum and the
  one-per-deal constraint ignoring cancelled rows). Until then a mistaken redemption stays, with
  its audit row; a refund of the deal does not give the voucher back either.

Voucher rules: the deal's customer has a tier; the tier's voucher amount (`benefits.voucher` in
the scheme in force today) is above 0; the amount is > 0 with at most 2 decimals, at most the
deal's amount net of refunds, and — with what the customer already redeemed in the same voucher
period (`voucher_period_start(rules.voucher_period, deal.signed_on)`) — at most the tier's
amount; one voucher per deal. The customer's tier row is locked (select_for_update) for the
decision, so two redemptions at the same moment cannot together overspend: the second waits and
then sees the first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
from apps.core.bands import plain_number
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.deals.models import Deal
from apps.deals.selectors import visible_deals
from apps.deals.services import parse_money
from apps.ownership.selectors import tenant_today
from apps.referrals.models import Referral, Referrer
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import CustomerTier, GiftGiven, VoucherUse
from .services import scheme_for
from .tiers import PERIOD_NAMES, Tier, TierRules, voucher_period_start

#: Who may redeem a voucher against a deal they see (as who may enter deals).
REDEEM_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)
#: Who may record a gift for a customer they see.
GIFT_ROLES = (Role.ADMIN, Role.MANAGER, Role.CUSTOMER_SERVICE)
NOTE_MAX = 200
DESCRIPTION_MAX = 200
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
GIFT_VALUE_MAX = Decimal("9999999999.99")  # DecimalField(12, 2)


def may_redeem(staff: Staff | None) -> bool:
    """The role part of who may redeem (the deal must also be visible to them)."""
    return staff is not None and staff.has_role(*REDEEM_ROLES)


def may_give_gift(staff: Staff | None) -> bool:
    """The role part of who may record a gift (the customer must also be visible to them)."""
    return staff is not None and staff.has_role(*GIFT_ROLES)


def period_text(period: str) -> str:
    return _(PERIOD_NAMES.get(period, period))


@dataclass(frozen=True)
class VoucherState:
    """A customer's voucher in one voucher period."""

    tier: Tier
    allowance: Decimal          # the tier's voucher amount (0: the tier has none)
    period: str                 # month | quarter | year | lifetime
    period_start: dt.date
    used: Decimal
    scheme_version: int

    @property
    def left(self) -> Decimal:
        return max(self.allowance - self.used, ZERO)

    @property
    def period_label(self) -> str:
        return period_text(self.period)

    @property
    def lifetime(self) -> bool:
        return self.period == "lifetime"


def voucher_used(customer_id: int, period_start: dt.date) -> Decimal:
    total = (VoucherUse.objects.filter(customer_id=customer_id, period_start=period_start)
             .aggregate(t=Sum("amount"))["t"])
    return total or ZERO


def voucher_state(*, tenant: Tenant, row: CustomerTier, day: dt.date,
                  scheme: tuple[int, TierRules] | None = None) -> VoucherState:
    """The voucher of the tier row `row` in the period holding `day` (call in the tenant)."""
    version, rules = scheme or scheme_for(tenant)
    tier = rules.stored(row.tier, row.tier_order)
    start = voucher_period_start(rules.voucher_period, day)
    return VoucherState(tier=tier, allowance=tier.benefits.voucher.quantize(CENT),
                        period=rules.voucher_period,
                        period_start=start, used=voucher_used(row.customer_id, start),
                        scheme_version=version)


def _left_message(state: VoucherState) -> str:
    if state.used <= 0:
        return ""
    if state.left <= 0:
        return _("The voucher of the tier “%(tier)s” (%(amount)s %(period)s) is used up for "
                 "this period.") % {"tier": state.tier.name, "period": state.period_label,
                                    "amount": plain_number(state.allowance)}
    return ""


def _voucher_checked(tenant: Tenant, actor: Staff | None, deal, amount, note: str,
                     customer: Customer | None, *, lock: bool):
    """(deal, tier row, VoucherState, amount, note) or PermissionDenied / ValidationError.
    Call inside the tenant context."""
    if not may_redeem(actor):
        raise PermissionDenied(_("Only administrators, managers and salespeople may redeem a "
                                 "voucher against a deal."))
    found = (visible_deals(actor, Deal.objects.select_related("customer"))
             .filter(pk=getattr(deal, "pk", deal)).first())
    if found is None:
        raise ValidationError({"deal": [_("Unknown deal.")]})
    deal = found
    if customer is not None and deal.customer_id != customer.pk:
        raise ValidationError({"deal": [_("This deal is not one of %(name)s's.") % {
            "name": customer.name}]})
    rows = CustomerTier.objects.filter(customer_id=deal.customer_id)
    row = (rows.select_for_update() if lock else rows).first()
    if row is None:
        raise ValidationError({"deal": [_("%(name)s has no VIP tier yet: vouchers are a tier "
                                          "benefit.") % {"name": deal.customer.name}]})
    state = voucher_state(tenant=tenant, row=row, day=deal.signed_on)
    if state.allowance <= 0:
        raise ValidationError({"deal": [_("The tier “%(tier)s” has no voucher.") % {
            "tier": state.tier.name}]})
    errors: dict = {}
    if VoucherUse.objects.filter(deal_id=deal.pk).exists():
        errors["deal"] = [_("A voucher was already redeemed against this deal (one per deal).")]
    amount = parse_money(errors, "amount", amount)
    if amount is not None:
        net = deal.amount - deal.refunded_amount
        if amount > state.left:
            errors["amount"] = [_left_message(state) or _(
                "At most %(left)s of the voucher is left (the tier “%(tier)s” gives "
                "%(amount)s %(period)s, %(used)s already used).") % {
                "left": state.left, "tier": state.tier.name, "amount": state.allowance,
                "period": state.period_label, "used": state.used}]
        elif amount > net:
            errors["amount"] = [_("The voucher cannot exceed the deal's amount (%(net)s).") % {
                "net": net}]
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [_("At most %(max)s characters.") % {"max": NOTE_MAX}]
    if errors:
        raise ValidationError(errors)
    return deal, row, state, amount, note


def voucher_check(*, tenant: Tenant, actor: Staff | None, deal, amount, note: str = "",
                  customer: Customer | None = None) -> VoucherState:
    """What `voucher_redeem` would do, without writing (the confirmation step): the voucher
    state before it. Refuses exactly what `voucher_redeem` refuses (bar a race)."""
    with tenant_context(tenant):
        return _voucher_checked(tenant, actor, deal, amount, note, customer, lock=False)[2]


@transaction.atomic
def voucher_redeem(*, tenant: Tenant, actor: Staff | None, deal, amount, note: str = "",
                   customer: Customer | None = None) -> VoucherUse:
    """Redeem `amount` of the customer's tier voucher against `deal` (see the module docstring).
    `customer`, when given, must be the deal's customer."""
    with tenant_context(tenant):
        deal, row, state, amount, note = _voucher_checked(tenant, actor, deal, amount, note,
                                                          customer, lock=True)
        use = VoucherUse.objects.create(
            tenant=tenant, customer_id=deal.customer_id, deal=deal, amount=amount,
            tier=row.tier, period_start=state.period_start, note=note, created_by=actor)
        audit_record(tenant=tenant, actor=actor, action="vip.voucher.redeem", target=use,
                     changes={"deal": deal.pk, "customer": deal.customer_id, "amount": amount,
                              "tier": row.tier, "period_start": state.period_start,
                              "allowance": state.allowance,
                              "left": state.left - amount,
                              "scheme_version": state.scheme_version})
        return use


# --------------------------------------------------------------------------- gifts


def gifts_due(customer: Customer):
    """The successful referrals of `customer` as a referrer that no gift was recorded for,
    oldest first (call in the tenant)."""
    given = GiftGiven.objects.filter(referral__isnull=False).values("referral_id")
    return (Referral.objects.filter(referrer__kind=Referrer.Kind.CUSTOMER,
                                    referrer__customer=customer,
                                    status__in=Referral.SUCCESS_STATUSES)
            .exclude(pk__in=given).order_by("converted_at", "id"))


def _parse_value(errors: dict, value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        errors["value"] = [_("Enter an amount, e.g. 380 or 380.50.")]
        return None
    if amount < 0:
        errors["value"] = [_("The value cannot be negative.")]
        return None
    if amount != amount.quantize(CENT):
        errors["value"] = [_("Enter an amount with at most two decimal places.")]
        return None
    if amount > GIFT_VALUE_MAX:
        errors["value"] = [_("This amount is too large.")]
        return None
    return amount.quantize(CENT)


@transaction.atomic
def gift_record(*, tenant: Tenant, actor: Staff | None, customer: Customer, description: str = "",
                value=None, referral: Referral | None = None,
                given_on: dt.date | None = None) -> GiftGiven:
    """Record a tier gift handed to `customer` (see the module docstring for who).

    The customer must have a tier. `referral`, when given, must be a successful referral
    (Referral.SUCCESS_STATUSES) of this customer as a referrer, without a gift yet (one gift per
    referral). The description defaults to the tier's "gift for a further referral" and the
    value, then, to its value. The customer's tier row is locked, so two clerks recording the
    gift of the same referral at once cannot both succeed."""
    with tenant_context(tenant):
        if not may_give_gift(actor):
            raise PermissionDenied(_("Only customer service, managers and administrators may "
                                     "record a gift."))
        if not visible_customers(actor, Customer.objects.filter(pk=customer.pk)).exists():
            raise PermissionDenied(_("You may not record gifts for this customer."))
        row = CustomerTier.objects.select_for_update().filter(customer_id=customer.pk).first()
        if row is None:
            raise ValidationError({"customer": [_("%(name)s has no VIP tier yet: gifts are a "
                                                  "tier benefit.") % {"name": customer.name}]})
        _version, rules = scheme_for(tenant)
        tier = rules.stored(row.tier, row.tier_order)
        errors: dict = {}
        description = (description or "").strip()
        defaulted = not description
        if defaulted:
            description = tier.benefits.referral_gift
        if not description:
            errors["description"] = [_("Describe the gift.")]
        elif len(description) > DESCRIPTION_MAX:
            errors["description"] = [_("At most %(max)s characters.") % {"max": DESCRIPTION_MAX}]
        value = _parse_value(errors, value)
        if value is None and defaulted and tier.benefits.referral_gift_value > 0:
            value = tier.benefits.referral_gift_value
        if referral is not None:
            found = (Referral.objects.filter(pk=getattr(referral, "pk", referral))
                     .select_related("referrer").first())
            if (found is None or found.referrer.kind != Referrer.Kind.CUSTOMER
                    or found.referrer.customer_id != customer.pk):
                errors["referral"] = [_("Choose a referral made by this customer.")]
            elif found.status not in Referral.SUCCESS_STATUSES:
                errors["referral"] = [_("Only a successful referral (the person referred "
                                        "bought) earns a gift.")]
            else:
                earlier = GiftGiven.objects.filter(referral=found).first()
                if earlier is not None:
                    errors["referral"] = [_("A gift was already recorded for this referral (on "
                                            "%(day)s).") % {"day": earlier.given_on.isoformat()}]
            referral = found
        today = tenant_today(tenant)
        if given_on is None or given_on == "":
            given_on = today
        elif isinstance(given_on, dt.datetime) or not isinstance(given_on, dt.date):
            errors["given_on"] = [_("Enter a valid date.")]
        elif given_on > today:
            errors["given_on"] = [_("The date cannot be in the future.")]
        if errors:
            raise ValidationError(errors)
        gift = GiftGiven.objects.create(
            tenant=tenant, customer=customer, tier=row.tier, referral=referral,
            description=description, value=value, given_on=given_on, given_by=actor)
        audit_record(tenant=tenant, actor=actor, action="vip.gift.record", target=gift,
                     changes={"customer": customer.pk, "tier": row.tier,
                              "referral": referral.pk if referral is not None else None,
                              "description": description, "value": value,
                              "given_on": given_on})
        return gift
