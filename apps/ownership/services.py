"""Every write about customer ownership rules. Keyword-only, one transaction, audited."""

from __future__ import annotations

import datetime as dt

import pydantic
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.core.audit import audit_record
from apps.core.versioning import advisory_lock, check_effective_from, version_create
from apps.customers.models import Customer, OwnershipChange
from apps.customers.services import customer_owner_set
from apps.notifications.models import Notification
from apps.notifications.services import notify_each
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from . import selectors
from .models import OwnershipPolicy
from .rules import PolicyRules, release_cutoff


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


# --------------------------------------------------------------------------- policy

#: pg_advisory_xact_lock(job, tenant) keys: one runner per tenant and job at a time.
LOCK_POLICY = 3001
LOCK_RELEASE = 3002

POLICY_FIELDS = ("release_after_days", "revisit_window_days", "warn_before_days",
                 "max_customers_per_owner", "daily_claim_cap", "reclaim_after_days")


def _policy_errors(exc: pydantic.ValidationError, values: dict) -> dict:
    """PolicyRules' refusals as field errors with sentences people understand."""
    errors: dict = {}
    for err in exc.errors():
        loc = err.get("loc") or ()
        ctx = err.get("ctx") or {}
        if not loc:  # the model validator: the warning must come before the release
            field = "warn_before_days"
            message = _("The warning must start before the release: enter fewer days than "
                        "“release after” (%(days)s).") % {"days": values["release_after_days"]}
        else:
            field = str(loc[0])
            if err["type"] == "greater_than_equal":
                message = _("Enter a number of at least %(min)s.") % {"min": ctx.get("ge")}
            elif err["type"] == "less_than_equal":
                message = _("Enter a number of at most %(max)s.") % {"max": ctx.get("le")}
            elif values.get(field) in (None, ""):
                message = _("This field is required.")
            else:
                message = _("Enter a whole number.")
        errors.setdefault(field, []).append(message)
    return errors


@transaction.atomic
def policy_create(*, tenant: Tenant, actor: Staff | None, effective_from: dt.date | None,
                  release_after_days: int, revisit_window_days: int, warn_before_days: int,
                  max_customers_per_owner: int | None = None, daily_claim_cap: int | None = None,
                  reclaim_after_days: int, note: str = "") -> OwnershipPolicy:
    """Add a version of the tenant's ownership policy, in force from `effective_from` (today
    or later, in the tenant's time zone; one version per day). Versions are numbered max+1
    and never edited. Administrators only (`actor=None`: the system, e.g. a data migration)."""
    with tenant_context(tenant):
        if actor is not None and not actor.is_admin:
            raise PermissionDenied(_("Only administrators may change the ownership policy."))
        advisory_lock(LOCK_POLICY, tenant)
        values = {"release_after_days": release_after_days,
                  "revisit_window_days": revisit_window_days,
                  "warn_before_days": warn_before_days,
                  "max_customers_per_owner": max_customers_per_owner,
                  "daily_claim_cap": daily_claim_cap, "reclaim_after_days": reclaim_after_days}
        errors: dict = {}
        try:
            PolicyRules(**values)
        except pydantic.ValidationError as exc:
            errors.update(_policy_errors(exc, values))
        note = (note or "").strip()
        if len(note) > 200:
            errors["note"] = [_("At most %(max)s characters.") % {"max": 200}]
        check_effective_from(
            model=OwnershipPolicy, effective_from=effective_from,
            today=selectors.tenant_today(tenant), errors=errors,
            past_message=_("The policy cannot take effect in the past: pick today or a later "
                           "day."))
        if errors:
            raise ValidationError(errors)
        policy = version_create(OwnershipPolicy, tenant=tenant, effective_from=effective_from,
                                note=note, created_by=actor, **values)
        audit_record(tenant=tenant, actor=actor, action="ownership.policy.create", target=policy,
                     changes={"version": policy.version, "effective_from": effective_from, **values},
                     reason=note)
        return policy


# --------------------------------------------------------------------------- nightly release

# One statement releases the due customers and writes their history rows. The explicit
# tenant_id condition (next to the RLS policy) and `last_contact_at < cutoff` use the partial
# index customer_owned_contact_idx (tenant_id, last_contact_at) WHERE owner_id IS NOT NULL.
RELEASE_SQL = """
WITH released AS (
    UPDATE customers_customer
       SET previous_owner_id = owner_id, owner_id = NULL, owned_since = NULL,
           released_at = %(now)s, updated_at = %(now)s
     WHERE tenant_id = %(tenant)s AND owner_id IS NOT NULL AND last_contact_at < %(cutoff)s
 RETURNING id, previous_owner_id AS owner_id
), history AS (
    INSERT INTO customers_ownershipchange
           (tenant_id, customer_id, from_owner_id, to_owner_id, reason, note, actor_id, at,
            policy_version, dispute_id)
    SELECT %(tenant)s, id, owner_id, NULL, %(reason)s, %(note)s, NULL, %(now)s, %(version)s, NULL
      FROM released
)
SELECT owner_id, count(*) FROM released GROUP BY owner_id ORDER BY owner_id
"""


def _notify_counts(tenant: Tenant, counts: dict[int, int], *, kind: str, title, body, url: str
                   ) -> None:
    """One in-app notification per staff member with their own count, in one INSERT.

    `title(n)` / `body(n)` build the text; each is rendered in the recipient's language (the
    shared `notify` sends one text to everyone, here every recipient has their own number)."""
    recipients = Staff.objects.filter(pk__in=list(counts)).select_related("user").order_by("pk")
    messages = []
    for staff in recipients:
        n = counts[staff.pk]
        with translation.override(getattr(staff.user, "language", "") or settings.LANGUAGE_CODE):
            messages.append((staff, str(title(n)), str(body(n))))
    notify_each(tenant=tenant, kind=kind, messages=messages, url=url)  # each one's preferences


@transaction.atomic
def pool_release_due(*, tenant: Tenant | int, today: dt.date | None = None) -> int:
    """The nightly release: every owned customer whose last effective contact (day in the
    tenant's time zone) is before `rules.release_cutoff(today, policy)` goes to the public
    pool (previous_owner = owner, owner/owned_since emptied, released_at = now; the team
    stays). Returns how many were released.

    Set-based (one UPDATE … RETURNING feeding one INSERT … SELECT of the history rows), one
    summary audit entry for the run and one notification per former owner. The policy is the
    one in force on `today`. Idempotent, and two runners of the same tenant are serialised on
    an advisory lock: the second waits, then finds nothing left to release. `tenant` may be a
    Tenant or its id."""
    if not isinstance(tenant, Tenant):
        tenant = Tenant.objects.get(pk=tenant)
    with tenant_context(tenant):
        advisory_lock(LOCK_RELEASE, tenant)
        today = today or selectors.tenant_today(tenant)
        policy = selectors.policy_for(tenant, today)
        cutoff_day = release_cutoff(today, policy)
        now = timezone.now()
        with translation.override(settings.LANGUAGE_CODE):
            note = _("No effective contact for more than %(days)s days.") % {
                "days": policy.release_after_days}
        with connection.cursor() as cur:
            cur.execute(RELEASE_SQL, {
                "now": now, "tenant": tenant.pk,
                "cutoff": selectors.local_midnight(tenant, cutoff_day),
                "reason": OwnershipChange.Reason.RELEASE.value, "note": note,
                "version": policy.version or None})
            counts = dict(cur.fetchall())
        total = sum(counts.values())
        if not total:
            return 0
        audit_record(tenant=tenant, actor=None, action="ownership.pool_release", target=tenant,
                     changes={"day": today, "cutoff": cutoff_day, "released": total,
                              "owners": len(counts), "policy_version": policy.version or None},
                     reason=note)
        days = policy.release_after_days
        _notify_counts(
            tenant, counts, kind=Notification.Kind.POOL, url=reverse("ownership:pool"),
            title=lambda n: ngettext(
                "%(count)s of your customers was released to the public pool",
                "%(count)s of your customers were released to the public pool", n) % {"count": n},
            body=lambda n: _("They had no effective contact (visit, deal or reached follow-up) "
                             "for more than %(days)s days. Anyone may now claim them from the "
                             "public pool.") % {"days": days})
        return total


# --------------------------------------------------------------------------- return to the pool

@transaction.atomic
def customer_return_to_pool(*, tenant: Tenant, actor: Staff, customer: Customer,
                            reason: str) -> Customer:
    """The owner (or the manager of the customer's team, or an admin) gives a customer back to
    the public pool, saying why. Through `customer_owner_set(reason="return")`."""
    with tenant_context(tenant):
        customer = (Customer.objects.select_for_update(of=("self",)).select_related("owner")
                    .get(pk=customer.pk))
        if customer.owner_id is None:
            raise ValidationError({"customer": [_("This customer is already in the public pool.")]})
        if not selectors.may_return_to_pool(actor, customer):
            raise PermissionDenied(_("Only the owner, their manager or an administrator may "
                                     "return this customer to the public pool."))
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError({"reason": [_("Say why the customer goes back to the public "
                                                "pool.")]})
        if len(reason) > 1000:
            raise ValidationError({"reason": [_("At most %(max)s characters.") % {"max": 1000}]})
        policy = selectors.policy_for(tenant)
        return customer_owner_set(tenant=tenant, actor=actor, customer=customer, owner=None,
                                  reason=OwnershipChange.Reason.RETURN, note=reason,
                                  policy_version=policy.version or None)


# --------------------------------------------------------------------------- reassignment

# Moves the locked customers of one owner to their new owners in one statement and writes one
# history row each. `moves` pairs customer ids with owner and team ids (round-robin, computed
# in Python); `c.owner_id = %(from_owner)s` re-checks ownership under the row locks.
REASSIGN_SQL = """
WITH moves AS (
    SELECT * FROM unnest(%(customers)s::bigint[], %(owners)s::bigint[], %(teams)s::bigint[])
        AS m(customer_id, owner_id, team_id)
), moved AS (
    UPDATE customers_customer c
       SET previous_owner_id = c.owner_id, owner_id = m.owner_id,
           team_id = COALESCE(m.team_id, c.team_id), owned_since = %(now)s,
           last_contact_at = %(now)s, released_at = NULL, updated_at = %(now)s
      FROM moves m
     WHERE c.tenant_id = %(tenant)s AND c.id = m.customer_id AND c.owner_id = %(from_owner)s
 RETURNING c.id, c.owner_id
)
INSERT INTO customers_ownershipchange
       (tenant_id, customer_id, from_owner_id, to_owner_id, reason, note, actor_id, at,
        policy_version, dispute_id)
SELECT %(tenant)s, id, %(from_owner)s, owner_id, %(reason)s, %(note)s, %(actor)s, %(now)s,
       %(version)s, NULL
  FROM moved
"""


def _check_reassign_targets(errors: dict, actor: Staff, from_owner: Staff,
                            to_owners: list[Staff]) -> list[Staff]:
    targets: list[Staff] = []
    for staff in to_owners:
        if staff is not None and staff.pk not in {t.pk for t in targets}:
            targets.append(staff)
    messages = []
    if not targets:
        messages.append(_("Choose at least one salesperson to receive the customers."))
    fresh = {s.pk: s for s in Staff.objects.filter(pk__in=[t.pk for t in targets])}
    for target in targets:
        current = fresh.get(target.pk)
        if current is None:
            messages.append(_("Unknown staff member."))
        elif current.pk == from_owner.pk:
            messages.append(_("%(name)s cannot receive their own customers.") % {"name": current.name})
        elif not current.active:
            messages.append(_("%(name)s is deactivated.") % {"name": current.name})
        elif not current.has_role(Role.SALES):
            messages.append(_("%(name)s is not a salesperson.") % {"name": current.name})
        elif not actor.is_admin and current.team_id != actor.team_id:
            messages.append(_("%(name)s is not in your team.") % {"name": current.name})
    if messages:
        errors["to_owners"] = messages
    return [fresh[t.pk] for t in targets if t.pk in fresh]


def _reassign_plan(*, actor: Staff, from_owner: Staff, to_owners: list[Staff],
                   customer_ids: list[int] | None, note: str, lock: bool
                   ) -> tuple[list[Staff], list[int], str]:
    """Check a reassignment (raises PermissionDenied / ValidationError, writes nothing) and
    return (targets, customer ids in id order, note). `lock`: the rows are locked FOR UPDATE."""
    if not actor.has_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators may reassign customers."))
    if not selectors.reassignable_owners(actor).filter(pk=from_owner.pk).exists():
        raise PermissionDenied(_("You may only reassign the customers of your team's members."))
    errors: dict = {}
    targets = _check_reassign_targets(errors, actor, from_owner, list(to_owners or []))
    note = (note or "").strip()
    if not note:
        errors["note"] = [_("Say why the customers are reassigned.")]
    elif len(note) > 1000:
        errors["note"] = [_("At most %(max)s characters.") % {"max": 1000}]
    owned = Customer.objects.filter(owner_id=from_owner.pk)
    wanted: list[int] = []
    if customer_ids is not None:
        wanted = sorted({int(pk) for pk in customer_ids})
        if not wanted:
            errors["customer_ids"] = [_("Choose at least one customer.")]
        owned = owned.filter(pk__in=wanted)
    if errors:
        raise ValidationError(errors)
    if lock:
        # Id order: two reassignments touching the same rows never deadlock.
        owned = owned.select_for_update()
    ids = list(owned.order_by("pk").values_list("pk", flat=True))
    if customer_ids is not None and len(ids) != len(wanted):
        missing = len(wanted) - len(ids)
        raise ValidationError({"customer_ids": [
            ngettext("%(count)s of the selected customers is not owned by %(name)s.",
                     "%(count)s of the selected customers are not owned by %(name)s.",
                     missing) % {"count": missing, "name": from_owner.name}]})
    if not ids:
        raise ValidationError({"from_owner": [_("%(name)s owns no customers.")
                                              % {"name": from_owner.name}]})
    return targets, ids, note


def _round_robin(ids: list[int], targets: list[Staff]) -> list[Staff]:
    """The new owner of each customer: customer i (in id order) goes to target i mod k."""
    return [targets[i % len(targets)] for i in range(len(ids))]


def reassign_preview(*, tenant: Tenant, actor: Staff, from_owner: Staff, to_owners: list[Staff],
                     customer_ids: list[int] | None = None, note: str) -> dict[int, int]:
    """What `customers_reassign` would do, checked the same way, without writing:
    {new owner id: how many customers they would receive} (the confirmation page)."""
    with tenant_context(tenant):
        targets, ids, _note = _reassign_plan(actor=actor, from_owner=from_owner,
                                             to_owners=to_owners, customer_ids=customer_ids,
                                             note=note, lock=False)
        owners = _round_robin(ids, targets)
        return {t.pk: sum(1 for o in owners if o.pk == t.pk) for t in targets}


@transaction.atomic
def customers_reassign(*, tenant: Tenant, actor: Staff, from_owner: Staff,
                       to_owners: list[Staff], customer_ids: list[int] | None = None,
                       note: str) -> dict[int, int]:
    """Move all (`customer_ids=None`) or the selected customers of `from_owner` — e.g. a
    salesperson who leaves — to one or several salespeople, round-robin when several (customers
    in id order, targets in the order given), in one transaction, set-based: one history row
    per customer (reason "reassignment") and one audit entry. Each new owner gets a fresh
    protection window and the customer follows them into their team.

    An admin may move anyone's customers to any active salesperson; a manager those of their
    team's members, to salespeople of their team. Refused (nothing changes): no target, the
    source among the targets, a deactivated target or one who is not a salesperson, a target
    outside the manager's team, a selected customer that `from_owner` does not own, an empty
    note. Returns {new owner id: how many customers they received}."""
    with tenant_context(tenant):
        targets, ids, note = _reassign_plan(actor=actor, from_owner=from_owner,
                                            to_owners=to_owners, customer_ids=customer_ids,
                                            note=note, lock=True)
        owners = _round_robin(ids, targets)
        now = timezone.now()
        policy = selectors.policy_for(tenant)
        with connection.cursor() as cur:
            cur.execute(REASSIGN_SQL, {
                "customers": ids, "owners": [o.pk for o in owners],
                "teams": [o.team_id for o in owners], "now": now, "tenant": tenant.pk,
                "from_owner": from_owner.pk,
                "reason": OwnershipChange.Reason.REASSIGNMENT.value, "note": note,
                "actor": actor.pk, "version": policy.version or None})
            moved = cur.rowcount
        if moved != len(ids):  # cannot happen under the row locks; never half-apply
            raise RuntimeError(f"reassignment moved {moved} of {len(ids)} locked customers")
        counts = {t.pk: sum(1 for o in owners if o.pk == t.pk) for t in targets}
        audit_record(tenant=tenant, actor=actor, action="ownership.reassign", target=from_owner,
                     changes={"customers": len(ids), "selected": customer_ids is not None,
                              "to": {str(pk): n for pk, n in counts.items()}},
                     reason=note)
        _notify_counts(
            tenant, {pk: n for pk, n in counts.items() if n}, kind=Notification.Kind.OWNERSHIP,
            url=reverse("customers:list"),
            title=lambda n: ngettext(
                "%(count)s customer of %(name)s was assigned to you",
                "%(count)s customers of %(name)s were assigned to you", n) % {
                    "count": n, "name": from_owner.name},
            body=lambda n: note)
        return counts
