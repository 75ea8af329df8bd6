"""The monthly settlement (月结): services, the state machine and the selectors of the pages.

    open ──calculate──▶ calculated ──submit──▶ submitted ──every team──▶ approved ──close──▶ closed ──▶ paid
                 ▲   (recalculate)│              (team managers,   (an administrator)   (finance;
                 └────────────────┘               then an admin)                         immutable)

* **Calculate** (finance, administrators, or the beat job): the month's facts
  (apps.commissions.facts) through the engine with the tenant's rule book
  (apps.commissions.rulesets.rule_book_for); the month's lines are replaced by the result in
  one transaction. One settlement per tenant-month (a unique key), and a transaction-scoped
  advisory lock per tenant: two calculations at the same moment run one after the other and
  store one result; running it twice stores the same lines again. A worker killed in the middle
  leaves the month as it was (nothing is committed until the end). Only an open or calculated
  month can be (re)calculated.
* **Submit** (finance, administrators): calculated → submitted.
* **Approve**: each team with lines is approved by a manager of that team (or an administrator);
  then an administrator approves the month.
* **Close** (finance, administrators): approved → closed. From then on the lines cannot change
  (a database trigger refuses it too); whatever arrives later for the month becomes an
  adjustment line of the next open month (see facts.py).
* **Mark paid** (finance, administrators): closed → paid.

Every step is audited (`commissions.settlement.*`); the approvers are told when a month is
calculated or submitted, finance when it is approved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.audit import audit_record
from apps.core.i18n import lazy_format
from apps.core.versioning import advisory_lock
from apps.notifications.models import Notification
from apps.notifications.services import notify
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from . import engine
from .facts import month_inputs, month_start
from .models import CommissionLine, PenaltyEvent, Settlement, TeamApproval
from .rulesets import rule_book_for

S = Settlement.Status
LOCK_SETTLEMENT = 6002

CALC_ROLES = (Role.FINANCE, Role.ADMIN)
TEAM_APPROVE_ROLES = (Role.MANAGER, Role.ADMIN)
FINAL_APPROVE_ROLES = (Role.ADMIN,)
READ_ROLES = (Role.ADMIN, Role.FINANCE, Role.MANAGER, Role.SALES, Role.CUSTOMER_SERVICE)
#: Who records penalties by hand (other modules record theirs as the system).
PENALTY_ROLES = (Role.MANAGER, Role.ADMIN)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.OPEN: (S.CALCULATED,),
    S.CALCULATED: (S.CALCULATED, S.SUBMITTED),
    S.SUBMITTED: (S.APPROVED,),
    S.APPROVED: (S.CLOSED,),
    S.CLOSED: (S.PAID,),
    S.PAID: (),
}
BONUS_KINDS = ("count_bonus", "ranking", "retention")
NOTIFY_KIND = Notification.Kind.COMMISSION

#: The columns a calculation writes (COPY, in this order).
_LINE_COLUMNS = ("tenant_id", "settlement_id", "staff_id", "team_id", "kind", "rule_version",
                 "rule_index", "rule_name", "base", "rate", "fixed", "share", "result",
                 "deal_id", "ref", "adjusts", "is_adjustment", "explanation", "position")
# Built from the constants above (no input reaches them).
_COLUMNS = ", ".join(_LINE_COLUMNS)
_SQL_STAGE = ("CREATE TEMPORARY TABLE commission_lines_in ON COMMIT DROP AS "  # noqa: S608
              f"SELECT {_COLUMNS} FROM {CommissionLine._meta.db_table} WITH NO DATA")
_SQL_COPY = f"COPY commission_lines_in ({_COLUMNS}) FROM STDIN"
_SQL_INSERT = (f"INSERT INTO {CommissionLine._meta.db_table} ({_COLUMNS}) "  # noqa: S608
               f"SELECT {_COLUMNS} FROM commission_lines_in")


# ----------------------------------------------------------------------------- helpers

def _require(actor: Staff | None, roles, message: str) -> None:
    if actor is not None and not actor.has_role(*roles):
        raise PermissionDenied(message)


def _refuse(message: str) -> ValidationError:
    return ValidationError({NON_FIELD_ERRORS: [message]})


def _label(settlement: Settlement) -> str:
    return settlement.month.strftime("%Y-%m")


def _move(settlement: Settlement, to: str) -> None:
    if to not in TRANSITIONS[settlement.status]:
        raise _refuse(_("The settlement of %(month)s is “%(status)s”: it cannot become "
                        "“%(to)s”.") % {"month": _label(settlement),
                                          "status": settlement.get_status_display(),
                                          "to": S(to).label})
    settlement.status = to


def _locked(settlement: Settlement) -> Settlement:
    return Settlement.objects.select_for_update().get(pk=settlement.pk)


def _url(settlement: Settlement) -> str:
    return reverse("commissions:settlement_detail", args=[settlement.pk])


def _tell(tenant: Tenant, settlement: Settlement, roles, title, actor) -> None:
    people = [s for s in Staff.objects.filter(active=True) if s.has_role(*roles)]
    notify(tenant=tenant, recipients=people, kind=NOTIFY_KIND,
           title=lazy_format(title, {"month": _label(settlement)}), url=_url(settlement),
           target=settlement, exclude=actor)


# ----------------------------------------------------------------------------- selectors

def settlement_get(tenant: Tenant, month: dt.date) -> Settlement | None:
    with tenant_context(tenant):
        return Settlement.objects.filter(month=month_start(month)).first()


def teams_to_approve(settlement: Settlement) -> list[tuple[Team, TeamApproval | None]]:
    """The teams with lines in the settlement, each with its approval (or None)."""
    with tenant_context(settlement.tenant_id):
        return _teams_to_approve(settlement)


def _teams_to_approve(settlement: Settlement) -> list[tuple[Team, TeamApproval | None]]:
    team_ids = set(CommissionLine.objects.filter(settlement=settlement, team__isnull=False)
                   .values_list("team_id", flat=True).distinct())
    approvals = {a.team_id: a for a in TeamApproval.objects.filter(settlement=settlement)
                 .select_related("approved_by")}
    return [(team, approvals.get(team.pk))
            for team in Team.objects.filter(pk__in=team_ids).order_by("name", "pk")]


def visible_lines(staff: Staff, settlement: Settlement) -> QuerySet:
    """The lines `staff` may see: finance and administrators all; a manager their team's and
    their own; anyone else their own."""
    lines = CommissionLine.objects.filter(settlement=settlement)
    if staff.has_role(Role.ADMIN, Role.FINANCE):
        return lines
    if staff.has_role(Role.MANAGER) and staff.team_id:
        return lines.filter(Q(team_id=staff.team_id) | Q(staff=staff))
    return lines.filter(staff=staff)


@dataclass
class PersonRow:
    staff_id: int | None
    name: str
    team_id: int | None
    team_name: str
    base_salary: Decimal | None
    by_kind: dict[str, Decimal] = field(default_factory=dict)
    commissions: Decimal = Decimal("0.00")
    bonuses: Decimal = Decimal("0.00")
    penalties: Decimal = Decimal("0.00")
    adjustments: Decimal = Decimal("0.00")
    cap: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")


def person_summaries(settlement: Settlement, *, staff_ids=None) -> list[PersonRow]:
    """Per person: the totals by kind (adjustments apart), commissions, bonuses, penalties,
    adjustments, the cap applied and the total — one aggregate query and one for the names;
    the totals add up to the lines to the cent."""
    with tenant_context(settlement.tenant_id):
        return _person_summaries(settlement, staff_ids)


def _person_summaries(settlement: Settlement, staff_ids) -> list[PersonRow]:
    lines = CommissionLine.objects.filter(settlement=settlement)
    if staff_ids is not None:
        lines = lines.filter(staff_id__in=list(staff_ids))
    rows: dict[int | None, PersonRow] = {}
    for staff_id, kind, adjustment, total in (
            lines.values_list("staff_id", "kind", "is_adjustment")
            .annotate(total=Sum("result")).order_by()):
        row = rows.setdefault(staff_id, PersonRow(staff_id, "", None, "", None))
        if adjustment:
            row.adjustments += total
        elif kind == "cap":
            row.cap += total
        elif kind == "penalty":
            row.penalties += total
        else:
            row.by_kind[kind] = row.by_kind.get(kind, Decimal("0.00")) + total
            if kind in BONUS_KINDS:
                row.bonuses += total
            else:
                row.commissions += total
        row.total += total
    people = {pk: (name, team_id, team_name, salary) for pk, name, team_id, team_name, salary
              in Staff.objects.filter(pk__in=[k for k in rows if k is not None])
              .values_list("pk", "name", "team_id", "team__name", "base_salary")}
    for staff_id, row in rows.items():
        if staff_id in people:
            row.name, row.team_id, row.team_name, row.base_salary = people[staff_id]
    return sorted(rows.values(), key=lambda r: (r.team_name or "", r.name, r.staff_id or 0))


# ----------------------------------------------------------------------------- calculation

def _decimal(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


def _copy_lines(tenant: Tenant, settlement: Settlement, lines, late: dict[str, str]) -> None:
    """Write the engine's lines fast: COPY into a temporary table (COPY cannot write a table
    under row-level security), then one INSERT … SELECT, which the RLS policy checks."""
    with connection.cursor() as cursor:
        cursor.execute(_SQL_STAGE)
        with cursor.cursor.copy(_SQL_COPY) as copy:
            for position, line in enumerate(lines):
                adjusts = late.get(line.ref) or line.adjusts
                copy.write_row((
                    tenant.pk, settlement.pk, line.staff_id, line.team_id, line.kind,
                    line.version if line.version >= 0 else None,
                    line.rule_index if line.rule_index >= 0 else None, line.rule_name[:200],
                    _decimal(line.base_cents), line.rate, _decimal(line.fixed_cents),
                    line.share, _decimal(line.cents), line.deal_id, line.ref[:100],
                    adjusts[:200], bool(adjusts), line.explanation, position))
        cursor.execute(_SQL_INSERT)
        cursor.execute("DROP TABLE commission_lines_in")


@transaction.atomic
def settlement_calculate(*, tenant: Tenant, actor: Staff | None, month: dt.date) -> Settlement:
    """Calculate (or recalculate) the month: see the module docstring. `actor` None = the
    system (the beat job). Refused: a month that has not started yet (tenant time zone), or
    one already submitted, approved, closed or paid. The current month may be calculated (to
    see where it stands); it is closed once it has ended."""
    with tenant_context(tenant):
        _require(actor, CALC_ROLES, _("Only finance and administrators calculate a month."))
        first = month_start(month)
        if first > month_start(tenant_today(tenant)):
            raise ValidationError({"month": [_("%(month)s has not started yet.") % {
                "month": first.strftime("%Y-%m")}]})
        advisory_lock(LOCK_SETTLEMENT, tenant)
        settlement, _created = Settlement.objects.get_or_create(month=first,
                                                                defaults={"tenant": tenant})
        settlement = _locked(settlement)
        if settlement.status not in (S.OPEN, S.CALCULATED):
            raise _refuse(_("The settlement of %(month)s is “%(status)s”: only an open or "
                            "calculated month can be calculated.") % {
                "month": _label(settlement), "status": settlement.get_status_display()})
        facts = month_inputs(tenant, first)
        result = engine.calculate(facts.inputs, rule_book_for(tenant))
        CommissionLine.objects.filter(settlement=settlement).delete()
        TeamApproval.objects.filter(settlement=settlement).delete()
        _copy_lines(tenant, settlement, result.lines, facts.late)
        before = settlement.status
        _move(settlement, S.CALCULATED)
        settlement.runs += 1
        settlement.calculated_at, settlement.calculated_by = timezone.now(), actor
        settlement.total = sum((p.total for p in result.people), Decimal("0.00"))
        settlement.line_count = len(result.lines)
        settlement.people = len(result.people)
        settlement.warnings = [*facts.warnings, *result.warnings][:200]
        settlement.save()
        audit_record(tenant=tenant, actor=actor, action="commissions.settlement.calculate",
                     target=settlement, changes={
                         "status": [before, S.CALCULATED], "run": settlement.runs,
                         "total": settlement.total, "lines": settlement.line_count,
                         "people": settlement.people, "adjustments": len(facts.late)})
        _tell(tenant, settlement, TEAM_APPROVE_ROLES,
              gettext_lazy("Commissions of %(month)s calculated"), actor)
        return settlement


# ----------------------------------------------------------------------------- steps

@transaction.atomic
def settlement_submit(*, tenant: Tenant, actor: Staff, settlement: Settlement) -> Settlement:
    with tenant_context(tenant):
        _require(actor, CALC_ROLES, _("Only finance and administrators submit a month."))
        settlement = _locked(settlement)
        if settlement.status != S.CALCULATED:
            raise _refuse(_("Only a calculated month can be submitted (%(month)s is "
                            "“%(status)s”).") % {"month": _label(settlement),
                                                 "status": settlement.get_status_display()})
        _move(settlement, S.SUBMITTED)
        settlement.submitted_at, settlement.submitted_by = timezone.now(), actor
        settlement.save(update_fields=["status", "submitted_at", "submitted_by"])
        audit_record(tenant=tenant, actor=actor, action="commissions.settlement.submit",
                     target=settlement, changes={"status": [S.CALCULATED, S.SUBMITTED]})
        _tell(tenant, settlement, TEAM_APPROVE_ROLES,
              gettext_lazy("Commissions of %(month)s wait for your approval"), actor)
        return settlement


@transaction.atomic
def settlement_approve_team(*, tenant: Tenant, actor: Staff, settlement: Settlement, team: Team,
                            note: str = "") -> TeamApproval:
    """A manager approves their own team's lines (an administrator any team's) in a submitted
    month. Once per team."""
    with tenant_context(tenant):
        if actor is None or not actor.has_role(*TEAM_APPROVE_ROLES):
            raise PermissionDenied(_("Only managers and administrators approve a team."))
        if not actor.has_role(Role.ADMIN) and actor.team_id != getattr(team, "pk", None):
            raise PermissionDenied(_("A manager approves only their own team."))
        settlement = _locked(settlement)
        note = (note or "").strip()
        if len(note) > 200:
            raise ValidationError({"note": [_("At most %(max)s characters.") % {"max": 200}]})
        if settlement.status != S.SUBMITTED:
            raise _refuse(_("Teams approve a submitted month (%(month)s is “%(status)s”).") % {
                "month": _label(settlement), "status": settlement.get_status_display()})
        if team.pk not in {t.pk for t, _a in teams_to_approve(settlement)}:
            raise ValidationError({"team": [_("This team has no lines in the month.")]})
        try:
            with transaction.atomic():
                approval = TeamApproval.objects.create(tenant=tenant, settlement=settlement,
                                                       team=team, approved_by=actor, note=note)
        except IntegrityError:
            raise _refuse(_("Team %(team)s has already approved %(month)s.") % {
                "team": team.name, "month": _label(settlement)}) from None
        audit_record(tenant=tenant, actor=actor, action="commissions.settlement.approve_team",
                     target=settlement, changes={"team": team.pk}, reason=note)
        if all(a is not None for _t, a in teams_to_approve(settlement)):
            _tell(tenant, settlement, FINAL_APPROVE_ROLES,
                  gettext_lazy("Every team approved %(month)s: the month waits for you"), actor)
        return approval


@transaction.atomic
def settlement_approve(*, tenant: Tenant, actor: Staff, settlement: Settlement,
                       note: str = "") -> Settlement:
    """An administrator approves the submitted month once every team with lines approved."""
    with tenant_context(tenant):
        if actor is None or not actor.has_role(*FINAL_APPROVE_ROLES):
            raise PermissionDenied(_("Only administrators approve a month."))
        settlement = _locked(settlement)
        if settlement.status != S.SUBMITTED:
            raise _refuse(_("Only a submitted month can be approved (%(month)s is "
                            "“%(status)s”).") % {"month": _label(settlement),
                                                 "status": settlement.get_status_display()})
        waiting = [t.name for t, a in teams_to_approve(settlement) if a is None]
        if waiting:
            raise _refuse(_("These teams have not approved yet: %(teams)s.") % {
                "teams": "、".join(waiting)})
        _move(settlement, S.APPROVED)
        settlement.approved_at, settlement.approved_by = timezone.now(), actor
        settlement.save(update_fields=["status", "approved_at", "approved_by"])
        audit_record(tenant=tenant, actor=actor, action="commissions.settlement.approve",
                     target=settlement, changes={"status": [S.SUBMITTED, S.APPROVED]},
                     reason=(note or "").strip()[:200])
        _tell(tenant, settlement, (Role.FINANCE,),
              gettext_lazy("Commissions of %(month)s approved: ready to close"), actor)
        return settlement


@transaction.atomic
def settlement_close(*, tenant: Tenant, actor: Staff, settlement: Settlement) -> Settlement:
    """Finance closes an approved month: from now on it never changes (irreversible)."""
    with tenant_context(tenant):
        if actor is None or not actor.has_role(*CALC_ROLES):
            raise PermissionDenied(_("Only finance and administrators close a month."))
        settlement = _locked(settlement)
        if settlement.status != S.APPROVED:
            raise _refuse(_("Only an approved month can be closed (%(month)s is "
                            "“%(status)s”).") % {"month": _label(settlement),
                                                 "status": settlement.get_status_display()})
        _move(settlement, S.CLOSED)
        settlement.closed_at, settlement.closed_by = timezone.now(), actor
        settlement.save(update_fields=["status", "closed_at", "closed_by"])
        audit_record(tenant=tenant, actor=actor, action="commissions.settlement.close",
                     target=settlement, changes={"status": [S.APPROVED, S.CLOSED],
                                                 "total": settlement.total})
        return settlement


@transaction.atomic
def settlement_mark_paid(*, tenant: Tenant, actor: Staff, settlement: Settlement) -> Settlement:
    with tenant_context(tenant):
        if actor is None or not actor.has_role(*CALC_ROLES):
            raise PermissionDenied(_("Only finance and administrators mark a month paid."))
        settlement = _locked(settlement)
        if settlement.status != S.CLOSED:
            raise _refuse(_("Only a closed month can be marked paid (%(month)s is "
                            "“%(status)s”).") % {"month": _label(settlement),
                                                 "status": settlement.get_status_display()})
        _move(settlement, S.PAID)
        settlement.paid_at, settlement.paid_by = timezone.now(), actor
        settlement.save(update_fields=["status", "paid_at", "paid_by"])
        audit_record(tenant=tenant, actor=actor, action="commissions.settlement.mark_paid",
                     target=settlement, changes={"status": [S.CLOSED, S.PAID]})
        return settlement


# ----------------------------------------------------------------------------- penalties

@transaction.atomic
def penalty_record(*, tenant: Tenant, actor: Staff | None, staff: Staff, code: str,
                   occurred_on: dt.date, amount=None, source: str = "",
                   note: str = "") -> PenaltyEvent:
    """A penalty for the commission engine (e.g. the follow-ups module: a visit missed past the
    grace period, code "missed_follow_up"). `amount` None: the rule's amount for the code.
    actor None = the system (another module); people: managers and administrators."""
    with tenant_context(tenant):
        _require(actor, PENALTY_ROLES, _("Only managers and administrators record penalties."))
        errors: dict = {}
        if not isinstance(staff, Staff) or staff.tenant_id != tenant.pk:
            errors["staff"] = [_("Choose a staff member.")]
        code = (code or "").strip()
        if not code or len(code) > 40 or not code.replace("_", "").replace("-", "").isalnum():
            errors["code"] = [_("Enter the penalty code (letters, digits, _ or -).")]
        if not isinstance(occurred_on, dt.date):
            errors["occurred_on"] = [_("Enter the day.")]
        if amount is not None:
            try:
                amount = Decimal(str(amount))
            except ArithmeticError:
                amount = None
                errors["amount"] = [_("Enter an amount of more than 0.")]
            else:
                if not amount.is_finite() or amount <= 0 or amount != amount.quantize(
                        Decimal("0.01")):
                    errors["amount"] = [_("Enter an amount of more than 0.")]
        if errors:
            raise ValidationError(errors)
        penalty = PenaltyEvent.objects.create(
            tenant=tenant, staff=staff, code=code, amount=amount, occurred_on=occurred_on,
            source=(source or "")[:100], note=(note or "")[:200], created_by=actor)
        audit_record(tenant=tenant, actor=actor, action="commissions.penalty.record",
                     target=penalty, changes={"staff": staff.pk, "code": code,
                                              "amount": amount, "day": occurred_on})
        return penalty


# ----------------------------------------------------------------------------- the beat job

def calculate_due(tenant: Tenant, today: dt.date) -> Settlement | None:
    """The beat job's body: on the tenant's calculation day, calculate last month (if it is
    still open, or calculated by a person — a month the job calculated already is left to
    finance) and tell the approvers. Returns the settlement calculated, else None."""
    from .rulesets import commission_settings_for

    if today.day != commission_settings_for(tenant).calculation_day:
        return None
    last_month = month_start(month_start(today) - dt.timedelta(days=1))
    existing = settlement_get(tenant, last_month)
    # Once the job has calculated a month it leaves it to finance (a second run, a second beat).
    if existing is not None and (existing.status not in (S.OPEN, S.CALCULATED) or (
            existing.status == S.CALCULATED and existing.calculated_by_id is None)):
        return None
    return settlement_calculate(tenant=tenant, actor=None, month=last_month)


__all__ = [
    "CALC_ROLES", "TEAM_APPROVE_ROLES", "FINAL_APPROVE_ROLES", "READ_ROLES", "PersonRow",
    "settlement_get", "settlement_calculate", "settlement_submit", "settlement_approve_team",
    "settlement_approve", "settlement_close", "settlement_mark_paid",
    "teams_to_approve", "person_summaries", "visible_lines", "penalty_record", "calculate_due",
]
