"""Helpers of the pool, policy, reassignment and history tests (no tests here).

Days are pinned: a test passes `today=` to the services and sets `last_contact_at` explicitly,
in Asia/Shanghai (the tenants' time zone)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from apps.core.models import AuditEntry
from apps.customers.models import Customer, OwnershipChange
from apps.notifications.models import Notification
from tests.customers.factories import CustomerFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
D = dt.date(2026, 3, 1)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware moment of `day` in Asia/Shanghai."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def make_customer(world, owner=None, *, contacted: dt.datetime | None = None, actor=None,
                  **fields) -> Customer:
    """A customer registered through the service (owned by `owner`, or in the pool when None),
    its last effective contact set to `contacted`."""
    if owner is None:
        customer = CustomerFactory(tenant=world.tenant, actor=actor or world.cs, **fields)
    else:
        customer = CustomerFactory(tenant=world.tenant, actor=actor or world.admin, owner=owner,
                                   **fields)
    if contacted is not None:
        set_contact(world, customer, contacted)
    return customer


def set_contact(world, customer, moment: dt.datetime) -> None:
    with world.context():
        Customer.objects.filter(pk=customer.pk).update(last_contact_at=moment)
    customer.last_contact_at = moment


def fresh(world, customer) -> Customer:
    with world.context():
        return Customer.objects.select_related("owner", "previous_owner", "team").get(pk=customer.pk)


def state(world) -> list[tuple]:
    """Every customer's ownership fields, for 'nothing changed' checks."""
    with world.context():
        return list(Customer.objects.order_by("pk").values_list(
            "pk", "owner_id", "team_id", "previous_owner_id", "owned_since", "last_contact_at",
            "released_at"))


def history(world, **filters) -> list[OwnershipChange]:
    with world.context():
        return list(OwnershipChange.objects.filter(**filters).select_related(
            "from_owner", "to_owner", "actor").order_by("at", "id"))


def audits(world, action: str) -> list[AuditEntry]:
    with world.context():
        return list(AuditEntry.objects.filter(action=action).select_related("actor").order_by("id"))


def notifications(world, staff=None) -> list[Notification]:
    with world.context():
        qs = Notification.objects.order_by("id")
        if staff is not None:
            qs = qs.filter(recipient=staff)
        return list(qs)
