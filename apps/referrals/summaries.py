"""The customer page's "Referrals" section (apps.customers.views includes it)."""

from __future__ import annotations

from django.db.models import Count, Q

from apps.customers.models import Customer
from apps.tenancy.models import Staff

from .lifecycle import visible_referrals
from .models import Referral, Referrer
from .referrers import VIEW_ROLES, referrer_name, visible_referrers


def customer_referrals_summary(customer: Customer, staff: Staff) -> dict:
    """Who referred this customer (the alive referral, or the latest one) and, when the customer
    is a referral member, their referrer record with how many people they referred and how many
    of those bought — as far as `staff` may see them (three queries at most)."""
    if not staff.has_role(*VIEW_ROLES):
        return {"visible": False}
    referred_by = (visible_referrals(staff).filter(customer=customer)
                   .select_related("referrer__customer", "referrer__staff")
                   .order_by("-created_at", "-id").first())
    referrer = (visible_referrers(staff).filter(kind=Referrer.Kind.CUSTOMER, customer=customer)
                .annotate(referred=Count("referrals"),
                          successful=Count("referrals", filter=Q(
                              referrals__status__in=Referral.SUCCESS_STATUSES)))
                .first())
    if referred_by is None and referrer is None:
        return {"visible": False}
    return {"visible": True, "referred_by": referred_by,
            "referred_by_name": referrer_name(referred_by.referrer) if referred_by else "",
            "referrer": referrer}
