"""What a month's settlement feeds the engine: one tenant-month of facts read from the database
(set-based: a handful of queries whatever the number of deals), as
`apps.commissions.engine.MonthInputs`, plus which events are late adjustments.

**Events of the month** (tenant-local calendar month, dates are calendar dates):

* credit events — every credit line (`DealCredit`, not a refund reversal) of the deals signed
  in the month (`credit:<id>`), and every participant of those deals without a credit line as
  an event with credit 0 (`participant:<id>`: a pool rule pays roles, not credit — the renewal
  advisor); a line without staff (a whole deal confiscated) is passed as such (no lines);
* staff referrals — referrals by staff referrers whose referred deal (the conversion) was
  signed in the month and that succeeded (`referral:<id>`, the deal's amount);
* referral counts and the ranking metric — successful staff referrals converted in the month
  (per staff member; the ranking of a quarter-end month counts the whole quarter; teams add up
  their members' counts);
* retention — later purchases signed in the month by customers a staff or customer referral
  brought (`retention:<customer id>`; the first purchase is the referral's deal), credited to
  the owner recorded on the first deal; a customer already paid a retention bonus in an
  earlier settlement is left out;
* penalties (`PenaltyEvent`, `penalty:<id>`) of the month;
* refunds (`refund:<id>`) dated in the month, of deals whose lines are in this run or in
  **closed** settlements (their lines are passed as `prior` so the engine reverses them in
  proportion); a refund of a deal whose month is calculated but not closed yet waits (a
  warning) until that month is closed.

**Late events** (issue 6: "anything that arrives for a closed month becomes an adjustment line
in the next open month"): credit events, staff referrals, penalties and refunds dated in an
earlier month whose settlement is closed (or paid) and that no closed settlement's line refers
to are taken into this month and marked as adjustments of that closed month.

Everyone active with a base salary is in `people` (the cap reads it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import CharField, Count, Exists, IntegerField, OuterRef, Q, Sum, Value
from django.db.models.functions import Cast, Concat, Substr
from django.utils.translation import gettext as _

from apps.deals.models import Deal, DealCredit, DealParticipant, Refund
from apps.ownership.selectors import local_midnight
from apps.referrals.models import Referral, Referrer
from apps.tenancy.models import Staff, Tenant

from . import engine
from .models import CommissionLine, PenaltyEvent, Settlement

COMMISSION_KINDS = ("rate", "fixed", "pool", "staff_referral")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    first = month_start(day)
    return (first + dt.timedelta(days=32)).replace(day=1)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


@dataclass
class MonthFacts:
    """The engine's inputs and the bookkeeping the settlement needs to store the lines."""

    inputs: engine.MonthInputs
    #: ref → what it adjusts (a late event of a closed month), e.g. "deal:12 (2026-09, closed)".
    late: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _frozen_months() -> set[dt.date]:
    return set(Settlement.objects.filter(status__in=Settlement.FROZEN_STATUSES)
               .values_list("month", flat=True))


def _late_filter(date_field: str, first: dt.date, frozen: set[dt.date]) -> Q:
    """Rows dated before `first` in a closed month."""
    q = Q(pk__in=[])
    for month in frozen:
        if month < first:
            q |= Q(**{f"{date_field}__gte": month, f"{date_field}__lt": next_month(month)})
    return q


def _label(ref: str, month: dt.date) -> str:
    return _("%(ref)s of %(month)s (closed)") % {"ref": ref, "month": month.strftime("%Y-%m")}


def month_inputs(tenant: Tenant, month: dt.date) -> MonthFacts:
    """The facts of `month` (any day of it) for the engine. Call inside the tenant's context."""
    first = month_start(month)
    after = next_month(first)
    frozen = _frozen_months()
    facts = MonthFacts(inputs=engine.MonthInputs(month=first))

    # ---- deals and their credit (the month's, and late ones of closed months)
    late_deals = Deal.objects.filter(_late_filter("signed_on", first, frozen)).exclude(Exists(
        CommissionLine.objects.filter(settlement__status__in=Settlement.FROZEN_STATUSES,
                                      deal_id=OuterRef("pk"))))
    late_deal_ids = set(late_deals.values_list("pk", flat=True))
    deal_ids_q = Q(deal__signed_on__gte=first, deal__signed_on__lt=after) | Q(
        deal_id__in=late_deal_ids)
    deal_fields = ("deal_id", "deal__kind", "deal__amount", "deal__signed_on",
                   "deal__days_since_contract_start")
    credits: list[engine.CreditEvent] = []
    # Streamed (a million rows must not be held twice: as tuples and as events).
    for (pk, staff_id, team_id, role, deal_id, kind, amount, signed_on, days, credit,
         percent, confiscated) in (
            DealCredit.objects.filter(deal_ids_q, refund__isnull=True)
            .values_list("pk", "staff_id", "staff__team_id", "role_code", *deal_fields,
                         "amount", "percent", "confiscated")
            .order_by("deal__signed_on", "deal_id", "pk").iterator(chunk_size=20_000)):
        credits.append(engine.CreditEvent(
            ref=f"credit:{pk}", staff_id=staff_id, team_id=team_id, role=role or "",
            deal_id=deal_id, deal_kind=kind, deal_amount=amount, credited=credit,
            percent=percent, signed_on=signed_on, days_since_start=days,
            confiscated=confiscated))
    # Participants without a credit line of their own (deal, person, role) take part with 0.
    uncredited = DealParticipant.objects.filter(deal_ids_q).exclude(Exists(
        DealCredit.objects.filter(deal_id=OuterRef("deal_id"), staff_id=OuterRef("staff_id"),
                                  role_code=OuterRef("role__code"), refund__isnull=True)))
    for pk, staff_id, team_id, role, deal_id, kind, amount, signed_on, days in (
            uncredited.values_list("pk", "staff_id", "staff__team_id", "role__code",
                                   *deal_fields).order_by("deal__signed_on", "deal_id", "pk")
            .iterator(chunk_size=20_000)):
        credits.append(engine.CreditEvent(
            ref=f"participant:{pk}", staff_id=staff_id, team_id=team_id, role=role,
            deal_id=deal_id, deal_kind=kind, deal_amount=amount, credited=Decimal("0.00"),
            percent=Decimal("0"), signed_on=signed_on, days_since_start=days))
    credits.sort(key=lambda e: (e.signed_on, e.deal_id, e.ref))
    for event in credits:
        if event.deal_id in late_deal_ids:
            facts.late[event.ref] = _label(f"deal:{event.deal_id}", month_start(event.signed_on))
    run_deals = {e.deal_id for e in credits}

    # ---- staff referrals (the referred deal signed in the month, or late)
    success = Referral.SUCCESS_STATUSES
    staff_refs = list(
        Referral.objects.filter(referrer__kind=Referrer.Kind.STAFF, status__in=success)
        .filter(Q(deal__signed_on__gte=first, deal__signed_on__lt=after)
                | Q(deal__signed_on__lt=first, deal_id__in=late_deal_ids)
                | (Q(_late_filter("deal__signed_on", first, frozen))
                   & ~Q(pk__in=_settled_ids("referral"))))
        .values_list("pk", "referrer__staff_id", "referrer__staff__team_id", "deal_id",
                     "deal__amount", "deal__signed_on")
        .order_by("deal__signed_on", "pk"))
    staff_referrals = []
    for pk, staff_id, team_id, deal_id, amount, signed_on in staff_refs:
        ref = f"referral:{pk}"
        staff_referrals.append(engine.StaffReferralEvent(
            ref=ref, staff_id=staff_id, team_id=team_id, deal_id=deal_id, amount=amount,
            signed_on=signed_on))
        if signed_on < first:
            facts.late[ref] = _label(f"deal:{deal_id}", month_start(signed_on))
        run_deals.add(deal_id)

    # ---- referral counts (the month) and the ranking metric (the month, or the quarter)
    start = local_midnight(tenant, first)
    end = local_midnight(tenant, after)
    rank_from = local_midnight(tenant, quarter_start(first)) if after.month in (1, 4, 7, 10) \
        else start
    counts = _staff_successes(start, end)
    ranking = _staff_successes(rank_from, end)

    # ---- retention: later purchases of referred customers
    retention = _retention_events(first, after)

    # ---- penalties
    penalty_rows = list(
        PenaltyEvent.objects.filter(
            Q(occurred_on__gte=first, occurred_on__lt=after)
            | (_late_filter("occurred_on", first, frozen) & ~Q(pk__in=_settled_ids("penalty"))))
        .values_list("pk", "staff_id", "staff__team_id", "code", "occurred_on", "amount", "note")
        .order_by("occurred_on", "pk"))
    penalties = []
    for pk, staff_id, team_id, code, on, amount, note in penalty_rows:
        ref = f"penalty:{pk}"
        penalties.append(engine.PenaltyEvent(ref=ref, staff_id=staff_id, team_id=team_id,
                                             code=code, on=on, amount=amount, note=note))
        if on < first:
            facts.late[ref] = _label(ref, month_start(on))

    # ---- refunds: of deals in this run, or whose lines are in closed settlements
    refund_rows = list(
        Refund.objects.filter(
            Q(refunded_on__gte=first, refunded_on__lt=after)
            | (_late_filter("refunded_on", first, frozen) & ~Q(pk__in=_settled_ids("refund"))))
        .values_list("pk", "deal_id", "amount", "refunded_on", "deal__amount")
        .order_by("refunded_on", "pk"))
    prior_deals = {deal_id for _pk, deal_id, *_rest in refund_rows} - run_deals
    prior = _prior(prior_deals, first)
    refunds = []
    for pk, deal_id, amount, on, _deal_amount in refund_rows:
        ref = f"refund:{pk}"
        if deal_id not in run_deals and deal_id not in prior:
            facts.warnings.append(_(
                "Refund #%(id)s waits: the settlement holding deal #%(deal)s is not closed "
                "yet.") % {"id": pk, "deal": deal_id})
            continue
        refunds.append(engine.RefundEvent(ref=ref, deal_id=deal_id, amount=amount, on=on))
        if on < first:
            facts.late[ref] = _label(ref, month_start(on))

    people = [engine.PersonFacts(staff_id=pk, team_id=team_id, base_salary=salary)
              for pk, team_id, salary in Staff.objects.filter(active=True)
              .values_list("pk", "team_id", "base_salary").order_by("pk")]
    teams: dict[int, Decimal] = defaultdict(Decimal)
    team_of = {p.staff_id: p.team_id for p in people}
    for staff_id, count in ranking.items():
        if team_of.get(staff_id):
            teams[team_of[staff_id]] += count
    facts.inputs = engine.MonthInputs(
        month=first, credits=credits, staff_referrals=staff_referrals,
        referral_counts={k: int(v) for k, v in counts.items()}, retention=retention,
        penalties=penalties, refunds=refunds, people=people,
        ranking_people=dict(ranking), ranking_teams=dict(teams), prior=prior)
    return facts


def _settled_ids(prefix: str):
    """Ids (as a subquery) of the rows a closed settlement's line refers to (`<prefix>:<id>`)."""
    return (CommissionLine.objects
            .filter(settlement__status__in=Settlement.FROZEN_STATUSES,
                    ref__startswith=f"{prefix}:")
            .annotate(row_id=Cast(Substr("ref", len(prefix) + 2), IntegerField()))
            .values("row_id"))


def _staff_successes(start: dt.datetime, end: dt.datetime) -> dict[int, Decimal]:
    rows = (Referral.objects.filter(referrer__kind=Referrer.Kind.STAFF,
                                    status__in=Referral.SUCCESS_STATUSES,
                                    converted_at__gte=start, converted_at__lt=end)
            .values_list("referrer__staff_id").annotate(n=Count("pk")).order_by())
    return {staff_id: Decimal(n) for staff_id, n in rows}


def _retention_events(first: dt.date, after: dt.date) -> list[engine.RetentionEvent]:
    in_month = Deal.objects.filter(signed_on__gte=first, signed_on__lt=after)
    brought = {
        customer_id: (deal_id, amount, on, owner_id, team_id)
        for customer_id, deal_id, amount, on, owner_id, team_id in Referral.objects.filter(
            status__in=Referral.SUCCESS_STATUSES, deal__isnull=False,
            customer_id__in=in_month.values("customer_id"))
        .values_list("customer_id", "deal_id", "deal__amount", "deal__signed_on",
                     "deal__owner_id", "deal__owner__team_id")}
    if not brought:
        return []
    done = set(CommissionLine.objects.filter(kind="retention", settlement__month__lt=first)
               .values_list("ref", flat=True))
    events = []
    for pk, customer_id, signed_on in (in_month.filter(customer_id__in=brought.keys())
                                       .values_list("pk", "customer_id", "signed_on")
                                       .order_by("signed_on", "pk")):
        first_deal, amount, first_on, owner_id, team_id = brought[customer_id]
        ref = f"retention:{customer_id}"
        if pk == first_deal or owner_id is None or ref in done:
            continue
        done.add(ref)
        events.append(engine.RetentionEvent(
            ref=ref, staff_id=owner_id, team_id=team_id, customer_id=customer_id,
            first_purchase_amount=amount, first_purchase_on=first_on, purchase_on=signed_on))
    return events


def _prior(deal_ids: set[int], first: dt.date) -> dict[int, engine.PriorDeal]:
    """The commission lines closed settlements hold for these deals (per person, kind, rule and
    version) and what the deals still held after the refunds those settlements took in."""
    if not deal_ids:
        return {}
    held = (CommissionLine.objects
            .filter(deal_id__in=deal_ids, kind__in=COMMISSION_KINDS,
                    settlement__status__in=Settlement.FROZEN_STATUSES)
            .values_list("deal_id", "staff_id", "team_id", "kind", "rule_index", "rule_name",
                         "rule_version")
            .annotate(total=Sum("result"))
            .order_by("deal_id", "staff_id", "kind", "rule_index"))
    lines: dict[int, list[engine.PriorLine]] = defaultdict(list)
    for deal_id, staff_id, team_id, kind, index, name, version, total in held:
        if staff_id is None:
            continue
        lines[deal_id].append(engine.PriorLine(
            staff_id=staff_id, team_id=team_id, kind=kind, rule_index=index or 0,
            rule_name=name, version=version or 0, held=total))
    refunded = dict(
        Refund.objects.filter(deal_id__in=lines.keys())
        .filter(Exists(CommissionLine.objects.filter(
            settlement__status__in=Settlement.FROZEN_STATUSES,
            ref=Concat(Value("refund:"), OuterRef("pk"), output_field=CharField()))))
        .values_list("deal_id").annotate(total=Sum("amount")))
    amounts = dict(Deal.objects.filter(pk__in=lines.keys()).values_list("pk", "amount"))
    return {deal_id: engine.PriorDeal(deal_id=deal_id,
                                      amount_held=amounts[deal_id] - refunded.get(deal_id, 0),
                                      lines=tuple(rows))
            for deal_id, rows in lines.items()}
