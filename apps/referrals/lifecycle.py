"""The referral lifecycle (转介绍流程, DOMAIN.md §3): services and the hooks deals call.

    registered ──verify──▶ verified ──first deal──▶ converted ──(a reward)──▶ reward_pending
        │                     │                        │                         │ approve (after
        └──────reject─────────┴────────reject──────────┴──────────reject─────────┤ the refund window)
                                                                                 ▼
                                   reversed ◀──refund── approved ──pay (finance)──▶ paid

* **Logging** (`referral_log`): a salesperson picks the referrer and enters the new person
  through the ownership registration (apps.ownership.registration.customer_register), so
  duplicates and collisions are handled as for any registration. A new, eligible person is
  `verified` at once; a collision with another salesperson's protected customer opens the
  dispute (once confirmed) and the referral waits, `registered` and flagged.
* **Public link** referrals arrive `registered` (apps.referrals.public); `referral_verify`
  registers the person the same way and checks eligibility.
* **Conversion** (`referral_after_deal`, called by apps.deals.services.deal_create): the
  referred customer's first deal converts the referral and computes the reward with the policy
  in force on the signing day (its version and the inputs are stored), or a partner's
  agreement fee. A reward of money, a gift or points is then held (`reward_pending`) until the
  tenant's refund window (`hold_days`) has passed. A later purchase of the customer earns the
  referrer the override of their tier (a `RewardLine`).
* **Approval** (managers, administrators) earns the points; **payment** (finance,
  administrators) writes the `reward` line.
* **Refunds** (`referral_after_refund`, called by apps.deals.services.after_refund): before
  payment the reward is voided (a full refund reverses the referral; a partial one recomputes
  the reward on what was kept); after payment it is clawed back (a negative line the monthly
  settlement takes into the next open month) unless the policy lets the referrer keep it.
* **Expiry** (`referrals_expire`, nightly per tenant): registered or verified referrals with no
  deal within `conversion_days` are rejected as expired; running it twice changes nothing more.

Eligibility (apps.referrals.eligibility): not the referrer, not a relative when the policy
excludes them, never bought before, not already referred. One deal earns at most one reward
(a unique key on Referral's tenant and deal) and a person has at most one referral alive (a unique key).
Every step is audited (`referral.*`) with who, when and the figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.audit import audit_record
from apps.core.i18n import lazy_format
from apps.core.identity import normalize_id_number, normalize_phone
from apps.core.models import AuditEntry
from apps.core.versioning import advisory_lock
from apps.core.workdays import add_working_days
from apps.customers.models import Customer
from apps.deals.models import Deal, Refund
from apps.disputes.models import Dispute
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.ownership.registration import (
    OUTCOME_ALREADY_YOURS,
    OUTCOME_COLLISION,
    RegistrationResult,
    customer_register,
)
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .eligibility import ineligibility, referrer_identity
from .models import Referral, Referrer, RewardLine
from .points import points_earn, points_take_back
from .referrers import visible_referrers
from .reward_policies import parsed_policy, preset_reward_rules, reward_policy_for
from .reward_presets import preset_for_industry
from .rewards import (
    CLAWBACK,
    KEEP,
    VOID,
    RewardRules,
    override_reward,
    referral_reward,
    refund_action,
)

S = Referral.Status
LOCK_EXPIRY = 5002

#: Who logs and verifies referrals (the registration roles: a salesperson, or a manager or
#: administrator registering for themselves).
LOG_ROLES = (Role.SALES, Role.MANAGER, Role.ADMIN)
#: Who decides: rejects any referral, approves rewards.
DECIDE_ROLES = (Role.MANAGER, Role.ADMIN)
#: Who pays approved rewards.
PAY_ROLES = (Role.FINANCE, Role.ADMIN)

#: The explicit state machine: from → the states a service may move it to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.REGISTERED: (S.VERIFIED, S.REJECTED),
    S.VERIFIED: (S.CONVERTED, S.REJECTED),
    S.CONVERTED: (S.REWARD_PENDING, S.REJECTED, S.REVERSED),
    S.REWARD_PENDING: (S.APPROVED, S.REJECTED, S.REVERSED),
    S.APPROVED: (S.PAID, S.REVERSED),
    S.PAID: (S.REVERSED,),
    S.REJECTED: (),
    S.REVERSED: (),
}
CENT = Decimal("0.01")
NOTIFY_KIND = Notification.Kind.REFERRAL


# ----------------------------------------------------------------------------- selectors

def visible_referrals(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """Referrals `staff` may see: administrators, managers, finance and customer service all of
    the tenant's; a salesperson those they logged, those of customers they own and those of the
    referrers they see (their own customers, themselves)."""
    queryset = Referral.objects.all() if queryset is None else queryset
    if staff.has_role(Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.CUSTOMER_SERVICE):
        return queryset
    if staff.has_role(Role.SALES):
        return queryset.filter(Q(created_by=staff) | Q(customer__owner=staff)
                               | Q(referrer__in=visible_referrers(staff).values("pk")))
    return queryset.none()


def allowed_transitions(referral: Referral) -> tuple[str, ...]:
    return TRANSITIONS[referral.status]


def may_decide(staff: Staff | None) -> bool:
    return staff is not None and staff.has_role(*DECIDE_ROLES)


def may_pay(staff: Staff | None) -> bool:
    return staff is not None and staff.has_role(*PAY_ROLES)


def may_reject(staff: Staff | None, referral: Referral) -> bool:
    """Managers and administrators reject any referral that can still be rejected; a
    salesperson only an open (registered or verified) one they see."""
    if S.REJECTED not in TRANSITIONS[referral.status] or staff is None:
        return False
    if staff.has_role(*DECIDE_ROLES):
        return True
    return (staff.has_role(Role.SALES) and referral.status in Referral.OPEN_STATUSES
            and visible_referrals(staff).filter(pk=referral.pk).exists())


def rules_of(tenant: Tenant, referral: Referral) -> RewardRules:
    """The rules the referral's reward was computed with (the stored version, else the preset
    named), or the policy in force today for a referral not converted yet."""
    if referral.reward_policy_id:
        parsed = parsed_policy(referral.reward_policy)
        if parsed is not None:
            return parsed
    if referral.reward_preset:
        return preset_reward_rules(referral.reward_preset)
    return reward_policy_for(tenant)[1]


def ready_to_approve(referral: Referral, today: dt.date) -> bool:
    return (referral.status == S.REWARD_PENDING and referral.hold_until is not None
            and today > referral.hold_until)


# ----------------------------------------------------------------------------- helpers

def _move(referral: Referral, to: str) -> None:
    if to not in TRANSITIONS[referral.status]:
        raise ValidationError({NON_FIELD_ERRORS: [
            _("A referral that is “%(status)s” cannot become “%(to)s”.") % {
                "status": referral.get_status_display(), "to": S(to).label}]})
    referral.status = to


def _locked(referral: Referral) -> Referral:
    return (Referral.objects.select_for_update(of=("self",))
            .select_related("referrer__customer", "referrer__staff", "customer", "deal")
            .get(pk=referral.pk))


def _require(actor: Staff | None, roles, message: str) -> None:
    if actor is None or not actor.has_role(*roles):
        raise PermissionDenied(message)


def _refuse(message: str) -> ValidationError:
    return ValidationError({NON_FIELD_ERRORS: [message]})


def _check_note(errors: dict, note: str, *, key: str = "note", max_length: int = 500) -> str:
    note = (note or "").strip()
    if len(note) > max_length:
        errors[key] = [_("At most %(max)s characters.") % {"max": max_length}]
    return note


def _url(referral: Referral) -> str:
    return reverse("referrals:referral_detail", args=[referral.pk])


def _notify(tenant: Tenant, referral: Referral, title, actor: Staff | None,
            recipients=None) -> None:
    """Tell whoever logged the referral and the referred customer's owner (not the actor)."""
    if recipients is None:
        recipients = [referral.created_by]
        owner_id = referral.customer.owner_id if referral.customer_id else None
        if owner_id and owner_id != referral.created_by_id:
            recipients.append(Staff.objects.filter(pk=owner_id).first())
    notify(tenant=tenant, recipients=recipients, kind=NOTIFY_KIND,
           title=lazy_format(title, {"name": referral.name, "id": referral.pk}),
           url=_url(referral), target=referral, exclude=actor)


def _reward_fields(referral: Referral) -> dict:
    return {"total": referral.reward_total, "cash": referral.reward_cash,
            "percent": referral.reward_percent, "percent_amount": referral.reward_percent_amount,
            "count_bonus": referral.reward_count_bonus, "gift": referral.reward_gift,
            "points": referral.reward_points, "override_percent": referral.override_percent}


def _has_reward(referral: Referral) -> bool:
    return bool(referral.reward_total > 0 or referral.reward_gift or referral.reward_points)


# ----------------------------------------------------------------------------- logging

@dataclass
class LogResult:
    """What logging a referral did: the referral (None while a collision waits for the
    salesperson's confirmation) and the registration's outcome."""

    referral: Referral | None
    registration: RegistrationResult

    @property
    def needs_confirmation(self) -> bool:
        return self.referral is None and self.registration.needs_confirmation


def _check_referrer(actor: Staff, referrer: Referrer) -> Referrer:
    if not isinstance(referrer, Referrer) or not visible_referrers(actor).filter(
            pk=referrer.pk).exists():
        raise ValidationError({"referrer": [_("Choose a referrer.")]})
    referrer = (Referrer.objects.select_related("customer", "staff")
                .get(pk=referrer.pk))
    if not referrer.active:
        raise ValidationError({"referrer": [_("This referrer is deactivated.")]})
    return referrer


def _self_referral(referrer: Referrer, phone: str, id_number: str) -> bool:
    own_phone, own_id, _customer = referrer_identity(referrer)
    return phone == own_phone or bool(id_number and id_number == own_id)


def _eligible_or_refuse(tenant: Tenant, referrer: Referrer, customer: Customer,
                        referral: Referral | None = None) -> None:
    rules = reward_policy_for(tenant)[1]
    problem = ineligibility(referrer=referrer, customer=customer,
                            exclude_relatives=rules.exclude_relatives, referral=referral)
    if problem is not None:
        raise _refuse(problem[1])


@transaction.atomic
def referral_log(*, tenant: Tenant, actor: Staff, referrer: Referrer, name: str, phone: str,
                 id_number: str = "", gender: str = "", notes: str = "", claim_note: str = "",
                 confirm_collision: bool = False) -> LogResult:
    """A salesperson logs a referral: `referrer` (one they see, active) brought `name`/`phone`.

    The person goes through `customer_register` (registered to the actor, claimed from the pool,
    already theirs, or a collision). Refused (ValidationError, nothing saved — not even the
    registration): bad input, the referrer themselves, a relative when the policy excludes
    relatives, someone who has bought before, someone already referred. A collision asks for
    confirmation first (`LogResult.needs_confirmation`); once confirmed the dispute is opened
    and the referral is stored `registered`, flagged, to be verified when ownership is settled.
    Otherwise the referral is stored `verified`."""
    with tenant_context(tenant):
        if actor is None or not actor.has_role(*LOG_ROLES):
            raise PermissionDenied(_("Only salespeople, managers and administrators log "
                                     "referrals."))
        referrer = _check_referrer(actor, referrer)
        errors: dict = {}
        try:
            clean_phone = normalize_phone(phone)
        except ValidationError:
            clean_phone = ""  # customer_register reports it with the other fields
        try:
            clean_id = normalize_id_number(id_number)
        except ValidationError:
            clean_id = ""
        if clean_phone and _self_referral(referrer, clean_phone, clean_id):
            errors["phone"] = [_("A referrer cannot refer themselves.")]
        notes = _check_note(errors, notes, key="notes", max_length=1000)
        if errors:
            raise ValidationError(errors)
        result = customer_register(
            tenant=tenant, actor=actor, name=name, phone=phone, id_number=id_number,
            gender=gender, notes=notes, source=Customer.Source.REFERRAL, claim_note=claim_note,
            confirm_collision=confirm_collision)
        customer = result.customer
        if result.outcome == OUTCOME_COLLISION and result.dispute is None:
            # Not confirmed yet: check what can be checked, then ask (nothing was written).
            _eligible_or_refuse(tenant, referrer, customer)
            return LogResult(referral=None, registration=result)
        _eligible_or_refuse(tenant, referrer, customer)
        now = timezone.now()
        referral = Referral(
            tenant=tenant, referrer=referrer, channel=Referral.Channel.STAFF,
            name=customer.name, phone=customer.phone, customer=customer, note=notes,
            created_by=actor, created_at=now)
        if result.dispute is not None:
            referral.flagged = True
            referral.flag_reason = (_("Ownership disputed (dispute #%(id)s): verify once it is "
                                      "decided.") % {"id": result.dispute.pk})[:200]
        else:
            referral.status = S.VERIFIED
            referral.verified_at, referral.verified_by = now, actor
        try:
            with transaction.atomic():
                referral.save(force_insert=True)
        except IntegrityError:  # logged a moment ago by someone else (one alive per person)
            raise _refuse(_("%(name)s is already referred.") % {"name": customer.name}) from None
        audit_record(tenant=tenant, actor=actor, action="referral.log", target=referral,
                     changes={"referrer": referrer.pk, "customer": customer.pk,
                              "registration": result.outcome, "status": referral.status,
                              "dispute": result.dispute.pk if result.dispute else None})
        return LogResult(referral=referral, registration=result)


@transaction.atomic
def referral_verify(*, tenant: Tenant, actor: Staff, referral: Referral, id_number: str = "",
                    claim_note: str = "", confirm_collision: bool = False) -> LogResult:
    """Verify a `registered` referral (the qualification check).

    A referral from the public link has no customer yet: the person is registered through
    `customer_register` (to the actor; a collision asks for confirmation, then opens the
    dispute and the referral stays registered). Then the eligibility checks run (refused with
    the reason, nothing changed; the user may then reject the referral with that reason).
    A salesperson verifies only referrals of customers they own (after registering, theirs);
    managers and administrators any."""
    with tenant_context(tenant):
        if actor is None or not actor.has_role(*LOG_ROLES):
            raise PermissionDenied(_("Only salespeople, managers and administrators verify "
                                     "referrals."))
        if not visible_referrals(actor).filter(pk=referral.pk).exists():
            raise PermissionDenied(_("You may not verify this referral."))
        referral = _locked(referral)
        if referral.status != S.REGISTERED:
            raise _refuse(_("Only a registered referral can be verified."))
        result = None
        if referral.customer_id is None:
            result = customer_register(
                tenant=tenant, actor=actor, name=referral.name, phone=referral.phone,
                id_number=id_number, source=Customer.Source.REFERRAL, claim_note=claim_note,
                confirm_collision=confirm_collision)
            _eligible_or_refuse(tenant, referral.referrer, result.customer, referral)
            if result.outcome == OUTCOME_COLLISION:
                if result.dispute is None:
                    return LogResult(referral=None, registration=result)
                referral.customer = result.customer
                referral.flagged = True
                referral.flag_reason = (_("Ownership disputed (dispute #%(id)s): verify once it "
                                          "is decided.") % {"id": result.dispute.pk})[:200]
                _save_customer_link(referral)
                audit_record(tenant=tenant, actor=actor, action="referral.link_customer",
                             target=referral, changes={"customer": result.customer.pk,
                                                       "dispute": result.dispute.pk})
                return LogResult(referral=referral, registration=result)
            referral.customer = result.customer
        elif not actor.has_role(*DECIDE_ROLES) and referral.customer.owner_id != actor.pk:
            raise PermissionDenied(_("Only the customer's owner or a manager verifies this "
                                     "referral."))
        else:
            dispute = (Dispute.objects.filter(customer_id=referral.customer_id,
                                              status__in=Dispute.ACTIVE_STATUSES)
                       .values_list("pk", flat=True).first())
            if dispute is not None:
                raise _refuse(_("The ownership dispute #%(id)s about this customer is not "
                                "decided yet: verify the referral once it is.") % {"id": dispute})
        _eligible_or_refuse(tenant, referral.referrer, referral.customer, referral)
        _verify(tenant, referral, actor)
        if result is None:
            result = RegistrationResult(outcome=OUTCOME_ALREADY_YOURS, customer=referral.customer)
        return LogResult(referral=referral, registration=result)


def _save_customer_link(referral: Referral) -> None:
    try:
        with transaction.atomic():
            referral.save(update_fields=["customer", "flagged", "flag_reason", "status",
                                         "verified_at", "verified_by", "updated_at"])
    except IntegrityError:
        raise _refuse(_("%(name)s is already referred.") % {"name": referral.name}) from None


def _verify(tenant: Tenant, referral: Referral, actor: Staff | None) -> None:
    _move(referral, S.VERIFIED)
    referral.verified_at, referral.verified_by = timezone.now(), actor
    referral.flagged = False  # the check behind any flag has now been made (the reason stays)
    _save_customer_link(referral)
    audit_record(tenant=tenant, actor=actor, action="referral.verify", target=referral,
                 changes={"customer": referral.customer_id, "status": S.VERIFIED})


# ----------------------------------------------------------------------------- decisions

@transaction.atomic
def referral_reject(*, tenant: Tenant, actor: Staff, referral: Referral, reason: str,
                    note: str = "") -> Referral:
    """Reject a referral with a reason (Referral.Rejection) and an optional note (required for
    "false information"). Managers and administrators: any referral not yet approved; a
    salesperson: an open one they see. A reward not yet approved is void; nothing was paid."""
    with tenant_context(tenant):
        _require(actor, LOG_ROLES + DECIDE_ROLES, _("You may not reject referrals."))
        referral = _locked(referral)
        if not may_reject(actor, referral):
            if S.REJECTED not in TRANSITIONS[referral.status]:
                raise _refuse(_("A referral that is “%(status)s” cannot be rejected.") % {
                    "status": referral.get_status_display()})
            raise PermissionDenied(_("Only managers and administrators reject this referral."))
        errors: dict = {}
        if reason not in Referral.Rejection.values:
            errors["reason"] = [_("Choose why the referral is rejected.")]
        note = _check_note(errors, note)
        if reason == Referral.Rejection.FALSE_INFO and not note:
            errors["note"] = [_("Say what was false.")]
        if errors:
            raise ValidationError(errors)
        before = referral.status
        _move(referral, S.REJECTED)
        referral.rejection_reason, referral.rejection_note = reason, note
        referral.rejected_at, referral.rejected_by = timezone.now(), actor
        referral.save(update_fields=["status", "rejection_reason", "rejection_note",
                                     "rejected_at", "rejected_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="referral.reject", target=referral,
                     changes={"status": [before, S.REJECTED], "reason": reason,
                              "reward_voided": referral.reward_total}, reason=note)
        _notify(tenant, referral, gettext_lazy("Referral of %(name)s rejected"), actor)
        return referral


@transaction.atomic
def referral_approve(*, tenant: Tenant, actor: Staff, referral: Referral,
                     note: str = "") -> Referral:
    """A manager or administrator approves a pending reward once the refund window has passed
    (the day after `hold_until`). The referral's points are earned now."""
    with tenant_context(tenant):
        _require(actor, DECIDE_ROLES, _("Only managers and administrators approve rewards."))
        referral = _locked(referral)
        errors: dict = {}
        note = _check_note(errors, note)
        if errors:
            raise ValidationError(errors)
        if referral.status != S.REWARD_PENDING:
            raise _refuse(_("Only a pending reward can be approved (this referral is “%(status)s”)."
                            ) % {"status": referral.get_status_display()})
        today = tenant_today(tenant)
        if not ready_to_approve(referral, today):
            raise _refuse(_("The reward is held until %(day)s (the refund window); approve it "
                            "after that day.") % {"day": referral.hold_until.isoformat()})
        _move(referral, S.APPROVED)
        referral.approved_at, referral.approved_by = timezone.now(), actor
        referral.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])
        if referral.reward_points:
            points_earn(tenant=tenant, actor=actor, referrer=referral.referrer,
                        points=referral.reward_points, referral=referral,
                        reason=_("Referral #%(id)s approved") % {"id": referral.pk})
        audit_record(tenant=tenant, actor=actor, action="referral.approve", target=referral,
                     changes={"status": [S.REWARD_PENDING, S.APPROVED],
                              "reward": _reward_fields(referral)}, reason=note)
        _notify(tenant, referral, gettext_lazy("Reward for the referral of %(name)s approved"),
                actor)
        return referral


@transaction.atomic
def referral_pay(*, tenant: Tenant, actor: Staff, referral: Referral, note: str = "") -> Referral:
    """Finance (or an administrator) records an approved reward as paid: a `reward` line of
    the total (when there is money; a gift or points alone write none). Paid once."""
    with tenant_context(tenant):
        _require(actor, PAY_ROLES, _("Only finance and administrators record payments."))
        referral = _locked(referral)
        errors: dict = {}
        note = _check_note(errors, note)
        if errors:
            raise ValidationError(errors)
        if referral.status != S.APPROVED:
            raise _refuse(_("Only an approved reward can be paid (this referral is “%(status)s”)."
                            ) % {"status": referral.get_status_display()})
        _move(referral, S.PAID)
        referral.paid_at, referral.paid_by = timezone.now(), actor
        referral.save(update_fields=["status", "paid_at", "paid_by", "updated_at"])
        line = None
        if referral.reward_total > 0:
            line = RewardLine.objects.create(
                tenant=tenant, referral=referral, referrer=referral.referrer,
                kind=RewardLine.Kind.REWARD, amount=referral.reward_total, deal=referral.deal,
                policy_version=referral.reward_policy_version,
                explanation=(_("Reward for referral #%(id)s") % {"id": referral.pk})[:300],
                occurred_on=tenant_today(tenant), created_by=actor)
        audit_record(tenant=tenant, actor=actor, action="referral.pay", target=referral,
                     changes={"status": [S.APPROVED, S.PAID], "amount": referral.reward_total,
                              "line": line.pk if line else None}, reason=note)
        _notify(tenant, referral, gettext_lazy("Reward for the referral of %(name)s paid"), actor)
        return referral


# ----------------------------------------------------------------------------- conversion

def _partner_reward(referrer: Referrer, amount: Decimal) -> tuple[Decimal, list[str], dict]:
    if referrer.fee_kind == Referrer.FeeKind.FIXED:
        total = referrer.fee_value.quantize(CENT, rounding=ROUND_HALF_UP)
        line = _("Agreement fee: %(fee)s per successful referral") % {"fee": total}
    elif referrer.fee_kind == Referrer.FeeKind.PERCENT:
        total = (amount * referrer.fee_value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        line = _("Agreement fee: %(percent)s%% of %(amount)s = %(fee)s") % {
            "percent": referrer.fee_value.normalize(), "amount": amount, "fee": total}
    else:
        total, line = Decimal("0.00"), _("No agreement fee")
    inputs = {"agreement": referrer.fee_kind, "fee_value": str(referrer.fee_value),
              "deal_amount": str(amount),
              "payment_due_working_days": referrer.payment_due_working_days}
    return total, [line], inputs


def _computed(referral: Referral, rules: RewardRules, amount: Decimal, *,
              successful_before: int) -> dict:
    """The reward fields of `referral` for a referred deal of `amount` (pure: nothing set)."""
    referrer = referral.referrer
    if referrer.kind == Referrer.Kind.PARTNER:
        total, lines, inputs = _partner_reward(referrer, amount)
        fields = {"reward_cash": total, "reward_percent_amount": Decimal("0.00"),
                  "reward_percent": (referrer.fee_value
                                     if referrer.fee_kind == Referrer.FeeKind.PERCENT else None),
                  "reward_count_bonus": Decimal("0.00"), "reward_total": total,
                  "reward_gift": "", "reward_points": 0, "override_percent": Decimal("0")}
        inputs["ordinal"] = referral.ordinal
    else:
        result = referral_reward(rules, deal_amount=amount, ordinal=referral.ordinal,
                                 successful_before=successful_before)
        fields = {"reward_cash": result.cash, "reward_percent": result.percent,
                  "reward_percent_amount": result.percent_amount,
                  "reward_count_bonus": result.count_bonus, "reward_total": result.total,
                  "reward_gift": result.gift, "reward_points": result.points,
                  "override_percent": result.override_percent}
        lines, inputs = result.explanation, result.inputs
    inputs["policy_version"] = referral.reward_policy_version
    inputs["preset"] = referral.reward_preset
    fields["reward_inputs"], fields["reward_explanation"] = inputs, lines
    return fields


def _apply_reward(tenant: Tenant, referral: Referral, amount: Decimal, signed_on: dt.date,
                  *, successful_before: int) -> RewardRules:
    """Compute the reward of `referral` on a deal of `amount` (signed on `signed_on`) into its
    fields; returns the rules used (the policy in force on the signing day)."""
    row, rules = reward_policy_for(tenant, signed_on)
    referral.reward_policy = row
    referral.reward_policy_version = row.version if row else None
    referral.reward_preset = "" if row else preset_for_industry(tenant.industry)
    for name, value in _computed(referral, rules, amount,
                                 successful_before=successful_before).items():
        setattr(referral, name, value)
    return rules


def _successful_before(referral: Referral) -> int:
    return (Referral.objects.filter(referrer_id=referral.referrer_id,
                                    status__in=Referral.SUCCESS_STATUSES)
            .exclude(pk=referral.pk).count())


def _convert(tenant: Tenant, referral: Referral, deal: Deal) -> None:
    # The referrer row is locked first: two conversions for the same referrer are serialised,
    # so ordinals and the count bonus are never handed out twice.
    referrer = Referrer.objects.select_for_update(of=("self",)).select_related(
        "customer", "staff").get(pk=referral.referrer_id)
    referral.referrer = referrer
    before = _successful_before(referral)
    referral.ordinal = before + 1
    rules = _apply_reward(tenant, referral, deal.amount, deal.signed_on, successful_before=before)
    _move(referral, S.CONVERTED)
    referral.deal, referral.converted_at = deal, timezone.now()
    if referrer.kind == Referrer.Kind.PARTNER:
        referral.payment_due_on = add_working_days(deal.signed_on,
                                                   referrer.payment_due_working_days)
    audit_record(tenant=tenant, actor=None, action="referral.convert", target=referral,
                 changes={"deal": deal.pk, "ordinal": referral.ordinal,
                          "reward": _reward_fields(referral),
                          "policy_version": referral.reward_policy_version,
                          "preset": referral.reward_preset, "inputs": referral.reward_inputs})
    if _has_reward(referral):
        _move(referral, S.REWARD_PENDING)
        referral.hold_until = deal.signed_on + dt.timedelta(days=rules.hold_days)
        audit_record(tenant=tenant, actor=None, action="referral.hold", target=referral,
                     changes={"status": [S.CONVERTED, S.REWARD_PENDING],
                              "hold_until": referral.hold_until})
    referral.save()
    _notify(tenant, referral, gettext_lazy("Referral of %(name)s converted: a first deal"), None)


def _open_referral_for(customer: Customer) -> Referral | None:
    """The customer's alive referral, else the oldest open public-link referral of the
    customer's phone not linked to anyone yet (then linked now); locked. One query: a deal of
    a customer nobody referred pays only this."""
    rows = list(Referral.objects.select_for_update(of=("self",))
                .select_related("referrer", "reward_policy")
                .filter(Q(customer=customer) & ~Q(status__in=Referral.DEAD_STATUSES)
                        | Q(customer__isnull=True, phone=customer.phone, status=S.REGISTERED))
                .order_by("customer_id", "created_at", "pk")[:2])  # NULLs sort last
    if not rows:
        return None
    referral = rows[0]
    if referral.customer_id is None:
        referral.customer = customer
    return referral


def referral_after_deal(deal: Deal) -> Referral | None:
    """THE referral hook of a new deal (apps.deals.services.deal_create calls it inside its
    transaction, in the tenant's context). Returns the referral this deal converted (its
    referrer loaded), None otherwise.

    * The customer's first deal converts their referral: a `verified` one directly, a
      `registered` one after the eligibility check (verified by the system, or rejected with
      the reason when not eligible). A `registered` referral of a customer who had bought
      before (e.g. left on the public page, which must not tell) is rejected as an existing
      customer at their next deal.
    * A later deal of a customer whose referral succeeded earns the referrer the override of
      their tier on it (a `RewardLine`, when the policy has one)."""
    tenant = deal.tenant
    customer = deal.customer
    referral = _open_referral_for(customer)
    if referral is None:
        return None
    first = not Deal.objects.filter(customer=customer).exclude(pk=deal.pk).exists()
    if referral.status in Referral.OPEN_STATUSES:
        if not first and referral.status == S.VERIFIED:
            return None
        if referral.status == S.REGISTERED:
            # Also on a later deal: a customer who bought before is rejected (existing customer).
            rules = reward_policy_for(tenant)[1]
            referrer = Referrer.objects.select_related("customer", "staff").get(
                pk=referral.referrer_id)
            problem = ineligibility(referrer=referrer, customer=customer, referral=referral,
                                    exclude_relatives=rules.exclude_relatives,
                                    excluding_deal=deal)
            if problem is not None:
                _move(referral, S.REJECTED)
                referral.rejection_reason = problem[0]
                referral.rejection_note = problem[1][:500]
                referral.rejected_at = timezone.now()
                referral.save()
                audit_record(tenant=tenant, actor=None, action="referral.reject",
                             target=referral, changes={"status": [S.REGISTERED, S.REJECTED],
                                                       "reason": problem[0], "deal": deal.pk})
                return None
            _verify(tenant, referral, None)
        _convert(tenant, referral, deal)
        return referral
    if referral.status in Referral.SUCCESS_STATUSES and referral.deal_id != deal.pk:
        _override(tenant, referral, deal)
    return None


def _override(tenant: Tenant, referral: Referral, deal: Deal) -> None:
    if not referral.override_percent or referral.ordinal is None:
        return
    amount = override_reward(rules_of(tenant, referral), ordinal=referral.ordinal,
                             purchase_amount=deal.amount)
    if not amount:
        return
    RewardLine.objects.create(
        tenant=tenant, referral=referral, referrer_id=referral.referrer_id,
        kind=RewardLine.Kind.OVERRIDE, amount=amount, deal=deal,
        policy_version=referral.reward_policy_version,
        explanation=(_("%(percent)s%% of %(amount)s, a later purchase of %(name)s") % {
            "percent": referral.override_percent.normalize(), "amount": deal.amount,
            "name": referral.name})[:300],
        occurred_on=deal.signed_on)
    audit_record(tenant=tenant, actor=None, action="referral.override", target=referral,
                 changes={"deal": deal.pk, "amount": amount})


# ----------------------------------------------------------------------------- refunds

def referral_after_refund(refund: Refund) -> list[RewardLine]:
    """THE referral hook of a refund (apps.deals.services.after_refund calls it inside the
    refund's transaction, the deal row locked, `deal.refunded_amount` including this refund).

    * The refunded deal converted a referral: before payment the reward is void — a full
      refund reverses the referral (points earned at approval are taken back), a partial one
      recomputes the reward on what the customer kept; after payment the difference is clawed
      back (a negative `clawback` line), unless the policy lets the referrer keep it, and a
      full refund reverses the referral.
    * The refunded deal earned an override: the override is recomputed on what was kept and the
      difference is a negative `override` line.
    Returns the lines written."""
    deal = refund.deal
    tenant = deal.tenant
    lines: list[RewardLine] = []
    referral = (Referral.objects.select_for_update(of=("self",))
                .select_related("referrer", "reward_policy").filter(deal=deal).first())
    if referral is not None and referral.status in TRANSITIONS and (
            S.REVERSED in TRANSITIONS[referral.status]):
        line = _refund_reward(tenant, referral, refund)
        if line is not None:
            lines.append(line)
    lines.extend(_refund_overrides(tenant, refund))
    return lines


def _refund_reward(tenant: Tenant, referral: Referral, refund: Refund) -> RewardLine | None:
    deal = refund.deal
    kept = deal.amount - deal.refunded_amount
    full = kept <= 0
    rules = rules_of(tenant, referral)  # the stored version's rules: recompute what was computed
    status = referral.status
    action = refund_action(rules, status=status)
    if action == KEEP:
        audit_record(tenant=tenant, actor=refund.created_by, action="referral.refund_kept",
                     target=referral, changes={"refund": refund.pk, "kept": kept},
                     reason=_("The policy lets the referrer keep a paid reward."))
        return None
    old = _reward_fields(referral)
    successful_before = int(referral.reward_inputs.get("successful_before", 0) or 0)
    after = None if full else _computed(referral, rules, kept,
                                        successful_before=successful_before)
    line = None
    if action == VOID and after is not None:
        # Not paid yet: the reward simply becomes what the kept amount earns.
        after["reward_inputs"]["refunded"] = str(deal.refunded_amount)
        for name, value in after.items():
            setattr(referral, name, value)
    elif action == CLAWBACK:
        # Paid: the record of what was paid stays; the difference is taken back.
        target = Decimal("0.00") if after is None else after["reward_total"]
        owed_back = referral.reward_total - referral.reward_clawed_back - target
        if owed_back > 0:
            line = RewardLine.objects.create(
                tenant=tenant, referral=referral, referrer_id=referral.referrer_id,
                kind=RewardLine.Kind.CLAWBACK, amount=-owed_back, deal=deal, refund=refund,
                policy_version=referral.reward_policy_version,
                explanation=(_("Clawback after refund #%(id)s of %(amount)s") % {
                    "id": refund.pk, "amount": refund.amount})[:300],
                occurred_on=refund.refunded_on, created_by=refund.created_by)
            referral.reward_clawed_back += owed_back
    if full:
        _move(referral, S.REVERSED)
        referral.reversed_at = timezone.now()
        points_take_back(tenant=tenant, referrer=referral.referrer, referral=referral,
                         reason=_("Referral #%(id)s reversed after a refund") % {
                             "id": referral.pk})
    referral.save()
    audit_record(tenant=tenant, actor=refund.created_by,
                 action="referral.reverse" if full else "referral.refund_adjust",
                 target=referral, changes={
                     "refund": refund.pk, "action": action, "status": [status, referral.status],
                     "kept": kept, "reward_before": old, "reward_after": _reward_fields(referral),
                     "clawed_back": line.amount if line else None})
    if full:
        _notify(tenant, referral, gettext_lazy("Referral of %(name)s reversed after a refund"),
                refund.created_by)
    return line


def _refund_overrides(tenant: Tenant, refund: Refund) -> list[RewardLine]:
    deal = refund.deal
    kept = deal.amount - deal.refunded_amount
    lines = []
    originals = (RewardLine.objects.filter(deal=deal, kind=RewardLine.Kind.OVERRIDE,
                                           refund__isnull=True)
                 .select_related("referral__reward_policy"))
    for original in originals:
        referral = original.referral
        target = override_reward(rules_of(tenant, referral), ordinal=referral.ordinal,
                                 purchase_amount=kept)
        so_far = sum((row.amount for row in RewardLine.objects.filter(
            referral=referral, deal=deal, kind=RewardLine.Kind.OVERRIDE)), Decimal("0"))
        difference = target - so_far
        if difference:
            lines.append(RewardLine.objects.create(
                tenant=tenant, referral=referral, referrer_id=referral.referrer_id,
                kind=RewardLine.Kind.OVERRIDE, amount=difference, deal=deal, refund=refund,
                policy_version=original.policy_version,
                explanation=(_("Override taken back after refund #%(id)s") % {
                    "id": refund.pk})[:300],
                occurred_on=refund.refunded_on, created_by=refund.created_by))
    return lines


# ----------------------------------------------------------------------------- expiry

@transaction.atomic
def referrals_expire(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Reject as expired the registered and verified referrals older than the policy's
    `conversion_days` (the policy in force today). Idempotent: a second run finds nothing; two
    runs at once are serialised by a per-tenant advisory lock. The due rows are locked (FOR
    UPDATE) before they change, so a first deal converting one at the same moment either
    finds it expired or makes the job skip it (never a converted referral rejected). Returns
    how many expired."""
    with tenant_context(tenant):
        advisory_lock(LOCK_EXPIRY, tenant)
        now = now or timezone.now()
        rules = reward_policy_for(tenant, tenant_today(tenant, now))[1]
        cutoff = now - dt.timedelta(days=rules.conversion_days)
        due = Referral.objects.filter(status__in=Referral.OPEN_STATUSES, created_at__lt=cutoff)
        rows = list(due.select_for_update().values_list("pk", "status"))
        if not rows:
            return 0
        ids = [pk for pk, _status in rows]
        note = (_("No purchase within %(days)s days") % {"days": rules.conversion_days})[:500]
        Referral.objects.filter(pk__in=ids).update(
            status=S.REJECTED, rejection_reason=Referral.Rejection.EXPIRED, rejection_note=note,
            rejected_at=now, rejected_by=None, updated_at=now)
        AuditEntry.objects.bulk_create([
            AuditEntry(tenant=tenant, actor=None, action="referral.expire",
                       target_type=Referral._meta.label_lower, target_id=pk,
                       changes={"status": [status, S.REJECTED], "reason": "expired",
                                "conversion_days": rules.conversion_days})
            for pk, status in rows])
        return len(ids)
