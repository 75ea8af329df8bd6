"""Every write of the walk-in rotation (轮接). Keyword-only, one transaction, audited.

The rules themselves are `rules.route_walk_in` (pure); this module reads the facts, serialises
concurrent walk-ins of a team (the day's sign-ins are locked with SELECT … FOR UPDATE, so two
visitors arriving together never go to the same person out of turn) and applies the route
through the customers/ownership services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.audit import audit_record
from apps.core.identity import normalize_phone
from apps.customers.models import Customer, OwnershipChange
from apps.customers.services import customer_create, customer_owner_set
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.ownership.models import Visit
from apps.ownership.selectors import local_date, policy_for, tenant_today
from apps.ownership.services import contact_record
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from . import rules
from .models import DutySignIn
from .selectors import may_manage_team, may_record_walk_ins, may_set_status, on_duty

#: Allowed status changes of a sign-in (signed out → present: back on duty the same day, in
#: the same position and with the same turn).
TRANSITIONS: dict[str, set[str]] = {
    DutySignIn.Status.PRESENT: {DutySignIn.Status.AWAY, DutySignIn.Status.SIGNED_OUT},
    DutySignIn.Status.AWAY: {DutySignIn.Status.PRESENT, DutySignIn.Status.SIGNED_OUT},
    DutySignIn.Status.SIGNED_OUT: {DutySignIn.Status.PRESENT},
}

#: Route code -> the kind of visit recorded.
VISIT_KINDS = {
    rules.RouteCode.REFERRAL: Visit.Kind.BROUGHT_BY_CUSTOMER,
    rules.RouteCode.REFERRAL_COURTESY: Visit.Kind.BROUGHT_BY_CUSTOMER,
    rules.RouteCode.REVISIT_OWNER: Visit.Kind.REVISIT,
    rules.RouteCode.REVISIT_OWNER_COURTESY: Visit.Kind.REVISIT,
    rules.RouteCode.NATURAL: Visit.Kind.REVISIT,
}

NOTES_MAX = 500


def _lock_day(team: Team, day: dt.date) -> list[DutySignIn]:
    """The day's sign-ins of the team, locked in a fixed order (no deadlock between callers)."""
    return list(DutySignIn.objects.select_for_update(of=("self",)).filter(team=team, day=day)
                .select_related("staff").order_by("position"))


def _check_team(tenant: Tenant, team: Team | None) -> None:
    if team is None or team.tenant_id != tenant.pk or not team.active:
        raise ValidationError({"team": [_("Unknown team.")]})


@transaction.atomic
def duty_sign_in(*, tenant: Tenant, actor: Staff, team: Team, staff: Staff | None = None,
                 day: dt.date | None = None) -> DutySignIn:
    """Sign `staff` (default: the actor) in for the rotation of `team` on `day` (default: today
    in the tenant's time zone), at the end of the day's order.

    Salespeople sign themselves in; the team's manager (or an admin) may sign in any salesperson
    of the team. Only active salespeople who are members of the team; once per day."""
    with tenant_context(tenant):
        _check_team(tenant, team)
        staff = staff or actor
        if staff.pk != actor.pk and not may_manage_team(actor, team):
            raise PermissionDenied(_("You may only sign yourself in."))
        if staff.tenant_id != tenant.pk or not staff.active:
            raise ValidationError({"staff": [_("Unknown staff member.")]})
        if not staff.has_role(Role.SALES):
            raise ValidationError({"staff": [
                _("Only salespeople take part in the walk-in rotation.")]})
        if staff.team_id != team.pk:
            raise ValidationError({"staff": [_("%(name)s is not a member of the team %(team)s.") % {
                "name": staff.name, "team": team.name}]})
        day = day or tenant_today(tenant)
        for _attempt in range(3):
            sign_ins = _lock_day(team, day)
            if any(s.staff_id == staff.pk for s in sign_ins):
                raise ValidationError({"staff": [
                    _("%(name)s has already signed in today.") % {"name": staff.name}]})
            position = max((s.position for s in sign_ins), default=0) + 1
            now = timezone.now()
            sign_in = DutySignIn(tenant=tenant, team=team, staff=staff, day=day, position=position,
                                 signed_in_at=now, status_changed_at=now)
            try:
                with transaction.atomic():
                    sign_in.save()
                break
            except IntegrityError:
                # Someone else signed in at the same moment (the day had no row to lock yet):
                # read again, now that their row is committed.
                continue
        else:
            raise ValidationError({NON_FIELD_ERRORS: [
                _("Too many people signed in at the same moment; please try again.")]})
        audit_record(tenant=tenant, actor=actor, action="rotation.sign_in", target=sign_in,
                     changes={"team": team.pk, "staff": staff.pk, "day": day,
                              "position": position})
        return sign_in


@transaction.atomic
def duty_set_status(*, tenant: Tenant, actor: Staff, sign_in: DutySignIn,
                    status: str) -> DutySignIn:
    """Set a sign-in present, away or signed out (TRANSITIONS). The person themselves, their
    team's manager or an admin; only today's sign-ins. Someone away keeps their turn."""
    with tenant_context(tenant):
        sign_in = (DutySignIn.objects.select_for_update(of=("self",)).select_related("staff", "team")
                   .get(pk=sign_in.pk))
        if not may_set_status(actor, sign_in):
            raise PermissionDenied(_("You may only change your own status."))
        if status not in DutySignIn.Status.values:
            raise ValidationError({"status": [_("Choose present, away or signed out.")]})
        if sign_in.day != tenant_today(tenant):
            raise ValidationError({"status": [_("Only today's sign-ins can change.")]})
        labels = dict(DutySignIn.Status.choices)
        if status == sign_in.status:
            raise ValidationError({"status": [_("%(name)s is already %(status)s.") % {
                "name": sign_in.staff.name, "status": labels[status]}]})
        if status not in TRANSITIONS[sign_in.status]:
            raise ValidationError({"status": [
                _("%(name)s cannot go from %(old)s to %(new)s.") % {
                    "name": sign_in.staff.name, "old": labels[sign_in.status],
                    "new": labels[status]}]})
        before = sign_in.status
        sign_in.status = status
        sign_in.status_changed_at = timezone.now()
        sign_in.save(update_fields=["status", "status_changed_at"])
        audit_record(tenant=tenant, actor=actor, action="rotation.status", target=sign_in,
                     changes={"status": [before, status]})
        return sign_in


@dataclass
class WalkInResult:
    customer: Customer
    visit: Visit
    route: rules.Route
    created: bool               # a new customer was registered
    owner_before: Staff | None  # the owner before the walk-in (None: new or pool)


WALK_IN_TITLE = gettext_lazy("Your customer %(customer)s came in; %(receiver)s received them.")
WALK_IN_LOST_TITLE = gettext_lazy("Your customer %(customer)s came in and now belongs to "
                                  "%(owner)s.")


def _active_staff(staff: Staff | None) -> Staff | None:
    return staff if staff is not None and staff.active else None


@transaction.atomic
def walk_in_receive(*, tenant: Tenant, actor: Staff, team: Team, name: str, phone: str,
                    named_staff: Staff | None = None, brought_by: Customer | None = None,
                    id_number: str = "", notes: str = "") -> WalkInResult:
    """Record a visitor at `team` and route them (rules.route_walk_in).

    Recorded by the receptionist on duty (a salesperson of the team), the team's manager or an
    admin. A new visitor is registered to whoever the route attributes them to; a customer from
    the public pool, a natural customer, or one a salesperson named/brought past the revisit
    window moves to that salesperson (history reason walk_in). The visit is recorded (an
    effective contact), the receiver's turn is consumed for a rotation assignment, and the
    salesperson the customer counts for is told when someone else received them."""
    with tenant_context(tenant):
        _check_team(tenant, team)
        if not may_record_walk_ins(actor, team):
            raise PermissionDenied(_("You may not record walk-ins for this team."))
        errors: dict = {}
        try:
            phone = normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
        notes = (notes or "").strip()
        if len(notes) > NOTES_MAX:
            errors["notes"] = [_("At most %(n)s characters.") % {"n": NOTES_MAX}]
        if named_staff is not None and (named_staff.tenant_id != tenant.pk or not named_staff.active
                                        or not named_staff.has_role(Role.SALES)):
            errors["named_staff"] = [_("Choose an active salesperson.")]
        if brought_by is not None:
            if brought_by.tenant_id != tenant.pk:
                errors["brought_by"] = [_("Unknown customer.")]
            elif "phone" not in errors and brought_by.phone == phone:
                errors["brought_by"] = [_("A customer cannot bring themselves.")]
        if errors:
            raise ValidationError(errors)

        today = tenant_today(tenant)
        policy = policy_for(tenant, today)
        sign_ins = _lock_day(team, today)
        # Read after the lock: a walk-in of the same person a moment ago is committed by now.
        customer = (Customer.objects.select_for_update(of=("self",)).select_related("owner")
                    .filter(phone=phone).first())
        if brought_by is not None:
            brought_by = Customer.objects.select_related("owner").get(pk=brought_by.pk)
        owner = _active_staff(customer.owner) if customer is not None else None
        referrer_owner = _active_staff(brought_by.owner) if brought_by is not None else None
        facts = rules.WalkInFacts(
            today=today, registered=customer is not None, owner=owner.pk if owner else None,
            last_visit_on=local_date(tenant, customer.last_visit_at) if customer else None,
            owned_since_on=local_date(tenant, customer.owned_since) if customer else None,
            named=named_staff.pk if named_staff else None,
            brought_by_owner=referrer_owner.pk if referrer_owner else None)
        people = {s.staff_id: s.staff for s in sign_ins}
        for person in (owner, referrer_owner, named_staff):
            if person is not None:
                people[person.pk] = person
        try:
            route = rules.route_walk_in(on_duty(sign_ins), facts, policy,
                                        names={pk: s.name for pk, s in people.items()})
        except rules.NobodyOnDuty as exc:
            raise ValidationError({NON_FIELD_ERRORS: [str(exc)]})
        attributed, receiver = people[route.attributed_to], people[route.received_by]

        now = timezone.now()
        version = policy.version or None
        owner_before = customer.owner if customer is not None else None
        created = customer is None
        if created:
            customer = customer_create(
                tenant=tenant, actor=actor, name=name, phone=phone, id_number=id_number,
                owner=attributed,
                source=(Customer.Source.REFERRAL if brought_by is not None
                        else Customer.Source.WALK_IN),
                ownership_reason=OwnershipChange.Reason.WALK_IN,
                ownership_note=route.explanation[:1000], policy_version=version,
                owner_by_rule=True)
        elif route.take_ownership and (owner_before is None or owner_before.pk != attributed.pk):
            customer = customer_owner_set(
                tenant=tenant, actor=actor, customer=customer, owner=attributed,
                reason=OwnershipChange.Reason.WALK_IN, note=route.explanation[:1000], at=now,
                policy_version=version)
        kind = VISIT_KINDS.get(route.code, Visit.Kind.WALK_IN)
        if brought_by is not None and kind == Visit.Kind.WALK_IN:
            kind = Visit.Kind.BROUGHT_BY_CUSTOMER
        visit = Visit.objects.create(
            tenant=tenant, customer=customer, team=team, kind=kind, attributed_to=attributed,
            received_by=receiver, courtesy=route.courtesy, named_staff=named_staff,
            brought_by=brought_by, route=route.code, notes=notes, recorded_by=actor, at=now)
        contact_record(tenant=tenant, customer=customer, at=now, visit=True)
        if route.consumes_turn:
            sign_in = next(s for s in sign_ins if s.staff_id == receiver.pk)
            sign_in.last_served_at = now
            sign_in.served_count += 1
            sign_in.save(update_fields=["last_served_at", "served_count"])
        result = WalkInResult(customer=customer, visit=visit, route=route, created=created,
                              owner_before=owner_before)
        _notify(tenant, actor, result, attributed, receiver)
        audit_record(tenant=tenant, actor=actor, action="rotation.walk_in", target=visit, changes={
            "customer": customer.pk, "created": created, "route": route.code,
            "attributed_to": attributed.pk, "received_by": receiver.pk,
            "courtesy": route.courtesy, "consumed_turn": route.consumes_turn,
            "named_staff": named_staff, "brought_by": brought_by,
            "owner_before": owner_before, "policy_version": version},
            reason=route.explanation)
        return result


def _notify(tenant: Tenant, actor: Staff, result: WalkInResult, attributed: Staff,
            receiver: Staff) -> None:
    """Tell the salesperson the customer counts for when someone else received them, and the
    former owner when the walk-in moved the customer away from them. The texts are rendered in
    each recipient's language (notify stringifies them under the recipient's language)."""
    customer, route = result.customer, result.route
    body = _Rendered(lambda: rules.explain(route.code, attributed=attributed.name,
                                           receiver=receiver.name))
    if receiver.pk != attributed.pk:
        notify(tenant=tenant, recipients=[attributed], kind=Notification.Kind.WALK_IN,
               title=_Rendered(lambda: str(WALK_IN_TITLE) % {"customer": customer.name,
                                                             "receiver": receiver.name}),
               body=body, url=reverse("customers:detail", args=[customer.pk]),
               target=result.visit)
    before = result.owner_before
    if not result.created and before is not None and before.pk != attributed.pk:
        # No link: the former owner may no longer see the customer.
        notify(tenant=tenant, recipients=[before], kind=Notification.Kind.WALK_IN,
               title=_Rendered(lambda: str(WALK_IN_LOST_TITLE) % {"customer": customer.name,
                                                                  "owner": attributed.name}),
               body=body, target=result.visit, exclude=actor)


class _Rendered:
    """Text rendered when stringified: `notify` does it under each recipient's language."""

    def __init__(self, render):
        self.render = render

    def __str__(self) -> str:
        return self.render()
