"""Reads of disputes that the pages, the API, the services and the home panel share."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from apps.customers.models import Customer
from apps.ownership.models import OwnershipShare
from apps.tenancy.models import Staff
from apps.tenancy.roles import Role

from . import rules
from .models import Dispute, DisputeShare

# --------------------------------------------------------------------------- who sees what


def visible_disputes(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The disputes `staff` may see: administrators all of the tenant's; a manager those of
    their team; everybody the ones they are a party to (sales see only those)."""
    queryset = Dispute.objects.all() if queryset is None else queryset
    if staff.is_admin:
        return queryset
    q = Q(owner_id=staff.pk) | Q(claimant_id=staff.pk)
    if staff.is_manager and staff.team_id is not None:
        q |= Q(team_id=staff.team_id)
    return queryset.filter(q)


def relations_to(staff: Staff, dispute: Dispute) -> frozenset[str]:
    """What `staff` is to `dispute` (see apps.disputes.rules): its owner and/or claimant side,
    the proposer of the pending split, or — when not a party — the team's manager and/or an
    administrator. Empty: they may not see it."""
    rel = set()
    if staff.pk == dispute.owner_id:
        rel.add(rules.OWNER)
    if staff.pk == dispute.claimant_id:
        rel.add(rules.CLAIMANT)
    if rel:
        if dispute.status == rules.PROPOSED and dispute.proposed_by_id == staff.pk:
            rel.add(rules.PROPOSER)
    else:
        # A party never judges their own case.
        if (staff.is_manager and staff.team_id is not None
                and staff.team_id == dispute.team_id):
            rel.add(rules.MANAGER)
        if staff.is_admin:
            rel.add(rules.ADMIN)
    return frozenset(rel)


def can_see(staff: Staff, dispute: Dispute) -> bool:
    """The same rule as `visible_disputes`, for one dispute already loaded."""
    return bool(relations_to(staff, dispute))


def allowed_actions(staff: Staff, dispute: Dispute) -> set[str]:
    """The steps `staff` may take on `dispute` now (state machine and role both allow them)."""
    rel = relations_to(staff, dispute)
    out = set()
    for action in (rules.PROPOSE, rules.REJECT, rules.APPROVE, rules.DECIDE, rules.ESCALATE,
                   rules.WITHDRAW, rules.EVIDENCE):
        if rules.transition_error(action, dispute.status) is None and rules.may(
                action, dispute.status, rel):
            out.add(action)
    return out


def could_ever(staff: Staff, dispute: Dispute, action: str) -> bool:
    """Whether `staff`'s relation to the dispute allows `action` in some status (a salesperson
    can never decide: that is a 403, not "not now")."""
    rel = relations_to(staff, dispute)
    return any(rules.may(action, status, rel) for status in rules.ACTORS[action])


def team_managers(team_id: int | None) -> list[Staff]:
    if team_id is None:
        return []
    return list(Staff.objects.filter(team_id=team_id, active=True, roles__contains=[Role.MANAGER]))


def tenant_admins() -> list[Staff]:
    return list(Staff.objects.filter(active=True, roles__contains=[Role.ADMIN]))


# --------------------------------------------------------------------------- queue

WAITING = "waiting"
ACTIVE = "active"
MINE, TEAM = "mine", "team"


def waiting_for(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The disputes waiting for `staff` to act: an administrator's escalated ones; a manager's
    open and proposed ones of their team (not their own); a party's splits proposed by the
    other side."""
    queryset = visible_disputes(staff, queryset)
    q = Q(pk__in=[])
    if staff.is_admin:
        q |= Q(status=rules.ESCALATED)
    if staff.is_manager and staff.team_id is not None:
        q |= (Q(team_id=staff.team_id, status__in=[rules.OPEN, rules.PROPOSED])
              & ~Q(owner_id=staff.pk) & ~Q(claimant_id=staff.pk))
    q |= ((Q(owner_id=staff.pk) | Q(claimant_id=staff.pk)) & Q(status=rules.PROPOSED)
          & ~Q(proposed_by_id=staff.pk))
    return queryset.filter(q)


def default_status(staff: Staff) -> str:
    """What the queue shows first: judges see what waits for them, parties all theirs."""
    return WAITING if staff.has_role(Role.ADMIN, Role.MANAGER) else ""


class DisputeFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("status"), required=False,
        choices=[(WAITING, _("Waiting for me")), ("", _("Any status")),
                 (ACTIVE, _("Not closed yet")), *Dispute.Status.choices])
    scope = forms.ChoiceField(
        label=_("whose"), required=False,
        choices=[("", _("All I may see")), (MINE, _("Mine (I am a party)")),
                 (TEAM, _("My team's"))])


def dispute_list(staff: Staff, params: Mapping | None = None, *,
                 queryset: QuerySet | None = None) -> QuerySet:
    """The queue: the disputes `staff` may see, filtered by `status` (a status, "active",
    "waiting" = waiting for me; missing = `default_status`) and `scope` (mine/team). Unknown
    values are ignored (the filter form shows the valid ones)."""
    params = params or {}
    status = params.get("status", default_status(staff)) if hasattr(params, "get") else ""
    scope = params.get("scope", "") if hasattr(params, "get") else ""
    qs = visible_disputes(staff, queryset)
    if status == WAITING:
        qs = waiting_for(staff, qs)
    elif status == ACTIVE:
        qs = qs.filter(status__in=rules.ACTIVE)
    elif status in Dispute.Status.values:
        qs = qs.filter(status=status)
    if scope == MINE:
        qs = qs.filter(Q(owner_id=staff.pk) | Q(claimant_id=staff.pk))
    elif scope == TEAM:
        qs = qs.filter(team_id=staff.team_id) if staff.team_id else qs.none()
    return (qs.select_related("customer", "owner", "claimant", "team")
            .order_by("-opened_at", "-id"))


def judge_queue(staff: Staff) -> QuerySet | None:
    """The home panel's disputes: an administrator's escalated and all open ones, a manager's
    open and proposed ones of their team; None for anyone else."""
    if staff.is_admin:
        return Dispute.objects.filter(status__in=rules.ACTIVE)
    if staff.is_manager and staff.team_id is not None:
        return (Dispute.objects.filter(team_id=staff.team_id,
                                       status__in=[rules.OPEN, rules.PROPOSED])
                .exclude(owner_id=staff.pk).exclude(claimant_id=staff.pk))
    return None


# --------------------------------------------------------------------------- shares


def dispute_shares(dispute: Dispute, stage: str) -> list[DisputeShare]:
    return list(DisputeShare.objects.filter(dispute=dispute, stage=stage)
                .select_related("staff").order_by("-percent", "id"))


def credit_shares(customer: Customer) -> list[OwnershipShare]:
    """The customer's active credit shares decided by disputes (for the deals issue): either
    rows of staff + percent summing to 100, or one `confiscated` row (nobody earns credit).
    Empty: no dispute decided it; the credit follows the usual rules (the owner)."""
    return list(OwnershipShare.objects.filter(customer=customer, active=True)
                .select_related("staff").order_by("-percent", "id"))
