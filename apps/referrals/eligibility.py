"""Who may be referred (资格): the checks shared by the public page and the lifecycle.

A referral is not accepted for the referrer themselves, for the referrer's known relatives when
the tenant's policy excludes them (`RewardRules.exclude_relatives`), for a customer who has
bought before (the referred must be new), or for a person already referred by a referral that
is still alive (a duplicate)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from apps.customers.models import Customer, CustomerRelation
from apps.deals.models import Deal

from .models import Referral, Referrer

#: The relations that make someone a relative (either direction of CustomerRelation).
RELATIVE_KINDS = (CustomerRelation.Kind.SPOUSE, CustomerRelation.Kind.PARENT,
                  CustomerRelation.Kind.CHILD, CustomerRelation.Kind.RELATIVE)


def relatives_of(customer: Customer) -> tuple[set[str], set[str]]:
    """Phones and ID numbers of the customer's known relatives (one query)."""
    phones: set[str] = set()
    ids: set[str] = set()
    rows = (CustomerRelation.objects
            .filter(Q(customer=customer) | Q(related=customer), kind__in=RELATIVE_KINDS)
            .values_list("customer__phone", "customer__id_number", "related__phone",
                         "related__id_number", "customer_id"))
    for c_phone, c_id, r_phone, r_id, customer_id in rows:
        phone, id_number = (r_phone, r_id) if customer_id == customer.pk else (c_phone, c_id)
        phones.add(phone)
        if id_number:
            ids.add(id_number)
    return phones, ids


def referrer_identity(referrer: Referrer) -> tuple[str, str, int | None]:
    """(phone, ID number, customer id) of the referrer as a person."""
    if referrer.kind == Referrer.Kind.CUSTOMER:
        return referrer.customer.phone, referrer.customer.id_number, referrer.customer_id
    if referrer.kind == Referrer.Kind.STAFF:
        return referrer.staff.phone, "", None
    return referrer.partner_phone, "", None


def ineligibility(*, referrer: Referrer, customer: Customer, exclude_relatives: bool,
                  referral: Referral | None = None, excluding_deal: Deal | None = None
                  ) -> tuple[str, str] | None:
    """Why `customer` cannot be `referrer`'s referral: (Referral.Rejection value, message), or
    None when they can. `referral` is the referral being checked (left out of the duplicate
    search); `excluding_deal` the deal being entered (it does not make the customer old)."""
    phone, id_number, own_customer = referrer_identity(referrer)
    if customer.pk == own_customer or customer.phone == phone or (
            id_number and customer.id_number == id_number):
        return Referral.Rejection.SELF, _("A referrer cannot refer themselves.")
    if exclude_relatives and referrer.kind == Referrer.Kind.CUSTOMER:
        phones, ids = relatives_of(referrer.customer)
        if customer.phone in phones or (customer.id_number and customer.id_number in ids):
            return Referral.Rejection.RELATIVE, _(
                "%(name)s is a relative of the referrer; the policy excludes relatives.") % {
                "name": customer.name}
    deals = Deal.objects.filter(customer=customer)
    if excluding_deal is not None:
        deals = deals.exclude(pk=excluding_deal.pk)
    if deals.exists():
        return Referral.Rejection.EXISTING_CUSTOMER, _(
            "%(name)s has bought before: only new customers can be referred.") % {
            "name": customer.name}
    others = Referral.objects.filter(Q(customer=customer) | Q(phone=customer.phone)).exclude(
        status__in=Referral.DEAD_STATUSES)
    if referral is not None:
        others = others.exclude(pk=referral.pk)
    earlier = others.order_by("created_at", "pk").values_list("pk", flat=True).first()
    if earlier is not None:
        return Referral.Rejection.DUPLICATE, _(
            "%(name)s is already referred (referral #%(id)s).") % {
            "name": customer.name, "id": earlier}
    return None
