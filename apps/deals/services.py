"""Every write to deals: entry with its credit split, refunds with their credit reversal, notes.

Keyword-only, one transaction, audited. Validation lives here (not in forms or serializers), so
the pages, the API and any import refuse the same things with the same field-keyed
ValidationError, and nothing is saved when anything is refused.

Deals are immutable once entered, except their notes (`deal_notes_update`): who took part, the
amount and the credit they produced are facts of the signing. Money changes only through
refunds (`deal_refund`), which append negative credit lines and never rewrite the originals, so
the deal page can always show who got what, why, and what was reversed when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.audit import audit_record
from apps.core.i18n import lazy_format
from apps.customers.models import Customer
from apps.customers.selectors import editable_customers
from apps.disputes.selectors import credit_shares
from apps.followups.services import followups_after_deal
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.ownership.selectors import local_midnight, tenant_today
from apps.ownership.services import contact_record
from apps.referrals.lifecycle import referral_after_deal, referral_after_refund
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.vip.services import vip_after_deal, vip_after_refund

from . import engine
from .contracts import contract_create_for_deal, renewal_check
from .models import Contract, Deal, DealCredit, DealParticipant, DealRole, Refund
from .rules import DEFAULT_ROLE_CODES
from .rulesets import deal_roles_ensure, rule_set_for
from .selectors import CREATE_ROLES, REFUND_ROLES, can_refund, remaining

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # DecimalField(14, 2)
PERCENT_PLACES = Decimal("0.000001")  # DealCredit.percent: DecimalField(9, 6)
HOURS_PLACES = Decimal("0.1")

#: A participant as the callers pass it: (staff, role code, subject); the subject may be left out.
ParticipantInput = tuple


# --------------------------------------------------------------------------- parsing helpers


def parse_money(errors: dict, field: str, value) -> Decimal | None:
    """A positive amount of money with at most two decimal places, or a field error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        errors[field] = [_("Enter an amount.")]
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        errors[field] = [_("Enter an amount, e.g. 12800 or 12800.50.")]
        return None
    if not amount.is_finite():
        errors[field] = [_("Enter an amount, e.g. 12800 or 12800.50.")]
        return None
    if amount <= 0:
        errors[field] = [_("Enter an amount greater than 0.")]
        return None
    if amount != amount.quantize(CENT):
        errors[field] = [_("Enter an amount with at most two decimal places.")]
        return None
    if amount > MAX_AMOUNT:
        errors[field] = [_("This amount is too large.")]
        return None
    return amount.quantize(CENT)


def _check_date(errors: dict, field: str, value, *, required: bool = True,
                message=None) -> dt.date | None:
    if value is None or value == "":
        if required:
            errors[field] = [str(message or _("Enter a date."))]
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        errors[field] = [_("Enter a valid date.")]
        return None
    return value


def _check_text(errors: dict, field: str, value, *, max_length: int, required: bool = False,
                required_message=None) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        errors[field] = [str(required_message or _("This field is required."))]
    elif len(text) > max_length:
        errors[field] = [_("Enter at most %(max)s characters (it has %(length)s).") % {
            "max": max_length, "length": len(text)}]
    return text


def _role_map(tenant: Tenant) -> dict[str, DealRole]:
    """The tenant's active deal roles by code (one query; the default roles are created first
    when one of them is missing: apps.deals.rulesets.deal_roles_ensure)."""
    roles = list(DealRole.objects.all())
    if not set(DEFAULT_ROLE_CODES) <= {r.code for r in roles}:
        roles = deal_roles_ensure(tenant)
    return {role.code: role for role in roles if role.active}


def _check_participants(errors: dict, tenant: Tenant, participants: Sequence,
                        roles: dict[str, DealRole]) -> list[tuple[Staff, DealRole, str]]:
    """(staff, role, subject) rows, or messages under "participants" naming the row.

    Staff of another tenant (or None) is "unknown" and never named; inactive staff is named
    (they are of this tenant)."""
    messages = []
    rows = []
    seen = set()
    if not participants:
        errors["participants"] = [_("Add at least one participant.")]
        return rows
    for n, item in enumerate(participants, start=1):
        try:
            staff, role_code, *rest = item
        except (TypeError, ValueError):
            messages.append(_("Participant %(n)s: enter a staff member and a role.") % {"n": n})
            continue
        subject = (str(rest[0]) if rest and rest[0] is not None else "").strip()
        if not isinstance(staff, Staff) or staff.tenant_id != tenant.pk:
            messages.append(_("Participant %(n)s: unknown staff member.") % {"n": n})
            continue
        if not staff.active:
            messages.append(_("Participant %(n)s: %(name)s is no longer active.") % {
                "n": n, "name": staff.name})
            continue
        role = roles.get(str(role_code or "").strip())
        if role is None:
            messages.append(_("Participant %(n)s: unknown role “%(role)s”.") % {
                "n": n, "role": role_code or ""})
            continue
        if len(subject) > 30:
            messages.append(_("Participant %(n)s: the subject has at most 30 characters.") % {
                "n": n})
            continue
        if (staff.pk, role.code) in seen:
            messages.append(_("Participant %(n)s: %(name)s is already listed as %(role)s.") % {
                "n": n, "name": staff.name, "role": role.name})
            continue
        seen.add((staff.pk, role.code))
        rows.append((staff, role, subject))
    if messages:
        errors["participants"] = messages
    return rows


def _customer_or_error(errors: dict, tenant: Tenant, actor: Staff | None,
                       customer: Customer | None) -> Customer | None:
    """The customer, if it is of the tenant and the actor may change it (a salesperson: their
    own); otherwise a field error that says no more than "unknown"."""
    if not isinstance(customer, Customer) or customer.tenant_id != tenant.pk:
        errors["customer"] = [_("Unknown customer.")]
        return None
    if actor is not None and not actor.is_admin:
        if not editable_customers(actor).filter(pk=customer.pk).exists():
            errors["customer"] = [_("Unknown customer.")]
            return None
    return customer


def _loaded(instance, *names: str) -> dict:
    """{name: the related object} where `instance` has it loaded, else {name_id: its id}:
    copying a relation never costs a query."""
    out = {}
    for name in names:
        field = instance._meta.get_field(name)
        if field.is_cached(instance):
            out[name] = getattr(instance, name)
        else:
            out[field.attname] = getattr(instance, field.attname)
    return out


def _contact_moment(tenant: Tenant, day: dt.date, today: dt.date) -> dt.datetime:
    """The signing as a moment: now for today, the start of the day for an earlier day."""
    return timezone.now() if day >= today else local_midnight(tenant, day)


def _cache_related(instance, name: str, rows: list) -> None:
    """Make `instance.<name>.all()` answer `rows` without a query (as prefetch_related does)."""
    qs = getattr(instance, name).all()
    qs._result_cache = list(rows)
    qs._prefetch_done = True
    instance._prefetched_objects_cache = getattr(instance, "_prefetched_objects_cache", {})
    instance._prefetched_objects_cache[name] = qs  # the reverse accessor is the cache key


def _credit_rows(tenant: Tenant, deal: Deal, lines: Iterable, *, source: str,
                 rule_version: int | None, refund: Refund | None = None) -> list[DealCredit]:
    now = timezone.now()
    return [DealCredit(tenant=tenant, deal=deal, staff_id=line.staff_id, role_code=line.role or "",
                       percent=Decimal(line.percent).quantize(PERCENT_PLACES),
                       amount=Decimal(line.amount).quantize(CENT),
                       confiscated=bool(line.confiscated), source=source,
                       rule_version=rule_version, explanation=str(line.explanation or "")[:300],
                       refund=refund, created_at=now)
            for line in lines]


# --------------------------------------------------------------------------- credit


def credit_lines_for(*, tenant: Tenant, customer: Customer, kind: str, amount: Decimal,
                     signed_on: dt.date, participants: Sequence[tuple[int, str, str]],
                     teacher_raised: bool = True) -> tuple[list, str, int | None]:
    """Who earns the credit of a deal: (engine ShareLines, source, rule version).

    Shares decided in a dispute about the customer (apps.disputes.selectors.credit_shares)
    take precedence: their percentages split the amount (a confiscation: one confiscated line,
    nobody earns), source "dispute". Otherwise the tenant's credit rule set in force on the
    signing day splits it by kind and participants, source "rules". Read-only."""
    shares = credit_shares(customer)
    if shares:
        dispute_id = next((s.dispute_id for s in shares if s.dispute_id), None)
        if any(s.confiscated for s in shares):
            explanation = (_("Confiscated by the decision of dispute #%(id)s: nobody earns it")
                           % {"id": dispute_id} if dispute_id else
                           _("Confiscated by a dispute decision: nobody earns it"))
            lines = engine.split_fixed(amount, {}, confiscated=True, explanation=explanation)
        else:
            explanation = (_("Share decided in dispute #%(id)s") % {"id": dispute_id}
                           if dispute_id else _("Share decided in a dispute"))
            lines = engine.split_fixed(amount, {s.staff_id: s.percent for s in shares
                                                if s.percent > 0},
                                       explanation=explanation)
        return list(lines), DealCredit.Source.DISPUTE, None
    version, rules = rule_set_for(tenant, signed_on)
    facts = engine.DealFacts(
        kind=kind, amount=amount, teacher_raised=teacher_raised,
        participants=[engine.Participant(staff_id, role, subject)
                      for staff_id, role, subject in participants])
    try:
        lines = engine.split(facts, rules)
    except engine.NoCreditRule as exc:
        raise ValidationError({"participants": [str(exc)]})
    return list(lines), DealCredit.Source.RULES, getattr(version, "version", version)


# --------------------------------------------------------------------------- entry


@transaction.atomic
def deal_create(*, tenant: Tenant, actor: Staff | None, customer: Customer, kind: str,
                amount, signed_on: dt.date, contract_number: str,
                participants: Sequence[ParticipantInput], units: int = 1, notes: str = "",
                teacher_raised: bool = True, renews: Contract | None = None,
                term_start: dt.date | None = None, term_end: dt.date | None = None,
                hours_bought: Decimal | None = None) -> Deal:
    """Enter a deal and split its credit.

    Who: administrators, managers and salespeople (the last two for the customers they may
    change: a salesperson their own). `participants` is a list of (staff, role code, subject).

    Refused with field errors, nothing saved: an amount not > 0 or with more than two decimals,
    a contract number already used in the tenant (also when two entries race: the unique key's
    IntegrityError is turned into the same error), a participant of another tenant ("unknown",
    never named), inactive, with an unknown role or listed twice in the same role, no
    participant, a signing date in the future, a renewal without the contract it renews or
    renewing another customer's (or an already renewed) contract, a term ending before it
    starts.

    A renewal records `days_since_contract_start` (signing day − the renewed contract's start;
    the start day is day 0). With `term_start`/`term_end` the deal creates its Contract
    (apps.deals.contracts.contract_create_for_deal, which also marks the renewed contract).

    Credit (see `credit_lines_for`): the dispute shares of the customer, or the rule set in
    force on the signing day (its version is recorded). The DealCredit lines sum to the amount
    to the cent. The customer's owner and team at signing are recorded; the deal counts as an
    effective contact with the customer (apps.ownership.services.contact_record).

    The returned deal has its participants and credits loaded (no further query to show them).
    """
    with tenant_context(tenant):
        if actor is not None and not actor.has_role(*CREATE_ROLES):
            raise PermissionDenied(_("You may not enter deals."))
        errors: dict = {}
        today = tenant_today(tenant)
        customer = _customer_or_error(errors, tenant, actor, customer)
        if kind not in Deal.Kind.values:
            errors["kind"] = [_("Choose the kind of deal.")]
        amount = parse_money(errors, "amount", amount)
        signed_on = _check_date(errors, "signed_on", signed_on,
                                message=_("Enter the signing date."))
        if signed_on is not None and signed_on > today:
            errors["signed_on"] = [_("The signing date cannot be in the future.")]
        contract_number = _check_text(errors, "contract_number", contract_number, max_length=40,
                                      required=True,
                                      required_message=_("Enter the contract number."))
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            errors["units"] = [_("Enter a number of units of at least 1.")]
        notes = _check_text(errors, "notes", notes, max_length=2000)
        roles = _role_map(tenant)
        rows = _check_participants(errors, tenant, participants, roles)

        # The term the deal creates, and the contract a renewal renews. A renewal always starts
        # a new term: that is what marks the renewed contract renewed (reminders stop, the
        # renewal rate counts it).
        renewal = kind == Deal.Kind.RENEWAL
        term_start = _check_date(errors, "term_start", term_start, required=renewal
                                 or term_end is not None or hours_bought is not None,
                                 message=_("Enter the start of the term."))
        term_end = _check_date(errors, "term_end", term_end, required=renewal
                               or term_start is not None,
                               message=_("Enter the end of the term."))
        if term_start and term_end and term_end < term_start:
            errors["term_end"] = [_("The end of the term cannot be before its start.")]
        if hours_bought is not None:
            try:
                hours_bought = Decimal(str(hours_bought))
            except (InvalidOperation, ValueError):
                hours_bought = None
                errors["hours_bought"] = [_("Enter a number of hours.")]
            else:
                if not hours_bought.is_finite() or hours_bought < 0 or hours_bought >= 10**7:
                    errors["hours_bought"] = [_("Enter a number of hours of at least 0.")]
                elif hours_bought != hours_bought.quantize(HOURS_PLACES):
                    errors["hours_bought"] = [_("Enter hours with at most one decimal place.")]
        days_since = None
        if kind == Deal.Kind.RENEWAL:
            if renews is None:
                errors["renews"] = [_("Choose the contract this deal renews.")]
            elif not isinstance(renews, Contract) or renews.tenant_id != tenant.pk:
                errors["renews"] = [_("Unknown contract.")]
            elif customer is not None and signed_on is not None:
                # Locked: two renewals of the same contract at once are serialised here.
                renews = Contract.objects.select_for_update().filter(pk=renews.pk).first()
                if renews is None:
                    errors["renews"] = [_("Unknown contract.")]
                else:
                    try:
                        days_since = _renewal_days(customer, renews, signed_on)
                    except ValidationError as exc:
                        for field, messages in exc.message_dict.items():
                            errors.setdefault(field, []).extend(messages)
        elif renews is not None:
            errors["renews"] = [_("Only a renewal renews a contract.")]
        if "contract_number" not in errors and Deal.objects.filter(
                contract_number=contract_number).exists():
            errors["contract_number"] = [_("Contract number %(number)s is already used.") % {
                "number": contract_number}]
        if errors:
            raise ValidationError(errors)

        participant_keys = [(staff.pk, role.code, subject) for staff, role, subject in rows]
        lines, source, rule_version = credit_lines_for(
            tenant=tenant, customer=customer, kind=kind, amount=amount, signed_on=signed_on,
            participants=participant_keys, teacher_raised=bool(teacher_raised))
        if sum((line.amount for line in lines), Decimal("0")) != amount:
            raise ValueError(f"credit lines do not add up to {amount}: {lines!r}")

        deal = Deal(
            tenant=tenant, customer=customer, kind=kind, amount=amount, signed_on=signed_on,
            contract_number=contract_number, units=units, notes=notes,
            teacher_raised=bool(teacher_raised), renews=renews if kind == Deal.Kind.RENEWAL else None,
            days_since_contract_start=days_since, credit_rule_version=rule_version,
            created_by=actor, **_loaded(customer, "owner", "team"))
        try:
            with transaction.atomic():  # a savepoint: the unique key may refuse it
                deal.save(force_insert=True)
        except IntegrityError:
            if Deal.objects.filter(contract_number=contract_number).exists():
                raise ValidationError({"contract_number": [
                    _("Contract number %(number)s is already used.") % {"number": contract_number}]})
            raise
        if term_start is not None:
            contract_create_for_deal(tenant=tenant, actor=actor, deal=deal, start=term_start,
                                     end=term_end, hours_bought=hours_bought,
                                     renews=deal.renews)
        participant_rows = DealParticipant.objects.bulk_create([
            DealParticipant(tenant=tenant, deal=deal, staff=staff, role=role, subject=subject)
            for staff, role, subject in rows])
        credits = _credit_rows(tenant, deal, lines, source=source, rule_version=rule_version)
        people = {staff.pk: staff for staff, _role, _subject in rows}
        for credit in credits:  # shown right away (the API answers with them): no query each
            if credit.staff_id in people:
                credit.staff = people[credit.staff_id]
        DealCredit.objects.bulk_create(credits)
        contact_record(tenant=tenant, customer=customer,
                       at=_contact_moment(tenant, signed_on, today))
        audit_record(tenant=tenant, actor=actor, action="deal.create", target=deal, changes={
            "customer": customer.pk, "kind": kind, "amount": amount, "signed_on": signed_on,
            "contract_number": contract_number, "units": units,
            "participants": [[s, r, subj] for s, r, subj in participant_keys],
            "renews": deal.renews_id, "days_since_contract_start": days_since,
            "contract": deal.contract_id, "credit_source": source, "rule_version": rule_version,
            "credit": [[c.staff_id, c.role_code, c.percent, c.amount, c.confiscated]
                       for c in credits]})
        # The referral hook: a first deal converts the customer's referral, a later one earns
        # the referrer's override.
        converted = referral_after_deal(deal)
        # The VIP hook: the buyer's tier (and the referrer customer's, for a conversion).
        vip_after_deal(deal, converted=converted)
        # The follow-up hook: the after-sale visits at the plan's offsets.
        followups_after_deal(deal)
        _cache_related(deal, "participants", participant_rows)
        _cache_related(deal, "credits", credits)
        _cache_related(deal, "refunds", [])
        return deal


def _renewal_days(customer: Customer, contract: Contract, signed_on: dt.date) -> int:
    """Days since the renewed contract's start (start = day 0), via the renewals module's
    check (another customer's contract, an already renewed one, a signing before the start)."""
    return renewal_check(customer=customer, contract=contract, signed_on=signed_on)


@transaction.atomic
def deal_notes_update(*, tenant: Tenant, actor: Staff | None, deal: Deal, notes: str) -> Deal:
    """Change a deal's notes: the only change a deal accepts (money changes through refunds;
    participants and credit are what the signing decided). Audited with the old and new text.
    Who: whoever may enter deals (the caller has checked that the actor sees the deal)."""
    with tenant_context(tenant):
        if actor is not None and not actor.has_role(*CREATE_ROLES):
            raise PermissionDenied(_("You may not change deals."))
        errors: dict = {}
        notes = _check_text(errors, "notes", notes, max_length=2000)
        if errors:
            raise ValidationError(errors)
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.notes != notes:
            audit_record(tenant=tenant, actor=actor, action="deal.notes", target=deal,
                         changes={"notes": [deal.notes, notes]})
            deal.notes = notes
            deal.save(update_fields=["notes"])
        return deal


# --------------------------------------------------------------------------- refunds

REFUND_TITLE = gettext_lazy("Deal %(number)s refunded: %(amount)s")
REFUND_BODY = gettext_lazy("%(actor)s refunded %(amount)s of %(customer)s's deal %(number)s "
                           "(%(remaining)s remains). Your credit was reduced in proportion. "
                           "Reason: %(reason)s")


def _refund_checked(tenant: Tenant, actor: Staff | None, deal: Deal, amount, refunded_on,
                    reason, *, lock: bool) -> tuple[Deal, Decimal, dt.date, str]:
    """The deal (fresh; locked with `lock`) and the cleaned refund, or PermissionDenied /
    ValidationError. Call inside the tenant context."""
    if actor is not None and not actor.has_role(*REFUND_ROLES):
        raise PermissionDenied(_("You may not refund deals."))
    queryset = Deal.objects.select_related("customer")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    deal = queryset.filter(pk=getattr(deal, "pk", None)).first()
    if deal is None:
        raise ValidationError({"deal": [_("Unknown deal.")]})
    if actor is not None and not can_refund(actor, deal):
        raise PermissionDenied(_("Only a manager of the deal's team, finance or an "
                                 "administrator may refund this deal."))
    errors: dict = {}
    amount = parse_money(errors, "amount", amount)
    left = remaining(deal)
    if amount is not None and amount > left:
        errors["amount"] = [
            _("At most %(remaining)s remains to be refunded.") % {"remaining": left}
            if left > 0 else _("This deal has already been refunded in full.")]
    refunded_on = _check_date(errors, "refunded_on", refunded_on,
                              message=_("Enter the refund date."))
    if refunded_on is not None:
        if refunded_on < deal.signed_on:
            errors["refunded_on"] = [_("A refund cannot be dated before the signing "
                                       "(%(day)s).") % {"day": deal.signed_on.isoformat()}]
        elif refunded_on > tenant_today(tenant):
            errors["refunded_on"] = [_("The refund date cannot be in the future.")]
    reason = _check_text(errors, "reason", reason, max_length=1000, required=True,
                         required_message=_("Enter the reason for the refund."))
    if errors:
        raise ValidationError(errors)
    return deal, amount, refunded_on, reason


def refund_check(*, tenant: Tenant, actor: Staff | None, deal: Deal, amount,
                 refunded_on: dt.date, reason: str) -> list[engine.ShareLine]:
    """What `deal_refund` with these arguments would reverse, without writing anything (the
    confirmation step). Refuses exactly what `deal_refund` refuses."""
    with tenant_context(tenant):
        deal, amount, refunded_on, _reason = _refund_checked(
            tenant, actor, deal, amount, refunded_on, reason, lock=False)
        return _reversal_lines(deal, amount, refunded_on)[1]


@transaction.atomic
def deal_refund(*, tenant: Tenant, actor: Staff | None, deal: Deal, amount, refunded_on: dt.date,
                reason: str) -> Refund:
    """Refund part or all of a deal.

    Who: administrators, finance, and the managers of the deal's team (PermissionDenied for
    anyone else). Refused with field errors, nothing changed: no reason, an amount not > 0 or
    with more than two decimals, more than what remains (amount − already refunded), a refund
    date before the signing or in the future.

    The deal row is locked (select_for_update), so two refunds at the same moment cannot
    together exceed the deal: the second one waits, then sees the first one's amount. Then
    `after_refund(refund)` runs in the same transaction: THE hook of everything a refund undoes
    (today: the credit, reversed in proportion). The deal's participants and everyone whose
    credit changed are notified (not the actor)."""
    with tenant_context(tenant):
        deal, amount, refunded_on, reason = _refund_checked(
            tenant, actor, deal, amount, refunded_on, reason, lock=True)
        refund = Refund.objects.create(tenant=tenant, deal=deal, amount=amount,
                                       refunded_on=refunded_on, reason=reason, created_by=actor)
        before = deal.refunded_amount
        deal.refunded_amount = before + amount
        deal.save(update_fields=["refunded_amount"])
        reversals = after_refund(refund)
        audit_record(tenant=tenant, actor=actor, action="deal.refund", target=deal, changes={
            "refund": refund.pk, "amount": amount, "refunded_on": refunded_on,
            "refunded_amount": [before, deal.refunded_amount],
            "reversed": [[c.staff_id, c.amount, c.confiscated] for c in reversals]},
            reason=reason)
        _notify_refund(tenant, actor, deal, refund, reversals)
        return refund


def after_refund(refund: Refund) -> list[DealCredit]:
    """Everything a refund undoes. Called by `deal_refund` inside its transaction, in the
    tenant's context, with the deal row locked, `refund` saved and `refund.deal.refunded_amount`
    already including it.

    THE extension point of refunds: a later module whose amounts depend on a deal (referral
    rewards, commissions, VIP levels) adds ONE explicit call here to its own reversal service,
    e.g. ``commissions.services.commission_reverse(refund=refund)`` — no signals, no registry:
    the order is visible in this function, and any failure rolls the whole refund back.

    Today: the deal's credit, reversed in proportion (`credit_reverse`), then the referral
    reward of the deal and the overrides it earned (apps.referrals.lifecycle). Returns the new
    negative credit lines."""
    reversals = credit_reverse(refund)
    referral_after_refund(refund)
    vip_after_refund(refund)
    return reversals


def _reversal_lines(deal: Deal, amount: Decimal, refunded_on: dt.date):
    """(the deal's original credit lines, the engine's negative lines for a refund of
    `amount`), given what earlier refunds reversed."""
    credits = list(DealCredit.objects.filter(deal=deal).order_by("id"))
    originals = [c for c in credits if c.refund_id is None]
    if not originals:
        return originals, []
    earlier: dict[tuple[int | None, str], Decimal] = {}
    for c in credits:
        if c.refund_id is not None:
            key = (c.staff_id, c.role_code)
            earlier[key] = earlier.get(key, Decimal("0")) + c.amount
    lines = engine.reverse(
        [_share_line(c) for c in originals], amount, already_reversed=earlier,
        explanation=_("Refund of %(amount)s on %(day)s, reversed in proportion") % {
            "amount": amount, "day": refunded_on.isoformat()})
    return originals, lines


def credit_reverse(refund: Refund) -> list[DealCredit]:
    """Negative credit lines for `refund`, in proportion to what each of the deal's credit
    lines still holds (apps.deals.engine.reverse), so that refunds adding up to the whole deal
    bring every person's net credit to exactly 0. They keep the original line's role, source
    and rule version, and point at the refund."""
    deal = refund.deal
    originals, lines = _reversal_lines(deal, refund.amount, refund.refunded_on)
    by_key = {(c.staff_id, c.role_code): c for c in originals}
    now = timezone.now()
    rows = []
    for line in lines:
        original = by_key[(line.staff_id, line.role)]
        rows.append(DealCredit(
            tenant_id=deal.tenant_id, deal=deal, staff_id=line.staff_id, role_code=line.role,
            percent=original.percent, amount=Decimal(line.amount).quantize(CENT),
            confiscated=original.confiscated, source=original.source,
            rule_version=original.rule_version, explanation=str(line.explanation)[:300],
            refund=refund, created_at=now))
    return DealCredit.objects.bulk_create(rows)


def _share_line(credit: DealCredit) -> engine.ShareLine:
    return engine.ShareLine(staff_id=credit.staff_id, role=credit.role_code,
                            percent=credit.percent, amount=credit.amount,
                            explanation=credit.explanation, confiscated=credit.confiscated)


def _notify_refund(tenant: Tenant, actor: Staff | None, deal: Deal, refund: Refund,
                   reversals: list[DealCredit]) -> None:
    credited = {c.staff_id for c in reversals if c.staff_id is not None}
    recipients = (Staff.objects.filter(Q(pk__in=DealParticipant.objects.filter(deal=deal)
                                         .values("staff_id")) | Q(pk__in=credited))
                  .select_related("user").order_by("pk"))
    params = {"number": deal.contract_number, "amount": refund.amount,
              "remaining": remaining(deal), "customer": deal.customer.name,
              "actor": actor.name if actor is not None else "—", "reason": refund.reason}
    notify(tenant=tenant, recipients=list(recipients), kind=Notification.Kind.DEAL,
           title=lazy_format(REFUND_TITLE, params), body=lazy_format(REFUND_BODY, params),
           url=reverse("deals:detail", args=[deal.pk]), target=deal, exclude=actor)
