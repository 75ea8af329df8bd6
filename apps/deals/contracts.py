"""Contracts (合同/课程/会员期) and renewals: the services and selectors of the Contract model
(which lives in apps/deals/models.py). Pages and the API are in apps/renewals.

Who sees a contract (`visible_contracts`): administrators, customer service and finance every
contract of the tenant; a manager the contracts of their team and their own; a salesperson
their own (`Contract.owner`: the deal's owner at signing, or the customer's owner when the
contract was entered without a deal). A contract outside that set answers 404, exactly like
one of another tenant.

Who changes one: `contract_create` managers and administrators (for a customer they see);
`contract_update` administrators, and managers for the contracts of their team;
`contract_hours_consume` whoever sees the contract except a finance-only member.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from apps.core.audit import audit_record, diff
from apps.customers.models import Customer
from apps.customers.selectors import search_customers, visible_customers
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from .models import Contract

#: Roles that enter contracts without a deal (imports of existing customers' terms).
CREATE_ROLES = (Role.ADMIN, Role.MANAGER)
#: Largest amount the column holds (DecimalField(14, 2)) and hours (DecimalField(8, 1)).
MAX_AMOUNT = Decimal("999999999999.99")
MAX_HOURS = Decimal("9999999.9")
NUMBER_MAX = 40
NOTES_MAX = 500
CHAIN_LIMIT = 100


# --------------------------------------------------------------------------- who may do what

def _scope_q(staff: Staff) -> Q | None:
    """The visibility rule as a filter on Contract; None = the whole tenant."""
    roles = set(staff.roles)
    if roles & {Role.ADMIN, Role.CUSTOMER_SERVICE, Role.FINANCE}:
        return None
    q = Q(pk__in=[])
    if Role.MANAGER in roles:
        q |= Q(owner_id=staff.pk)
        if staff.team_id is not None:
            q |= Q(team_id=staff.team_id)
    if Role.SALES in roles:
        q |= Q(owner_id=staff.pk)
    return q


def visible_contracts(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The contracts `staff` may see, inside the tenant in context (see the module doc)."""
    queryset = Contract.objects.all() if queryset is None else queryset
    q = _scope_q(staff)
    return queryset if q is None else queryset.filter(q)


def may_see_contract(staff: Staff, contract: Contract) -> bool:
    roles = set(staff.roles)
    if roles & {Role.ADMIN, Role.CUSTOMER_SERVICE, Role.FINANCE}:
        return True
    if contract.owner_id == staff.pk and roles & {Role.MANAGER, Role.SALES}:
        return True
    return (Role.MANAGER in roles and staff.team_id is not None
            and contract.team_id == staff.team_id)


def may_create_contracts(staff: Staff) -> bool:
    return staff.has_role(*CREATE_ROLES)


def may_change_contract(staff: Staff, contract: Contract) -> bool:
    """Extend the end / change the notes: administrators, the manager of the contract's team."""
    if staff.is_admin:
        return True
    return staff.is_manager and staff.team_id is not None and contract.team_id == staff.team_id


def may_record_hours(staff: Staff, contract: Contract) -> bool:
    """Record consumed hours: whoever sees the contract, except finance (read-only)."""
    if not staff.has_role(Role.ADMIN, Role.MANAGER, Role.SALES, Role.CUSTOMER_SERVICE):
        return False
    if staff.has_role(Role.ADMIN, Role.CUSTOMER_SERVICE):
        return True
    return may_see_contract(staff, contract)


# --------------------------------------------------------------------------- renewals

def renewal_check(*, customer: Customer, contract: Contract, signed_on: dt.date) -> int:
    """May a deal of `customer` signed on `signed_on` renew `contract`?

    Returns the days since the contract's start, the start day being day 0 (signed on the
    start day -> 0, 45 days later -> 45: the 45-day renewal commission rule reads it). Raises
    ValidationError({"renews": [...]}) when the contract is another customer's (the message
    never names them), already renewed, or the signing is before its start. Reads only the
    given objects (no query); `contract_create_for_deal` checks again under a row lock."""
    if contract.customer_id != customer.pk:
        raise ValidationError({"renews": [_("This contract is not this customer's: a renewal "
                                            "can only renew the customer's own contract.")]})
    if contract.renewed_by_id is not None:
        raise ValidationError({"renews": [
            _("Contract %(number)s has already been renewed.") % {"number": contract.number}]})
    if signed_on is None:
        raise ValidationError({"signed_on": [_("Enter the signing date.")]})
    if signed_on < contract.start:
        raise ValidationError({"renews": [
            _("A renewal cannot be signed before the start of the contract it renews "
              "(%(start)s).") % {"start": contract.start.isoformat()}]})
    return (signed_on - contract.start).days


def _insert_contract(contract: Contract, *, number_field: str) -> None:
    """Save a new contract; a number taken meanwhile (the unique key) is a field error."""
    try:
        with transaction.atomic():  # a savepoint: the unique key may refuse it
            contract.save(force_insert=True)
    except IntegrityError:
        raise ValidationError({number_field: [_number_taken(contract.number)]})


def _number_taken(number: str) -> str:
    return _("Contract number %(number)s is already used.") % {"number": number}


def _term_errors(start, end, *, start_field: str, end_field: str) -> dict:
    errors: dict = {}
    if start is None:
        errors[start_field] = [_("Enter the start of the term.")]
    if end is None:
        errors[end_field] = [_("Enter the end of the term.")]
    elif start is not None and end < start:
        errors[end_field] = [_("The end of the term cannot be before its start.")]
    return errors


def _hours_error(value) -> str | None:
    """None when `value` is a valid number of hours bought (None = no hours)."""
    if value is None:
        return None
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return _("Enter a number of hours.")
    if not value.is_finite() or value < 0:
        return _("Enter a number of hours of at least 0.")
    if value > MAX_HOURS:
        return _("Enter at most %(max)s hours.") % {"max": MAX_HOURS}
    if value != value.quantize(Decimal("0.1")):
        return _("Enter hours with at most one decimal place.")
    return None


def _amount_error(value) -> str | None:
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return _("Enter an amount.")
    if not value.is_finite() or value <= 0:
        return _("The amount must be greater than zero.")
    if value > MAX_AMOUNT:
        return _("The amount is too large.")
    if value != value.quantize(Decimal("0.01")):
        return _("Enter the amount in yuan with at most two decimal places (fen).")
    return None


@transaction.atomic
def contract_create_for_deal(*, tenant: Tenant, actor: Staff | None, deal, start: dt.date,
                             end: dt.date, hours_bought: Decimal | None = None,
                             renews: Contract | None = None) -> Contract:
    """The term a deal creates: number = the deal's contract number, amount = the deal's
    amount, customer/owner/team = the deal's. Sets `deal.contract` on the instance (and in the
    database when the deal is already saved).

    When `renews` is given, that contract is locked (select_for_update), checked again with
    `renewal_check` (the deal's customer and signing date) and its `renewed_by` set to the new
    contract: a contract renewed twice, even by two deals at the same moment, is refused with
    ValidationError({"renews": [...]}). End before start: ValidationError({"term_end": [...]})
    (start missing: "term_start"); hours: "hours_bought"; a number already used by a contract:
    ValidationError({"contract_number": [...]}). Permissions are the deal service's business
    (it calls this inside its own transaction)."""
    with tenant_context(tenant):
        errors = _term_errors(start, end, start_field="term_start", end_field="term_end")
        message = _hours_error(hours_bought)
        if message:
            errors["hours_bought"] = [message]
        if errors:
            raise ValidationError(errors)
        locked = None
        if renews is not None:
            locked = Contract.objects.select_for_update().filter(pk=renews.pk).first()
            if locked is None:
                raise ValidationError({"renews": [_("Unknown contract.")]})
            renewal_check(customer=deal.customer, contract=locked, signed_on=deal.signed_on)
        contract = Contract(
            tenant=tenant, customer=deal.customer, number=deal.contract_number, start=start,
            end=end, amount=deal.amount, hours_bought=hours_bought, owner=deal.owner,
            team=deal.team, created_by=actor)
        _insert_contract(contract, number_field="contract_number")
        if locked is not None:
            locked.renewed_by = contract
            locked.save(update_fields=["renewed_by"])
            renews.renewed_by = contract
            audit_record(tenant=tenant, actor=actor, action="contract.renew", target=locked,
                         changes={"renewed_by": contract.pk, "deal": deal.pk})
        audit_record(tenant=tenant, actor=actor, action="contract.create", target=contract,
                     changes={"number": contract.number, "customer": contract.customer_id,
                              "start": start, "end": end, "amount": contract.amount,
                              "hours_bought": hours_bought, "deal": deal.pk,
                              "renews": locked.pk if locked is not None else None})
        deal.contract = contract
        if deal.pk is not None:
            type(deal).objects.filter(pk=deal.pk).update(contract=contract)
        return contract


# --------------------------------------------------------------------------- contracts without a deal

@transaction.atomic
def contract_create(*, tenant: Tenant, actor: Staff, customer: Customer | None, number: str,
                    start: dt.date | None, end: dt.date | None, amount,
                    hours_bought: Decimal | None = None, notes: str = "") -> Contract:
    """A contract entered without a deal (the terms of existing customers, imported): managers
    and administrators, for a customer they see. Owner and team are the customer's.

    Refusals, all at once, keyed by field: customer (missing or not visible: "Unknown
    customer", never telling whether it exists), number (empty, too long, already used -- also
    when taken by a concurrent request), start/end (end before start), amount (> 0, two
    decimals), hours_bought, notes. PermissionDenied for the other roles."""
    with tenant_context(tenant):
        if not may_create_contracts(actor):
            raise PermissionDenied(_("Only managers and administrators may enter contracts."))
        errors: dict = {}
        if customer is None or not visible_customers(actor).filter(pk=customer.pk).exists():
            errors["customer"] = [_("Unknown customer.")]
        number = (number or "").strip()
        if not number:
            errors["number"] = [_("Enter the contract number.")]
        elif len(number) > NUMBER_MAX:
            errors["number"] = [_("At most %(max)s characters.") % {"max": NUMBER_MAX}]
        elif Contract.objects.filter(number=number).exists():
            errors["number"] = [_number_taken(number)]
        errors.update(_term_errors(start, end, start_field="start", end_field="end"))
        message = _amount_error(amount)
        if message:
            errors["amount"] = [message]
        message = _hours_error(hours_bought)
        if message:
            errors["hours_bought"] = [message]
        notes = (notes or "").strip()
        if len(notes) > NOTES_MAX:
            errors["notes"] = [_("At most %(max)s characters.") % {"max": NOTES_MAX}]
        if errors:
            raise ValidationError(errors)
        contract = Contract(
            tenant=tenant, customer=customer, number=number, start=start, end=end,
            amount=Decimal(amount),
            hours_bought=Decimal(hours_bought) if hours_bought is not None else None,
            owner=customer.owner, team=customer.team, notes=notes, created_by=actor)
        _insert_contract(contract, number_field="number")
        audit_record(tenant=tenant, actor=actor, action="contract.create", target=contract,
                     changes={"number": number, "customer": customer.pk, "start": start,
                              "end": end, "amount": contract.amount,
                              "hours_bought": contract.hours_bought, "notes": notes})
        return contract


@transaction.atomic
def contract_update(*, tenant: Tenant, actor: Staff, contract: Contract,
                    end: dt.date | None = None, notes: str | None = None) -> Contract:
    """Change a contract's end (an extension, or a correction: never before its start) and/or
    its notes (None: unchanged). Administrators, and the manager of the contract's team.
    Audited with the old and new values.

    When the end moves, the reminders logged for lead days that are again ahead (lead day <
    the new days left) are forgotten, so they go out again before the new end; the ones for
    windows already reached stay (see apps.renewals.services.renewal_reminders_send)."""
    from apps.ownership.selectors import tenant_today
    from apps.renewals.models import RenewalReminder

    with tenant_context(tenant):
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if not may_change_contract(actor, contract):
            raise PermissionDenied(_("Only administrators and the manager of the contract's "
                                     "team may change it."))
        data: dict = {}
        errors: dict = {}
        if end is not None:
            if end < contract.start:
                errors["end"] = [_("The end of the term cannot be before its start.")]
            data["end"] = end
        if notes is not None:
            notes = notes.strip()
            if len(notes) > NOTES_MAX:
                errors["notes"] = [_("At most %(max)s characters.") % {"max": NOTES_MAX}]
            data["notes"] = notes
        if errors:
            raise ValidationError(errors)
        changes = diff(contract, data)
        if not changes:
            return contract
        for field in changes:
            setattr(contract, field, data[field])
        contract.save(update_fields=list(changes))
        if "end" in changes:
            days_left = (contract.end - tenant_today(tenant)).days
            cleared, _detail = RenewalReminder.objects.filter(
                contract=contract, lead_days__lt=days_left).delete()
            if cleared:
                changes["reminders_cleared"] = cleared
        audit_record(tenant=tenant, actor=actor, action="contract.update", target=contract,
                     changes=changes)
        return contract


@transaction.atomic
def contract_hours_consume(*, tenant: Tenant, actor: Staff, contract: Contract,
                           hours) -> Contract:
    """Record `hours` consumed on a course contract (negative: a correction). The total stays
    between 0 and the hours bought; concurrent records are serialised on the row lock, so
    two of them can never overdraw it together. Refusals keyed "hours"."""
    with tenant_context(tenant):
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if not may_record_hours(actor, contract):
            raise PermissionDenied(_("You may not record hours on this contract."))
        try:
            hours = Decimal(hours)
        except (InvalidOperation, TypeError, ValueError):
            raise ValidationError({"hours": [_("Enter a number of hours.")]})
        if not hours.is_finite() or hours == 0:
            raise ValidationError({"hours": [_("Enter a number of hours other than 0.")]})
        if hours != hours.quantize(Decimal("0.1")):
            raise ValidationError({"hours": [_("Enter hours with at most one decimal place.")]})
        if contract.hours_bought is None:
            raise ValidationError({"hours": [_("This contract has no hours bought.")]})
        total = contract.hours_consumed + hours
        if total < 0:
            raise ValidationError({"hours": [
                _("Hours consumed cannot go below 0 (%(consumed)s recorded so far).")
                % {"consumed": contract.hours_consumed}]})
        if total > contract.hours_bought:
            raise ValidationError({"hours": [
                _("Only %(left)s of the %(bought)s hours bought are left.")
                % {"left": contract.hours_bought - contract.hours_consumed,
                   "bought": contract.hours_bought}]})
        before = contract.hours_consumed
        Contract.objects.filter(pk=contract.pk).update(hours_consumed=F("hours_consumed") + hours)
        contract.hours_consumed = total
        audit_record(tenant=tenant, actor=actor, action="contract.hours", target=contract,
                     changes={"hours": hours, "hours_consumed": [before, total]})
        return contract


# --------------------------------------------------------------------------- reads

#: Status filter of the contract list.
STATUS_CURRENT, STATUS_UPCOMING, STATUS_ENDED, STATUS_RENEWED, STATUS_NOT_RENEWED = (
    "current", "upcoming", "ended", "renewed", "not_renewed")


def contract_list(staff: Staff, *, today: dt.date, search: str = "", team: Team | None = None,
                  owner: Staff | None = None, status: str = "") -> QuerySet:
    """The contracts `staff` sees, searched (contract number, or the customer by name, mobile
    number or its last four digits) and filtered, latest start first, with customer, owner,
    team and the contract renewing it joined. `today` judges the status filter."""
    queryset = visible_contracts(staff)
    search = (search or "").strip()
    if search:
        customers = search_customers(Customer.objects.all(), search).values("pk")
        queryset = queryset.filter(Q(number__icontains=search) | Q(customer__in=customers))
    if team is not None:
        queryset = queryset.filter(team=team)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if status == STATUS_CURRENT:
        queryset = queryset.filter(start__lte=today, end__gte=today)
    elif status == STATUS_UPCOMING:
        queryset = queryset.filter(start__gt=today)
    elif status == STATUS_ENDED:
        queryset = queryset.filter(end__lt=today)
    elif status == STATUS_RENEWED:
        queryset = queryset.filter(renewed_by__isnull=False)
    elif status == STATUS_NOT_RENEWED:
        queryset = queryset.filter(renewed_by__isnull=True)
    return (queryset.select_related("customer", "owner", "team", "renewed_by")
            .order_by("-start", "-id"))


def renewal_chain(contract: Contract) -> list[Contract]:
    """The contracts renewed one after the other that `contract` belongs to, oldest first
    (itself included): walks `renews` backwards and `renewed_by` forwards, at most
    CHAIN_LIMIT each way, one query per link (a chain is a handful of terms)."""
    earlier: list[Contract] = []
    current = contract
    for _i in range(CHAIN_LIMIT):
        previous = (Contract.objects.filter(renewed_by_id=current.pk)
                    .select_related("owner").first())
        if previous is None:
            break
        earlier.append(previous)
        current = previous
    later: list[Contract] = []
    current = contract
    for _i in range(CHAIN_LIMIT):
        if current.renewed_by_id is None:
            break
        nxt = Contract.objects.filter(pk=current.renewed_by_id).select_related("owner").first()
        if nxt is None:
            break
        later.append(nxt)
        current = nxt
    return [*reversed(earlier), contract, *later]
