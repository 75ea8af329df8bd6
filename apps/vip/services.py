"""Customer tiers: the scheme in force, evaluation after a deal, a refund or a referral, tiers set
by hand, reviews, and the hooks the deals module calls.

* `scheme_for(tenant, day)` → (version number, TierRules): the version in force on `day` (the
  tenant's today), or the default preset as version 0 before the tenant saved one.
* `tier_evaluate(tenant=, customer=, cause=)` — the explicit service call of the modules that
  change a customer's facts: reads the facts (contract total net of refunds, successful
  referrals as a referrer), stores them, and applies `tiers.decide`: a first tier, an upgrade,
  a review flag when the facts drop below the tier (never a downgrade), or nothing. Each change
  is a `TierChange` row. The customer's tier row is locked for the decision (concurrent deals of
  the same customer are serialised).
* `vip_after_deal(deal, converted=)` / `vip_after_refund(refund)`: the hooks of
  apps.deals.services (deal entry and refunds): the deal's customer, and the referrer customer
  of the referral the deal converted (as the referral hook returned it) or the refund reversed.
* `tier_set` (a manager of the customer's team or an administrator, with a reason) and
  `tier_review_keep` (close a review keeping the tier, with a reason).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
from apps.customers.models import Customer
from apps.deals.models import Deal, Refund
from apps.ownership.selectors import tenant_today
from apps.referrals.models import Referral, Referrer
from apps.tenancy.context import in_tenant, tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import CustomerTier, TierChange, TierScheme
from .schemes import FALLBACK_PRESET, tier_preset_rules, tier_scheme_cached, tier_scheme_parsed
from .tiers import TierRules, decide, tier_order_for

#: Who may set a tier by hand or close a review (managers: customers of their team).
SET_ROLES = (Role.ADMIN, Role.MANAGER)
REASON_MAX = 300

def _rules_of(row: TierScheme) -> TierRules:
    rules = tier_scheme_parsed(row)
    if rules is None:
        raise ValueError(f"tier scheme {row.pk} holds rules that are not valid")
    return rules


def scheme_for(tenant: Tenant, day: dt.date | None = None) -> tuple[int, TierRules]:
    """(version, rules) in force on `day` (default: the tenant's today); (0, the default
    preset) before the first version."""
    day = day or tenant_today(tenant)
    with in_tenant(tenant):
        row = (TierScheme.objects.filter(effective_from__lte=day)
               .order_by("-effective_from", "-version").first())
    return (0, tier_preset_rules(FALLBACK_PRESET)) if row is None else (row.version, _rules_of(row))


def _facts(customer: Customer, day: dt.date | None = None) -> tuple[int, Decimal, int, int]:
    """(deals, contract total net of refunds, successful referrals as a referrer, the scheme
    version in force on `day` or None) in one query (deal entry pays for every query)."""
    deals = Deal.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    referrals = (Referral.objects.filter(referrer__kind=Referrer.Kind.CUSTOMER,
                                         referrer__customer=OuterRef("pk"),
                                         status__in=Referral.SUCCESS_STATUSES)
                 .order_by().values("referrer__customer"))
    annotations = {
        "vip_deals": Subquery(deals.annotate(n=Count("pk")).values("n")),
        "vip_total": Subquery(deals.annotate(t=Sum(F("amount") - F("refunded_amount")))
                              .values("t")),
        "vip_referrals": Subquery(referrals.annotate(n=Count("pk")).values("n")),
    }
    if day is not None:
        annotations["vip_scheme"] = Subquery(
            TierScheme.objects.filter(effective_from__lte=day)
            .order_by("-effective_from", "-version").values("version")[:1])
    row = (Customer.objects.filter(pk=customer.pk).annotate(**annotations)
           .values_list(*annotations).first())
    n, total, referrals, *version = row or (0, None, 0, None)
    return n or 0, total or Decimal("0.00"), referrals or 0, (version or [None])[0] or 0


def customer_facts(customer: Customer) -> tuple[bool, Decimal, int]:
    """(has bought, contract total net of refunds, successful referrals as a referrer), in one
    query."""
    n, total, referrals, _version = _facts(customer)
    return bool(n), total, referrals


def _scheme_of_version(tenant: Tenant, version: int) -> TierRules:
    """The rules of a version number found in force (parsed once per process)."""
    if version == 0:
        return tier_preset_rules(FALLBACK_PRESET)
    return (tier_scheme_cached(tenant.pk, version)
            or _rules_of(TierScheme.objects.get(version=version)))


def _locked_row(tenant: Tenant, customer: Customer) -> CustomerTier | None:
    return CustomerTier.objects.select_for_update().filter(customer=customer).first()


def _insert_if_absent(row: CustomerTier) -> bool:
    """INSERT … ON CONFLICT (tenant, customer) DO NOTHING RETURNING id, in one round trip (a
    savepoint around save() would cost two more). True when `row` was inserted (pk set)."""
    fields = [f for f in CustomerTier._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {CustomerTier._meta.db_table} ({columns}) "  # noqa: S608
                       f"VALUES ({marks}) ON CONFLICT (tenant_id, customer_id) DO NOTHING "
                       "RETURNING id", values)
        found = cursor.fetchone()
    if found is None:
        return False
    row.pk = found[0]
    row._state.adding = False
    return True


def _history(tenant: Tenant, customer: Customer, kind: str, *, from_tier: str, to_tier: str,
             row: CustomerTier | None, version: int, cause: str = "", reason: str = "",
             actor: Staff | None = None, total=None, referrals=None) -> TierChange:
    return TierChange.objects.create(
        tenant=tenant, customer=customer, team_id=customer.team_id, kind=kind,
        from_tier=from_tier, to_tier=to_tier, reason=reason[:REASON_MAX], cause=cause[:100],
        contract_total=total if total is not None else (row.contract_total if row else 0),
        successful_referrals=referrals if referrals is not None else (
            row.successful_referrals if row else 0),
        scheme_version=version, actor=actor)


def _review_reason(rules: TierRules, row: CustomerTier, computed: int) -> str:
    tier = rules.stored(row.tier, row.tier_order)
    return _("The facts (contract total %(total)s, %(n)s successful referrals) now give "
             "“%(computed)s”, below the tier “%(tier)s”; tiers never go down by themselves.") % {
        "total": row.contract_total, "n": row.successful_referrals,
        "computed": rules.by_order(max(computed, 1)).name, "tier": tier.name}


@transaction.atomic(savepoint=False)
def tier_evaluate(*, tenant: Tenant, customer: Customer, cause: str = "",
                  actor: Staff | None = None, deal: Deal | None = None) -> CustomerTier | None:
    """Re-evaluate `customer`'s tier now (see the module docstring). Returns the tier row (None
    for someone who never bought). Called inside deal entry (`deal`: the deal being entered),
    so it keeps to a few round trips: the facts with the scheme version, the locked row (not
    for a first deal), then one write (and a history row on a change)."""
    with in_tenant(tenant):
        deals, total, referrals, version = _facts(customer, tenant_today(tenant))
        rules = _scheme_of_version(tenant, version)
        computed = tier_order_for(rules, bought=deals > 0, total=total, referrals=referrals)
        # The only deal of the customer is the one being entered in this transaction: nobody
        # can have evaluated them yet (two first deals at once meet at the INSERT below).
        first_deal = deal is not None and deal.customer_id == customer.pk and deals == 1
        row = None if first_deal else _locked_row(tenant, customer)
        if row is None:
            if computed == 0:
                return None
            row = CustomerTier(tenant=tenant, customer=customer,
                               tier=rules.by_order(computed).code, tier_order=computed,
                               computed_order=computed, contract_total=total,
                               successful_referrals=referrals, scheme_version=version,
                               since=timezone.now())
            # Of two first evaluations at the same moment one inserts; the other inserts
            # nothing and evaluates again against the row now there (locking it).
            if not _insert_if_absent(row):
                return tier_evaluate(tenant=tenant, customer=customer, cause=cause, actor=actor)
            _history(tenant, customer, TierChange.Kind.INITIAL, from_tier="", to_tier=row.tier,
                     row=row, version=version, cause=cause, actor=actor)
            return row
        decision = decide(current=row.tier_order, previous_computed=row.computed_order,
                          computed=computed)
        unchanged = (decision.action == "none" and row.contract_total == total
                     and row.successful_referrals == referrals
                     and row.computed_order == computed and row.scheme_version == version)
        if unchanged:
            return row
        before = row.tier
        row.contract_total, row.successful_referrals = total, referrals
        row.computed_order, row.scheme_version = decision.computed_order, version
        if decision.action == "upgrade":
            row.tier_order = decision.tier_order
            row.tier = rules.by_order(decision.tier_order).code
            row.since, row.manual = timezone.now(), False
            row.review, row.review_reason = False, ""
            _history(tenant, customer, TierChange.Kind.UPGRADE, from_tier=before,
                     to_tier=row.tier, row=row, version=version, cause=cause, actor=actor)
        elif decision.action == "review":
            row.review, row.review_reason = True, _review_reason(rules, row, computed)
            _history(tenant, customer, TierChange.Kind.REVIEW, from_tier=row.tier,
                     to_tier=row.tier, row=row, version=version, cause=cause,
                     reason=row.review_reason, actor=actor)
        row.save()
        return row


def vip_after_deal(deal: Deal, *, converted: Referral | None) -> None:
    """The hook of deal entry (apps.deals.services.deal_create, inside its transaction, after
    the referral hook): the buyer, and the referrer customer of the referral this deal
    `converted` (what apps.referrals.lifecycle.referral_after_deal returned)."""
    tenant = deal.tenant
    tier_evaluate(tenant=tenant, customer=deal.customer, cause=f"deal:{deal.pk}", deal=deal)
    if (converted is not None and converted.referrer.kind == Referrer.Kind.CUSTOMER
            and converted.referrer.customer_id is not None):
        tier_evaluate(tenant=tenant, customer=converted.referrer.customer,
                      cause=f"referral:{converted.pk}")


def vip_after_refund(refund: Refund) -> None:
    """The hook of refunds (apps.deals.services.after_refund): the buyer, and the referrer
    customer whose referral the refund may have reversed."""
    deal = refund.deal
    tier_evaluate(tenant=deal.tenant, customer=deal.customer, cause=f"refund:{refund.pk}")
    for referral in _customer_referrals_of(deal):
        tier_evaluate(tenant=deal.tenant, customer=referral.referrer.customer,
                      cause=f"refund:{refund.pk}")


def _customer_referrals_of(deal: Deal):
    return (Referral.objects.filter(deal=deal, referrer__kind=Referrer.Kind.CUSTOMER,
                                    referrer__customer__isnull=False)
            .select_related("referrer__customer"))


# --------------------------------------------------------------------------- by hand

def may_set(actor: Staff | None, customer: Customer) -> bool:
    if actor is None or not actor.has_role(*SET_ROLES):
        return False
    return actor.is_admin or (actor.team_id is not None and actor.team_id == customer.team_id)


def _check_reason(reason: str, errors: dict) -> str:
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Give the reason: it is kept in the tier history.")]
    elif len(reason) > REASON_MAX:
        errors["reason"] = [_("At most %(max)s characters.") % {"max": REASON_MAX}]
    return reason


@transaction.atomic
def tier_set(*, tenant: Tenant, actor: Staff, customer: Customer, tier: str,
             reason: str) -> CustomerTier:
    """Set the customer's tier by hand (up or down), with a reason; closes an open review."""
    with tenant_context(tenant):
        if not may_set(actor, customer):
            raise PermissionDenied(_("Only a manager of the customer's team or an administrator "
                                     "may set a tier by hand."))
        errors: dict = {}
        reason = _check_reason(reason, errors)
        version, rules = scheme_for(tenant)
        order = rules.order_of(tier or "")
        if order is None:
            errors["tier"] = [_("Choose one of the tiers of the scheme in force.")]
        row = _locked_row(tenant, customer)
        if row is None and not errors:
            bought, total, referrals = customer_facts(customer)
            if not bought:
                errors["tier"] = [_("This customer has not bought yet: tiers are for buyers.")]
        if errors:
            raise ValidationError(errors)
        if row is None:
            computed = tier_order_for(rules, bought=True, total=total, referrals=referrals)
            CustomerTier.objects.bulk_create([CustomerTier(
                tenant=tenant, customer=customer, tier=rules.entry.code, tier_order=0,
                computed_order=computed, contract_total=total, successful_referrals=referrals,
                since=timezone.now(), scheme_version=version)], ignore_conflicts=True)
            row = _locked_row(tenant, customer)
        if row.tier == tier and not row.review:
            raise ValidationError({"tier": [_("The customer is already in this tier.")]})
        before = row.tier
        row.tier, row.tier_order, row.manual = tier, order, True
        row.review, row.review_reason = False, ""
        if before != tier:
            row.since = timezone.now()
        row.scheme_version = version
        row.save()
        _history(tenant, customer, TierChange.Kind.MANUAL, from_tier=before, to_tier=tier,
                 row=row, version=version, reason=reason, actor=actor)
        audit_record(tenant=tenant, actor=actor, action="vip.tier.set", target=customer,
                     changes={"tier": [before, tier]}, reason=reason)
        return row


@transaction.atomic
def tier_review_keep(*, tenant: Tenant, actor: Staff, customer: Customer,
                     reason: str) -> CustomerTier:
    """Close a review keeping the tier (the manager decided the customer stays)."""
    with tenant_context(tenant):
        if not may_set(actor, customer):
            raise PermissionDenied(_("Only a manager of the customer's team or an administrator "
                                     "may close a review."))
        errors: dict = {}
        reason = _check_reason(reason, errors)
        row = _locked_row(tenant, customer)
        if row is None or not row.review:
            errors["__all__"] = [_("This customer's tier is not waiting for a review.")]
        if errors:
            raise ValidationError(errors)
        row.review, row.review_reason = False, ""
        row.save(update_fields=["review", "review_reason", "updated_at"])
        _history(tenant, customer, TierChange.Kind.REVIEW_CLEARED, from_tier=row.tier,
                 to_tier=row.tier, row=row, version=row.scheme_version, reason=reason,
                 actor=actor)
        audit_record(tenant=tenant, actor=actor, action="vip.tier.review_keep",
                     target=customer, changes={"tier": row.tier}, reason=reason)
        return row
