"""Referrers (转介绍人) and their cards (code, link, QR): services and selectors.

Services follow the house rules: keyword-only `(*, tenant, actor, ...)`, atomic, inside
`tenant_context`, field-keyed ValidationError for bad input, PermissionDenied for roles.
"""

from __future__ import annotations

import io
import secrets
from decimal import Decimal, InvalidOperation

import segno
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
from apps.core.identity import mask_name, mask_phone, normalize_id_number, normalize_phone
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.customers.services import customer_update
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import ReferralCard, Referrer

#: Codes avoid characters that are easy to misread (no 0/O, 1/I).
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_ATTEMPTS = 10

#: Active cards a referrer may hold, per industry (None: no cap). A constant for now; a later
#: issue may make it a tenant setting (documented in docs/referrals.md).
CARD_CAP_BY_INDUSTRY: dict[str, int] = {Tenant.Industry.EDUCATION: 5}

#: Who may register referrers and issue cards. Sales: their own customers (and cards of the
#: referrers they may see); managers and administrators: anyone.
REGISTER_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)
MANAGE_ROLES = (Role.ADMIN, Role.MANAGER)
#: Who may see referrers at all (lists, details, cards).
VIEW_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.CUSTOMER_SERVICE, Role.FINANCE)


# ----------------------------------------------------------------------------- selectors

def card_cap(tenant: Tenant) -> int | None:
    """The tenant's cap of active cards per referrer (None: no cap)."""
    return CARD_CAP_BY_INDUSTRY.get(tenant.industry)


def visible_referrers(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """Referrers `staff` may see: admins, managers, customer service and finance all of the
    tenant's; a salesperson the referrers they registered, those whose customer they own, and
    themselves; anybody else none."""
    queryset = Referrer.objects.all() if queryset is None else queryset
    if staff.has_role(Role.ADMIN, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.FINANCE):
        return queryset
    if staff.has_role(Role.SALES):
        return queryset.filter(Q(registered_by=staff) | Q(customer__owner=staff) | Q(staff=staff))
    return queryset.none()


def with_customer_visibility(staff: Staff, queryset: QuerySet) -> QuerySet:
    """Referrers annotated `customer_visible`: whether `staff` may see the referrer's customer
    (visible_customers) — a customer referrer's phone is shown masked otherwise
    (referrer_phone). One subquery, whatever the number of rows."""
    return queryset.annotate(customer_visible=Exists(
        visible_customers(staff).filter(pk=OuterRef("customer_id"))))


def referrer_list(staff: Staff, *, search: str = "", kind: str = "",
                  active: bool | None = None) -> QuerySet:
    """The referrers `staff` sees, searched by name, phone or card code, with the number of
    active cards (`active_cards`) and whether `staff` may see each one's customer
    (`customer_visible`)."""
    queryset = with_customer_visibility(staff, visible_referrers(staff)
                                        .select_related("customer", "staff"))
    term = (search or "").strip()
    if term:
        q = (Q(customer__name__icontains=term) | Q(staff__name__icontains=term)
             | Q(partner_name__icontains=term))
        digits = term.replace(" ", "").replace("-", "")
        if digits.isdigit():
            q |= (Q(customer__phone__contains=digits) | Q(staff__phone__contains=digits)
                  | Q(partner_phone__contains=digits))
        code = term.upper()
        q |= Q(pk__in=ReferralCard.objects.filter(code=code).values("referrer_id"))
        queryset = queryset.filter(q)
    if kind in Referrer.Kind.values:
        queryset = queryset.filter(kind=kind)
    if active is not None:
        queryset = queryset.filter(active=active)
    return (queryset.annotate(active_cards=Count("cards", filter=Q(cards__active=True)))
            .order_by("-registered_at", "-id"))


def referrer_name(referrer: Referrer) -> str:
    if referrer.kind == Referrer.Kind.CUSTOMER:
        return referrer.customer.name
    if referrer.kind == Referrer.Kind.STAFF:
        return referrer.staff.name
    return referrer.partner_name


def referrer_phone(referrer: Referrer) -> str:
    """The phone to show: a customer referrer's in full only when the referrer was read with
    `with_customer_visibility` and the viewer may see that customer, else masked; a staff
    member's or a partner's in full (they are not customers)."""
    if referrer.kind == Referrer.Kind.CUSTOMER:
        phone = referrer.customer.phone
        return phone if getattr(referrer, "customer_visible", False) else mask_phone(phone)
    if referrer.kind == Referrer.Kind.STAFF:
        return referrer.staff.phone
    return referrer.partner_phone


def referrer_masked_name(referrer: Referrer) -> str:
    return mask_name(referrer_name(referrer))


def card_path(tenant: Tenant, code: str) -> str:
    """The public link's path: /r/<tenant-slug>/<code>/."""
    return reverse("referral_public:submit", kwargs={"slug": tenant.slug, "code": code})


def card_link(request, tenant: Tenant, card: ReferralCard) -> str:
    """The full absolute link printed on the card and encoded in its QR code."""
    return request.build_absolute_uri(card_path(tenant, card.code))


def card_qr(link: str) -> segno.QRCode:
    """The QR code of a link (error correction M: survives a crease or a smudge)."""
    return segno.make(link, error="m", micro=False)


def card_qr_png(link: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    card_qr(link).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def card_qr_svg(link: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    card_qr(link).save(out, kind="svg", scale=scale, border=4, xmldecl=False)
    return out.getvalue()


# ----------------------------------------------------------------------------- services

def _require(actor: Staff | None, *roles: str) -> None:
    if actor is not None and not actor.has_role(*roles):
        raise PermissionDenied(_("You may not register referrers."))


def _may_see(actor: Staff | None, referrer: Referrer) -> bool:
    return actor is None or visible_referrers(actor).filter(pk=referrer.pk).exists()


def _locked(referrer: Referrer) -> Referrer:
    return Referrer.objects.select_for_update().get(pk=referrer.pk)


@transaction.atomic
def referrer_register_customer(*, tenant: Tenant, actor: Staff | None, customer: Customer,
                               id_number: str) -> Referrer:
    """Make an existing customer a referral member. A valid resident ID is required: stored on
    the customer (customer_update) when it has none, else it must be the one on file."""
    with tenant_context(tenant):
        _require(actor, *REGISTER_ROLES)
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if actor is not None and not actor.has_role(*MANAGE_ROLES) and customer.owner_id != actor.pk:
            raise PermissionDenied(_("Salespeople register their own customers only."))
        try:
            number = normalize_id_number(id_number)
        except ValidationError as exc:
            raise ValidationError({"id_number": exc.messages})
        if not number:
            raise ValidationError({"id_number": [
                _("A referral member needs a valid resident ID number.")]})
        if customer.id_number and customer.id_number != number:
            raise ValidationError({"id_number": [
                _("This is not the ID number on file for this customer.")]})
        if Referrer.objects.filter(customer=customer).exists():
            raise ValidationError({"customer": [_("This customer is already a referrer.")]})
        if not customer.id_number:
            customer = customer_update(tenant=tenant, actor=actor, customer=customer,
                                       id_number=number)
        referrer = Referrer.objects.create(tenant=tenant, kind=Referrer.Kind.CUSTOMER,
                                           customer=customer, registered_by=actor)
        audit_record(tenant=tenant, actor=actor, action="referrer.register", target=referrer,
                     changes={"kind": referrer.kind, "customer": customer.pk})
        return referrer


@transaction.atomic
def referrer_register_staff(*, tenant: Tenant, actor: Staff | None, staff: Staff) -> Referrer:
    """Register a staff member of the tenant as a referrer (managers and administrators)."""
    with tenant_context(tenant):
        _require(actor, *MANAGE_ROLES)
        staff = Staff.objects.get(pk=staff.pk)
        if not staff.active:
            raise ValidationError({"staff": [_("This staff member is not active.")]})
        if Referrer.objects.filter(staff=staff).exists():
            raise ValidationError({"staff": [_("This staff member is already a referrer.")]})
        referrer = Referrer.objects.create(tenant=tenant, kind=Referrer.Kind.STAFF, staff=staff,
                                           registered_by=actor)
        audit_record(tenant=tenant, actor=actor, action="referrer.register", target=referrer,
                     changes={"kind": referrer.kind, "staff": staff.pk})
        return referrer


@transaction.atomic
def referrer_register_partner(*, tenant: Tenant, actor: Staff | None, name: str, phone: str,
                              fee_kind: str, fee_value, payment_due_working_days: int
                              ) -> Referrer:
    """Register an outside partner under a referral agreement: a fixed fee (> 0) per successful
    referral, or a percentage (0 < p ≤ 100) of the deal, due N working days after the customer
    pays (managers and administrators)."""
    with tenant_context(tenant):
        _require(actor, *MANAGE_ROLES)
        errors: dict = {}
        name = (name or "").strip()
        if not name:
            errors["name"] = [_("Enter the partner's name.")]
        try:
            phone = normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
        try:
            value = Decimal(str(fee_value))
            if not value.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError, TypeError):
            value = None
            errors["fee_value"] = [_("Enter a number.")]
        if fee_kind not in (Referrer.FeeKind.FIXED, Referrer.FeeKind.PERCENT):
            errors["fee_kind"] = [_("Choose a fixed fee or a percentage of the deal.")]
        elif value is not None:
            if fee_kind == Referrer.FeeKind.FIXED and value <= 0:
                errors["fee_value"] = [_("A fixed fee must be more than zero.")]
            elif fee_kind == Referrer.FeeKind.PERCENT and not (0 < value <= 100):
                errors["fee_value"] = [_("A percentage must be more than 0 and at most 100.")]
            elif value != value.quantize(Decimal("0.01")) or value >= Decimal("1e12"):
                errors["fee_value"] = [_("At most two decimal places.")]
        try:
            days = int(payment_due_working_days)
            if not 0 <= days <= 365:
                raise ValueError
        except (TypeError, ValueError):
            errors["payment_due_working_days"] = [
                _("Enter a number of working days between 0 and 365.")]
        if errors:
            raise ValidationError(errors)
        referrer = Referrer.objects.create(
            tenant=tenant, kind=Referrer.Kind.PARTNER, partner_name=name, partner_phone=phone,
            fee_kind=fee_kind, fee_value=value, payment_due_working_days=days,
            registered_by=actor)
        audit_record(tenant=tenant, actor=actor, action="referrer.register", target=referrer,
                     changes={"kind": referrer.kind, "partner_name": name, "fee_kind": fee_kind,
                              "fee_value": value, "payment_due_working_days": days})
        return referrer


def _set_active(*, tenant, actor, referrer, active: bool) -> Referrer:
    with tenant_context(tenant):
        _require(actor, *MANAGE_ROLES)
        referrer = _locked(referrer)
        if referrer.active == active:
            raise ValidationError({"active": [
                _("This referrer is already active.") if active
                else _("This referrer is already inactive.")]})
        referrer.active = active
        referrer.save(update_fields=["active"])
        audit_record(tenant=tenant, actor=actor,
                     action="referrer.reactivate" if active else "referrer.deactivate",
                     target=referrer, changes={"active": active})
        return referrer


@transaction.atomic
def referrer_deactivate(*, tenant: Tenant, actor: Staff | None, referrer: Referrer) -> Referrer:
    """An inactive referrer's links answer 404; its cards stay as they are."""
    return _set_active(tenant=tenant, actor=actor, referrer=referrer, active=False)


@transaction.atomic
def referrer_reactivate(*, tenant: Tenant, actor: Staff | None, referrer: Referrer) -> Referrer:
    return _set_active(tenant=tenant, actor=actor, referrer=referrer, active=True)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


@transaction.atomic
def card_issue(*, tenant: Tenant, actor: Staff | None, referrer: Referrer) -> ReferralCard:
    """A new card with a random code unique in the tenant, refused above the tenant's cap of
    active cards per referrer (the referrer row is locked, so two issues cannot both pass)."""
    with tenant_context(tenant):
        _require(actor, *REGISTER_ROLES)
        if not _may_see(actor, referrer):
            raise PermissionDenied(_("You may not issue cards for this referrer."))
        referrer = _locked(referrer)
        if not referrer.active:
            raise ValidationError({"referrer": [_("This referrer is not active.")]})
        cap = card_cap(tenant)
        if cap is not None and referrer.cards.filter(active=True).count() >= cap:
            raise ValidationError({"referrer": [
                _("A referrer may hold at most %(cap)s active cards.") % {"cap": cap}]})
        for _attempt in range(CODE_ATTEMPTS):
            code = new_code()
            try:
                with transaction.atomic():
                    card = ReferralCard.objects.create(tenant=tenant, referrer=referrer,
                                                       code=code, issued_by=actor)
                break
            except IntegrityError:
                continue  # another card of the tenant has this code: draw again
        else:  # pragma: no cover - 32^8 codes
            raise ValidationError({"referrer": [_("No free code was found; try again.")]})
        audit_record(tenant=tenant, actor=actor, action="referral_card.issue", target=card,
                     changes={"referrer": referrer.pk, "code": code})
        return card


@transaction.atomic
def card_deactivate(*, tenant: Tenant, actor: Staff | None, card: ReferralCard) -> ReferralCard:
    """The card's link stops working (404); referrals already made keep their card."""
    with tenant_context(tenant):
        _require(actor, *REGISTER_ROLES)
        card = ReferralCard.objects.select_for_update().select_related("referrer").get(pk=card.pk)
        if not _may_see(actor, card.referrer):
            raise PermissionDenied(_("You may not change this card."))
        if not card.active:
            raise ValidationError({"active": [_("This card is already inactive.")]})
        card.active = False
        card.deactivated_at = timezone.now()
        card.save(update_fields=["active", "deactivated_at"])
        audit_record(tenant=tenant, actor=actor, action="referral_card.deactivate", target=card,
                     changes={"active": False})
        return card
