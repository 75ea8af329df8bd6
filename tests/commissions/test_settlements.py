"""The monthly settlement through its services: the DOMAIN.md §5 worked example from real deals,
the state machine and its roles, recalculation, late deals and refunds after a close becoming
adjustments of the next open month, penalties, the database refusing changes to a closed
month, a calculation that fails half-way, and the beat job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from apps.commissions import settlements as svc
from apps.commissions.models import CommissionLine, CommissionSettings, Settlement, TeamApproval
from apps.core.models import AuditEntry
from apps.deals import services as deals
from tests.deals.conftest import make_contract, make_deal


def _last_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _renewal(e, *, signed_on, amount="100000.00", contract_start=None):
    contract = make_contract(e, start=contract_start or signed_on - dt.timedelta(days=30))
    return make_deal(e, kind="renewal", amount=amount, signed_on=signed_on, renews=contract,
                     participants=[(e.consultant, "consultant", ""), (e.advisor, "advisor", "")])


def _lines(w, settlement, **filters):
    with w.context():
        return list(CommissionLine.objects.filter(settlement=settlement, **filters)
                    .order_by("position").values_list("staff_id", "kind", "result",
                                                      "is_adjustment"))


def _close(e, settlement):
    w = e.world
    svc.settlement_submit(tenant=w.tenant, actor=w.finance, settlement=settlement)
    for team, _approval in svc.teams_to_approve(settlement):
        svc.settlement_approve_team(tenant=w.tenant, actor=w.admin, settlement=settlement,
                                    team=team)
    svc.settlement_approve(tenant=w.tenant, actor=w.admin, settlement=settlement)
    return svc.settlement_close(tenant=w.tenant, actor=w.finance, settlement=settlement)


def test_worked_example_renewal_within_45_days(edu):
    """100 000 renewed within 45 days → 1 500: consultant 1 050, advisor 450 (day 45 included);
    on day 46 the shares turn (consultant 450, advisor 1 050)."""
    e, w = edu, edu.world
    _renewal(e, signed_on=e.today, contract_start=e.today - dt.timedelta(days=45))
    settlement = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    pool = _lines(w, settlement, kind="pool")
    assert sorted(pool) == sorted([(e.consultant.pk, "pool", Decimal("1050.00"), False),
                                   (e.advisor.pk, "pool", Decimal("450.00"), False)])
    assert settlement.status == "calculated" and settlement.runs == 1
    assert settlement.total == Decimal("1500.00") and settlement.line_count == len(
        _lines(w, settlement))

    _renewal(e, signed_on=e.today, contract_start=e.today - dt.timedelta(days=46))
    settlement = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    by_person = {p.staff_id: p.total for p in svc.person_summaries(settlement)}
    assert by_person[e.consultant.pk] == Decimal("1500.00")  # 1 050 + 450
    assert by_person[e.advisor.pk] == Decimal("1500.00")     # 450 + 1 050
    assert settlement.runs == 2 and settlement.total == Decimal("3000.00")
    with w.context():
        line = CommissionLine.objects.filter(settlement=settlement, kind="pool").first()
    assert line.rule_version == 0 and line.rule_name and line.explanation
    assert line.ref.startswith(("credit:", "participant:")) and line.deal_id


def test_recalculating_stores_one_result_and_person_totals_add_up(edu):
    e, w = edu, edu.world
    _renewal(e, signed_on=e.today)
    first = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    lines_before = _lines(w, first)
    again = svc.settlement_calculate(tenant=w.tenant, actor=w.admin, month=e.today)
    assert again.pk == first.pk and _lines(w, again) == lines_before and again.runs == 2
    with w.context():
        assert Settlement.objects.count() == 1
        db_total = sum(CommissionLine.objects.filter(settlement=again)
                       .values_list("result", flat=True))
        assert AuditEntry.objects.filter(action="commissions.settlement.calculate").count() == 2
    assert sum(p.total for p in svc.person_summaries(again)) == db_total == again.total


def test_steps_in_order_and_by_the_right_roles(edu):
    e, w = edu, edu.world
    _renewal(e, signed_on=e.today)
    with pytest.raises(PermissionDenied):
        svc.settlement_calculate(tenant=w.tenant, actor=w.sales, month=e.today)
    with w.context():
        assert not Settlement.objects.exists()
    with pytest.raises(ValidationError) as future:
        svc.settlement_calculate(tenant=w.tenant, actor=w.finance,
                                 month=e.today + dt.timedelta(days=40))
    assert "尚未开始" in str(future.value)

    s = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    with pytest.raises(ValidationError):  # approve before submit
        svc.settlement_approve(tenant=w.tenant, actor=w.admin, settlement=s)
    with pytest.raises(PermissionDenied):
        svc.settlement_submit(tenant=w.tenant, actor=w.manager, settlement=s)
    s = svc.settlement_submit(tenant=w.tenant, actor=w.finance, settlement=s)
    with pytest.raises(ValidationError):  # a submitted month is not recalculated
        svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    [(team, approval)] = svc.teams_to_approve(s)
    assert team == w.team1 and approval is None
    with pytest.raises(ValidationError) as waiting:  # the admin waits for the team
        svc.settlement_approve(tenant=w.tenant, actor=w.admin, settlement=s)
    assert team.name in str(waiting.value)
    with pytest.raises(PermissionDenied):  # another team's manager
        svc.settlement_approve_team(tenant=w.tenant, actor=w.make_staff(
            "mgr2", ["manager"], w.team2), settlement=s, team=w.team1)
    svc.settlement_approve_team(tenant=w.tenant, actor=w.manager, settlement=s, team=w.team1)
    with pytest.raises(ValidationError):  # once per team
        svc.settlement_approve_team(tenant=w.tenant, actor=w.manager, settlement=s,
                                    team=w.team1)
    with pytest.raises(PermissionDenied):
        svc.settlement_approve(tenant=w.tenant, actor=w.manager, settlement=s)
    s = svc.settlement_approve(tenant=w.tenant, actor=w.admin, settlement=s)
    with pytest.raises(PermissionDenied):
        svc.settlement_close(tenant=w.tenant, actor=w.manager, settlement=s)
    s = svc.settlement_close(tenant=w.tenant, actor=w.finance, settlement=s)
    with pytest.raises(ValidationError):
        svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    s = svc.settlement_mark_paid(tenant=w.tenant, actor=w.finance, settlement=s)
    assert (s.status, s.submitted_by_id, s.approved_by_id, s.closed_by_id, s.paid_by_id) == (
        "paid", w.finance.pk, w.admin.pk, w.finance.pk, w.finance.pk)
    with w.context():
        actions = list(AuditEntry.objects.filter(action__startswith="commissions.settlement.")
                       .order_by("id").values_list("action", flat=True))
    assert actions == ["commissions.settlement.calculate", "commissions.settlement.submit",
                       "commissions.settlement.approve_team", "commissions.settlement.approve",
                       "commissions.settlement.close", "commissions.settlement.mark_paid"]


def test_a_closed_month_is_immutable_in_the_database(edu):
    e, w = edu, edu.world
    _renewal(e, signed_on=e.today)
    s = _close(e, svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today))
    before = _lines(w, s)
    for change in (
            lambda: CommissionLine.objects.filter(settlement=s).update(result=0),
            lambda: CommissionLine.objects.filter(settlement=s).delete(),
            lambda: CommissionLine.objects.create(tenant=w.tenant, settlement=s, kind="rate",
                                                  result=1, staff=w.sales),
            lambda: Settlement.objects.filter(pk=s.pk).update(total=0),
            lambda: Settlement.objects.filter(pk=s.pk).update(status="open"),
            lambda: Settlement.objects.filter(pk=s.pk).delete()):
        with w.context(), pytest.raises(IntegrityError), transaction.atomic():
            change()
    assert _lines(w, s) == before
    with w.context():
        assert Settlement.objects.get(pk=s.pk).status == "closed"


def test_a_late_deal_and_a_refund_after_the_close_land_in_the_next_month(edu):
    e, w = edu, edu.world
    last = _last_month(e.today)
    deal = _renewal(e, signed_on=last + dt.timedelta(days=3))
    closed = _close(e, svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=last))
    assert closed.total == Decimal("1500.00")

    late = _renewal(e, signed_on=last + dt.timedelta(days=10), amount="20000.00")
    deals.deal_refund(tenant=w.tenant, actor=w.admin, deal=deal, amount=Decimal("40000.00"),
                      refunded_on=e.today, reason="部分退费")
    current = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    lines = _lines(w, current)
    assert all(adjustment for *_rest, adjustment in lines), lines
    with w.context():
        late_lines = CommissionLine.objects.filter(settlement=current, deal=late)
        assert sorted(late_lines.values_list("result", flat=True)) == [Decimal("90.00"),
                                                                        Decimal("210.00")]
        assert all("已结账" in text and "deal:" in text
                   for text in late_lines.values_list("adjusts", flat=True))
        reversal = CommissionLine.objects.filter(settlement=current, deal=deal)
        # 40 % of the deal refunded: 40 % of 1 050 and of 450 taken back.
        assert sorted(reversal.values_list("result", flat=True)) == [Decimal("-420.00"),
                                                                      Decimal("-180.00")]
        assert set(reversal.values_list("ref", flat=True)) == {
            f"refund:{deal.refunds.get().pk}"}
    assert current.total == Decimal("300.00") - Decimal("600.00")
    # The closed month did not move.
    with w.context():
        assert Settlement.objects.get(pk=closed.pk).total == Decimal("1500.00")

    # Recalculating the next month does not take the late deal twice.
    again = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    assert again.total == current.total


def test_penalties_in_the_month_and_late_ones(edu):
    e, w = edu, edu.world
    from apps.commissions.presets import HOME
    from apps.commissions.rulesets import commission_rule_set_create

    commission_rule_set_create(tenant=w.tenant, actor=w.admin, effective_from=e.today,
                               name="家居", rules=HOME)
    svc.penalty_record(tenant=w.tenant, actor=None, staff=w.sales, code="missed_follow_up",
                       occurred_on=e.today, source="followups:1")
    svc.penalty_record(tenant=w.tenant, actor=w.manager, staff=w.sales2,
                       code="missed_follow_up", occurred_on=e.today, amount="80.00")
    with pytest.raises(PermissionDenied):
        svc.penalty_record(tenant=w.tenant, actor=w.sales, staff=w.sales2, code="x",
                           occurred_on=e.today)
    with pytest.raises(ValidationError) as bad:
        svc.penalty_record(tenant=w.tenant, actor=w.manager, staff=w.sales, code="",
                           occurred_on=e.today, amount="-5")
    assert set(bad.value.message_dict) == {"code", "amount"}
    s = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    totals = {p.staff_id: p.penalties for p in svc.person_summaries(s)}
    assert totals[w.sales.pk] == Decimal("-50.00") and totals[w.sales2.pk] == Decimal("-80.00")


def test_a_calculation_failing_half_way_leaves_the_month_as_it_was(edu, monkeypatch):
    e, w = edu, edu.world
    _renewal(e, signed_on=e.today)
    s = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    before = _lines(w, s)
    _renewal(e, signed_on=e.today, amount="50000.00")
    real = svc._copy_lines

    def dies_half_way(tenant, settlement, lines, late):
        real(tenant, settlement, list(lines)[:1], late)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(svc, "_copy_lines", dies_half_way)
    with pytest.raises(RuntimeError):
        svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    with w.context():
        assert Settlement.objects.get(pk=s.pk).runs == 1
    assert _lines(w, s) == before
    monkeypatch.setattr(svc, "_copy_lines", real)
    done = svc.settlement_calculate(tenant=w.tenant, actor=w.finance, month=e.today)
    assert done.runs == 2 and done.total == Decimal("2250.00")


def test_the_beat_job_calculates_last_month_on_the_calculation_day_once(edu):
    e, w = edu, edu.world
    last = _last_month(e.today)
    _renewal(e, signed_on=last + dt.timedelta(days=1))
    day = e.today.replace(day=1)
    assert svc.calculate_due(w.tenant, day + dt.timedelta(days=1)) is None  # not the day
    s = svc.calculate_due(w.tenant, day)
    assert s is not None and s.month == last and s.calculated_by is None
    assert svc.calculate_due(w.tenant, day) is None  # twice the same day: once
    with w.context():
        assert Settlement.objects.get(pk=s.pk).runs == 1
        CommissionSettings.objects.filter().update(calculation_day=5)
    assert svc.calculate_due(w.tenant, day) is None
    with w.context():
        assert not TeamApproval.objects.exists()
