"""The public referral page behind a card's link (/r/<tenant-slug>/<code>/): no login, no
tenant from the middleware — the tenant is looked up by slug and entered explicitly, and the
card is looked up inside that tenant only (a code of tenant A never reaches tenant B)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from apps.core.identity import mask_id_number, normalize_id_number, normalize_phone
from apps.customers.models import Customer
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant

from .eligibility import referrer_identity, relatives_of
from .models import Referral, ReferralCard, Referrer
from .referrers import referrer_masked_name
from .reward_policies import reward_policy_for

#: Submissions allowed: (count, seconds) per client address, and per card code.
RATE_PER_IP = (5, 10 * 60)
RATE_PER_CODE = (30, 60 * 60)


@dataclass(frozen=True)
class PublicCard:
    tenant: Tenant
    card: ReferralCard
    tenant_name: str
    referrer_masked_name: str


def _plausible_code(code: str) -> bool:
    """Cheap refusal of junk before any query (codes issued before the alphabet may differ,
    so any ASCII letters and digits are let through to the lookup)."""
    return 4 <= len(code) <= 16 and code.isascii() and code.isalnum()


def public_card(slug: str, code: str) -> PublicCard | None:
    """The active card `code` of the active tenant `slug` whose referrer is active, else None
    (the caller answers the same 404 for every reason)."""
    code = (code or "").upper()
    if not _plausible_code(code):
        return None
    tenant = Tenant.objects.filter(slug=slug, active=True).first()
    if tenant is None:
        return None
    with tenant_context(tenant):
        card = (ReferralCard.objects
                .select_related("referrer__customer", "referrer__staff")
                .filter(code=code, active=True, referrer__active=True).first())
        if card is None:
            return None
        return PublicCard(tenant=tenant, card=card, tenant_name=tenant.name,
                          referrer_masked_name=referrer_masked_name(card.referrer))


def _over(key: str, limit: int, seconds: int) -> bool:
    cache.add(key, 0, timeout=seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        count = 1
    return count > limit


def rate_limited(*, ip: str | None, tenant: Tenant, code: str) -> bool:
    """Count one submission; True when the address or the code is over its limit."""
    if _over(f"referral:public:ip:{ip or '-'}", *RATE_PER_IP):
        return True
    return _over(f"referral:public:code:{tenant.pk}:{code}", *RATE_PER_CODE)


@transaction.atomic
def referral_submit_public(*, tenant: Tenant, card: ReferralCard, name: str, phone: str,
                           id_number: str = "", note: str = "", ip: str | None = None
                           ) -> Referral:
    """A friend leaves name and phone on the card's page: a registered referral of the link
    channel. Refused (ValidationError, nothing saved): bad input, the referrer's own phone or
    ID, a known relative of the referrer. An existing customer (or a phone already referred)
    is NOT refused — the page must not tell — but stored flagged for staff."""
    with tenant_context(tenant):
        errors: dict = {}
        name = (name or "").strip()
        if not name:
            errors["name"] = [_("Enter your name.")]
        elif len(name) > 50:
            errors["name"] = [_("At most 50 characters.")]
        try:
            phone = normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
        try:
            id_number = normalize_id_number(id_number)
        except ValidationError as exc:
            errors["id_number"] = exc.messages
        note = (note or "").strip()
        if len(note) > 1000:
            errors["note"] = [_("At most 1000 characters.")]
        if errors:
            raise ValidationError(errors)
        referrer = card.referrer  # public_card loaded it with its customer and staff
        own_phone, own_id, _customer = referrer_identity(referrer)
        if phone == own_phone:
            raise ValidationError({"phone": [_("You cannot refer yourself.")]})
        if id_number and id_number == own_id:
            raise ValidationError({"id_number": [_("You cannot refer yourself.")]})
        if referrer.kind == Referrer.Kind.CUSTOMER and reward_policy_for(tenant)[1].exclude_relatives:
            phones, ids = relatives_of(referrer.customer)
            if phone in phones or (id_number and id_number in ids):
                raise ValidationError({"phone": [
                    _("Referrals of the referrer's own family members are not accepted.")]})
        flags = []
        known = Q(phone=phone) | Q(id_number=id_number) if id_number else Q(phone=phone)
        existing = Customer.objects.filter(known).values_list("pk", flat=True).first()
        if existing is not None:
            flags.append(_("Already a customer (#%(id)s).") % {"id": existing})
        earlier = (Referral.objects.filter(phone=phone).exclude(status__in=Referral.DEAD_STATUSES)
                   .values_list("pk", flat=True).first())
        if earlier is not None:
            flags.append(_("Already referred (referral #%(id)s).") % {"id": earlier})
        if id_number:
            # Masked: the note is read by every staff member who sees the referral, and only
            # administrators see full ID numbers (the full number is asked again at verification).
            given = _("ID number given: %(id)s") % {"id": mask_id_number(id_number)}
            note = given + ("\n" + note if note else "")
        return Referral.objects.create(
            tenant=tenant, referrer=referrer, card=card, channel=Referral.Channel.LINK,
            name=name, phone=phone, status=Referral.Status.REGISTERED, note=note[:1000],
            submitted_ip=ip or None, flagged=bool(flags), flag_reason=" ".join(flags)[:200])
