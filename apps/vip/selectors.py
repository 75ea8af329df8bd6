"""Reads of tiers and benefits that the pages, the API and the follow-up module share.

* `customer_vip_summary(customer, staff)`: the customer page's VIP section (4 queries with a
  tier, 2 without, whatever the history).
* `deal_vip_summary(deal, staff)`: the deal page's voucher section (3 queries).
* `review_queue(staff)`, `tier_history(customer)`, `visible_vouchers(staff)`,
  `visible_gifts(staff)`: lists.
* **Follow-up hook** — `care_for_customer(customer)` and `care_plan(tenant)`: how often customer
  service cares for each tier (`apps.vip.tiers.care_of`: SMS every N months, a phone visit every
  N months, a birthday greeting; 0 = none), from the scheme in force. The follow-up module
  schedules visits from these: `care_plan` gives every tier's frequencies once, and
  `customers_in_tier(tier code)` the customers to schedule for it; `care_for_customer` answers
  for one customer (None for someone without a tier, who gets no VIP care).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from apps.core.bands import plain_number
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.deals.models import Deal
from apps.deals.selectors import READ_ROLES as DEAL_READ_ROLES
from apps.ownership.selectors import tenant_today
from apps.referrals.models import Referral, Referrer
from apps.tenancy.models import Staff, Tenant

from .benefits import VoucherState, may_give_gift, may_redeem, period_text
from .models import CustomerTier, GiftGiven, TierChange, VipCard, VoucherUse
from .services import may_set, scheme_for
from .tiers import Care, Tier, TierRules, benefit_lines, care_of, voucher_period_start

HISTORY_ON_PAGE = 10
GIFTS_ON_PAGE = 5
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_MONEY = DecimalField(max_digits=16, decimal_places=2)


# --------------------------------------------------------------------------- lists


def review_queue(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """Customers flagged for review that `staff` may decide: administrators every one, a
    manager those of their team (the customer's current team); nobody else."""
    queryset = CustomerTier.objects.all() if queryset is None else queryset
    queryset = queryset.filter(review=True)
    if staff.is_admin:
        return queryset
    if staff.is_manager and staff.team_id is not None:
        return queryset.filter(customer__team_id=staff.team_id)
    return queryset.none()


def can_see_reviews(staff: Staff) -> bool:
    return staff.is_admin or (staff.is_manager and staff.team_id is not None)


def tier_history(customer: Customer) -> QuerySet:
    """The customer's tier history, newest first (who joined)."""
    return (TierChange.objects.filter(customer=customer).select_related("actor")
            .order_by("-created_at", "-id"))


def visible_vouchers(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """Voucher uses of the customers `staff` may see (a benefit of the customer: customer
    service, who sees every customer, sees them too)."""
    queryset = VoucherUse.objects.all() if queryset is None else queryset
    return queryset.filter(customer__in=visible_customers(staff))


def visible_gifts(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """Gifts given to the customers `staff` may see."""
    queryset = GiftGiven.objects.all() if queryset is None else queryset
    return queryset.filter(customer__in=visible_customers(staff))


def gifts_due_q(customer_ref) -> QuerySet:
    """Successful referrals of the customer (`customer_ref`: a pk or an OuterRef) as a referrer
    without a gift."""
    given = GiftGiven.objects.filter(referral__isnull=False).values("referral_id")
    return (Referral.objects.filter(referrer__kind=Referrer.Kind.CUSTOMER,
                                    referrer__customer=customer_ref,
                                    status__in=Referral.SUCCESS_STATUSES)
            .exclude(pk__in=given))


# --------------------------------------------------------------------------- names


def cause_text(cause: str) -> str:
    """A TierChange.cause ("deal:12", "refund:3", "referral:9", "recompute:v4") for people."""
    kind, _sep, ident = (cause or "").partition(":")
    if kind == "deal":
        return _("deal #%(id)s") % {"id": ident}
    if kind == "refund":
        return _("refund #%(id)s") % {"id": ident}
    if kind == "referral":
        return _("referral #%(id)s") % {"id": ident}
    if kind == "recompute":
        return _("re-evaluation after a scheme change (%(version)s)") % {"version": ident}
    return cause or ""


def describe_changes(changes, names: dict[str, str]) -> list:
    """TierChange rows with `from_name`, `to_name` and `cause_label` set (for the pages)."""
    rows = list(changes)
    for row in rows:
        row.from_name = names.get(row.from_tier, row.from_tier)
        row.to_name = names.get(row.to_tier, row.to_tier)
        row.cause_label = cause_text(row.cause)
    return rows


def next_tier(rules: TierRules, order: int, total: Decimal, referrals: int) -> dict | None:
    """The tier above `order` and what the customer's facts still miss to reach it (None at the
    top): {"tier", "missing_total" (Decimal or None), "missing_referrals" (int or None), "text"}."""
    if order >= len(rules.tiers):
        return None
    tier = rules.tiers[order]
    missing_total = (max(tier.min_total - total, ZERO) if tier.min_total is not None else None)
    missing_referrals = (max(tier.min_referrals - referrals, 0)
                         if tier.min_referrals is not None else None)
    parts = []
    if missing_total is not None:
        parts.append(_("%(amount)s more in contracts") % {"amount": plain_number(missing_total)})
    if missing_referrals is not None:
        parts.append(_("%(n)s more successful referrals") % {"n": missing_referrals})
    return {"tier": tier, "missing_total": missing_total, "missing_referrals": missing_referrals,
            "text": _(" or ").join(parts)}


# --------------------------------------------------------------------------- customer page


PERIODS = ("month", "quarter", "year", "lifetime")


def _tier_row(customer_id: int, day: dt.date):
    """The customer's tier row (None: no tier) annotated, in ONE query, with the active card
    (`card_id`, `card_number`), the gifts given and due (`gifts_given`, `gifts_due`), and the
    vouchers used in the voucher period holding `day` for each possible period length
    (`used_month`, `used_quarter`, `used_year`, `used_lifetime`: the scheme, read after, tells
    which one applies — so a customer without a tier costs this one query only)."""
    card = VipCard.objects.filter(customer=OuterRef("customer_id"), status=VipCard.Status.ACTIVE)
    given = (GiftGiven.objects.filter(customer=OuterRef("customer_id")).order_by()
             .values("customer").annotate(n=Count("pk")).values("n"))
    due = (gifts_due_q(OuterRef("customer_id")).order_by().values("referrer__customer")
           .annotate(n=Count("pk")).values("n"))
    used = {}
    for period in PERIODS:
        sums = (VoucherUse.objects.filter(customer=OuterRef("customer_id"),
                                          period_start=voucher_period_start(period, day))
                .order_by().values("customer").annotate(t=Sum("amount")).values("t"))
        used[f"used_{period}"] = Coalesce(Subquery(sums, output_field=_MONEY), Value(ZERO),
                                          output_field=_MONEY)
    return (CustomerTier.objects.filter(customer_id=customer_id)
            .annotate(card_number=Subquery(card.values("number")[:1]),
                      card_id=Subquery(card.values("pk")[:1]),
                      gifts_given=Coalesce(Subquery(given), 0),
                      gifts_due=Coalesce(Subquery(due), 0), **used)
            .first())


def _state(rules: TierRules, version: int, row, day: dt.date) -> VoucherState:
    tier = rules.stored(row.tier, row.tier_order)
    return VoucherState(tier=tier, allowance=tier.benefits.voucher.quantize(CENT),
                        period=rules.voucher_period,
                        period_start=voucher_period_start(rules.voucher_period, day),
                        used=getattr(row, f"used_{rules.voucher_period}"),
                        scheme_version=version)


def customer_vip_summary(customer: Customer, staff: Staff) -> dict:
    """The customer page's VIP section, for a viewer who may see the customer: the tier (name,
    grade, since, set by hand, review and why), the stored facts, the next tier and what is
    missing, the benefit lines, the voucher of this period (used, left), gifts given (the latest
    five) and due, the active card, the last 10 tier changes, and the actions the viewer may
    take. Four queries with a tier (the tier row with its counts, the scheme, gifts, history;
    three without a gift), one without a tier."""
    tenant = staff.tenant
    today = tenant_today(tenant)
    row = _tier_row(customer.pk, today)
    out = {"visible": True, "row": row, "can_set": row is not None and may_set(staff, customer),
           "can_reviews": can_see_reviews(staff), "can_gift": False,
           "can_see_deals": staff.has_role(*DEAL_READ_ROLES)}
    if row is None:
        return out
    version, rules = scheme_for(tenant, today)
    state = _state(rules, version, row, today)
    tier: Tier = state.tier
    gifts = list(GiftGiven.objects.filter(customer=customer).select_related("given_by")
                 .order_by("-given_on", "-id")[:GIFTS_ON_PAGE]) if row.gifts_given else []
    history = describe_changes(tier_history(customer)[:HISTORY_ON_PAGE], rules.names())
    out.update({
        "scheme_version": version,
        "tier": tier, "tier_name": tier.name, "grade": tier.grade, "order": row.tier_order,
        "since": row.since, "manual": row.manual, "review": row.review,
        "review_reason": row.review_reason,
        "computed_name": rules.by_order(max(row.computed_order, 1)).name,
        "contract_total": row.contract_total, "successful_referrals": row.successful_referrals,
        "next": next_tier(rules, row.tier_order, row.contract_total, row.successful_referrals),
        "benefits": benefit_lines(tier), "voucher": state,
        "gifts": gifts, "gifts_given": row.gifts_given, "gifts_due": row.gifts_due,
        "card_number": row.card_number or "", "card_id": row.card_id, "history": history,
        "can_keep": out["can_set"] and row.review,
        "can_gift": may_give_gift(staff),
        "care": care_of(tier),
    })
    return out


# --------------------------------------------------------------------------- deal page


def deal_vip_summary(deal: Deal, staff: Staff) -> dict:
    """The deal page's voucher section, for a viewer who sees the deal: the voucher redeemed
    against it (if any) and whether the viewer may redeem one now (the customer's tier gives a
    voucher with something left in the period of the signing date). At most three queries."""
    tenant = staff.tenant
    use = VoucherUse.objects.filter(deal=deal).select_related("created_by").first()
    out = {"use": use, "can_redeem": False, "tier_name": "", "left": None}
    if use is not None:
        _version, rules = scheme_for(tenant)
        out["tier_name"] = rules.name_of(use.tier)
        return out
    if not may_redeem(staff):
        return out
    row = _tier_row(deal.customer_id, deal.signed_on)
    if row is None:
        return out
    version, rules = scheme_for(tenant)
    state = _state(rules, version, row, deal.signed_on)
    out.update({"tier_name": state.tier.name, "voucher": state, "left": state.left,
                "can_redeem": state.left > 0 and deal.amount > deal.refunded_amount})
    return out


# --------------------------------------------------------------------------- follow-up hook


def care_plan(tenant: Tenant, day: dt.date | None = None) -> list[dict]:
    """Every tier of the scheme in force with its care frequencies, lowest tier first:
    [{"tier": code, "name", "order", "sms_every_months", "phone_every_months",
    "birthday_greeting"}] (0 months = no such care). THE hook of the follow-up module."""
    _version, rules = scheme_for(tenant, day)
    out = []
    for order, tier in enumerate(rules.tiers, start=1):
        care: Care = care_of(tier)
        out.append({"tier": care.tier, "name": tier.name, "order": order,
                    "sms_every_months": care.sms_every_months,
                    "phone_every_months": care.phone_every_months,
                    "birthday_greeting": care.birthday_greeting})
    return out


def care_for_customer(customer: Customer) -> Care | None:
    """The care frequencies of the customer's current tier (None: no tier, no VIP care). Call
    in the tenant."""
    row = CustomerTier.objects.filter(customer=customer).only("tier", "tier_order").first()
    if row is None:
        return None
    _version, rules = scheme_for(customer.tenant)
    return care_of(rules.stored(row.tier, row.tier_order))


def customers_in_tier(tier: str) -> QuerySet:
    """The customers whose current tier is `tier` (call in the tenant): whom the follow-up
    module schedules that tier's care for."""
    return Customer.objects.filter(pk__in=CustomerTier.objects.filter(tier=tier)
                                   .values("customer_id"))


__all__ = ["review_queue", "can_see_reviews", "tier_history", "visible_vouchers",
           "visible_gifts", "gifts_due_q", "customer_vip_summary", "deal_vip_summary",
           "care_plan", "care_for_customer", "customers_in_tier", "next_tier", "period_text",
           "describe_changes", "cause_text"]
