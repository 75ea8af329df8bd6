"""Every write about customer ownership rules. Keyword-only, one transaction, audited."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from apps.customers.models import Customer
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant


@transaction.atomic
def contact_record(*, tenant: Tenant, customer: Customer | int, at: dt.datetime,
                   visit: bool = False) -> None:
    """An effective contact with a customer (a visit, a deal, a follow-up that reached them)
    restarts the owner's protection window. Called by the visit, deal and follow-up services;
    never moves the clock backwards."""
    pk = customer.pk if isinstance(customer, Customer) else customer
    values = {"last_contact_at": Greatest(F("last_contact_at"), at)}
    if visit:
        values["last_visit_at"] = Greatest(F("last_visit_at"), at)
    with tenant_context(tenant):
        # GREATEST ignores NULLs in PostgreSQL, so a first contact is recorded too.
        Customer.objects.filter(pk=pk).update(**values)
