"""The commission engine on deal credit: DOMAIN.md §5–6 numbers, band edges, flat vs marginal,
fixed amounts per role, confiscation, refunds, summaries, rule versions and determinism."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.commissions.engine import (
    CreditEvent,
    MonthInputs,
    PersonFacts,
    PriorDeal,
    PriorLine,
    RefundEvent,
    RuleBook,
    RuleVersion,
    StaffReferralEvent,
    calculate,
    money,
)
from apps.commissions.presets import EDUCATION, HOME

D = Decimal
MARCH = date(2024, 3, 1)


def credit(ref, staff, role, amount, credited="0", *, kind="new", deal=1, days=None,
           team=1, on=date(2024, 3, 5), confiscated=False):
    return CreditEvent(ref=ref, staff_id=staff, team_id=team, role=role, deal_id=deal,
                       deal_kind=kind, deal_amount=D(amount), credited=D(credited),
                       percent=D(100), signed_on=on, days_since_start=days,
                       confiscated=confiscated)


def run(rules, credits=(), **kw):
    return calculate(MonthInputs(month=MARCH, credits=list(credits), **kw), rules)


def results(calc):
    return [(line.staff_id, line.kind, line.result) for line in calc.lines]


# ------------------------------------------------------------------ renewal split (DOMAIN §5)

@pytest.mark.parametrize("days, consultant, advisor", [
    (0, "1050.00", "450.00"),
    (45, "1050.00", "450.00"),      # day 45 included
    (46, "450.00", "1050.00"),      # from day 46: 30 / 70
    (400, "450.00", "1050.00"),
])
def test_renewal_split_by_days_since_contract_start(days, consultant, advisor):
    calc = run(EDUCATION, [credit("c1", 1, "consultant", "100000", "50000", kind="renewal",
                                  days=days),
                           credit("c2", 2, "advisor", "100000", kind="renewal", days=days)])
    assert results(calc) == [(1, "pool", D(consultant)), (2, "pool", D(advisor))]
    assert sum(line.result for line in calc.lines) == D("1500.00")


def test_worked_example_lines_record_rule_base_rate_share_and_chinese_explanation():
    calc = run(EDUCATION, [credit("c1", 1, "consultant", "100000", kind="renewal", days=45),
                           credit("c2", 2, "advisor", "100000", kind="renewal", days=45)])
    line = calc.lines[0]
    assert (line.rule_index, line.rule_name, line.version) == (0, "续费提成", 1)
    assert (line.base, line.rate, line.share, line.result) == (
        D("100000.00"), D("1.5"), D("70"), D("1050.00"))
    assert (line.ref, line.deal_id, line.adjusts) == ("c1", 1, "")
    assert line.explanation == ("续费 100000.00 × 1.5% = 1500.00；合同开始后第 45 天（第 0 至 45 天）："
                                "咨询师 70% = 1050.00")


def test_people_in_the_same_role_share_equally_to_the_cent():
    calc = run(EDUCATION, [credit("c1", 7, "consultant", "100000.01", kind="renewal", days=3),
                           credit("c2", 5, "consultant", "100000.01", kind="renewal", days=3),
                           credit("c3", 6, "consultant", "100000.01", kind="renewal", days=3),
                           credit("c4", 2, "advisor", "100000.01", kind="renewal", days=3)])
    # 1 500.00015 × 70 % = 1 050.000105 → 1 050.00 for the role: 350.00 each
    assert results(calc) == [(7, "pool", D("350.00")), (5, "pool", D("350.00")),
                             (6, "pool", D("350.00")), (2, "pool", D("450.00"))]
    odd = run(EDUCATION, [credit("c1", 7, "consultant", "1000", kind="renewal", days=3),
                          credit("c2", 5, "consultant", "1000", kind="renewal", days=3),
                          credit("c3", 6, "consultant", "1000", kind="renewal", days=3)])
    # 10.50 for the role over three: the spare cent goes to the lowest staff id (5)
    assert results(odd) == [(7, "pool", D("3.50")), (5, "pool", D("3.50")),
                            (6, "pool", D("3.50"))]
    two = run(EDUCATION, [credit("c1", 7, "consultant", "1001", kind="renewal", days=3),
                          credit("c2", 5, "consultant", "1001", kind="renewal", days=3)])
    # 1 001 × 1.5 % × 70 % = 10.5105 → 10.51: 5.26 to staff 5, 5.25 to staff 7
    assert results(two) == [(7, "pool", D("5.25")), (5, "pool", D("5.26"))]
    assert "2 人平分" in two.lines[0].explanation


def test_a_renewal_without_days_since_start_gets_a_zero_line_saying_so():
    calc = run(EDUCATION, [credit("c1", 1, "consultant", "100000", kind="renewal")])
    assert results(calc) == [(1, "pool", D("0.00"))]
    assert calc.lines[0].explanation == "续费：距合同开始天数未知，无提成"


def test_staff_referral_one_and_a_half_percent():
    calc = calculate(MonthInputs(month=MARCH, staff_referrals=[
        StaffReferralEvent("r1", 3, 1, 9, D("20000"), date(2024, 3, 2)),
        StaffReferralEvent("r2", 3, 1, 10, D("333.33"), date(2024, 3, 2))]), EDUCATION)
    assert results(calc) == [(3, "staff_referral", D("300.00")),
                             (3, "staff_referral", D("5.00"))]     # 4.99995 → 5.00
    assert calc.lines[0].explanation == "被推荐成交额 20000.00 × 1.5% = 300.00"


# ------------------------------------------------------------------ rate bands

def rate_rules(edges="lower", method="flat", basis="deal", **extra):
    return {"rules": [{"kind": "rate", "edges": edges, "method": method, "basis": basis,
                       "bands": [{"max": "10000", "percent": "1"},
                                 {"min": "10000", "max": "50000", "percent": "2"},
                                 {"min": "50000", "percent": "3"}], **extra}]}


@pytest.mark.parametrize("edges, amount, expected", [
    ("lower", "9999.99", "100.00"),         # 1 %
    ("lower", "10000", "200.00"),           # [10 000, 50 000): 10 000 exactly is 2 %
    ("lower", "50000", "1500.00"),          # 50 000 exactly is 3 %
    ("upper", "10000", "100.00"),           # (…, 10 000]: 10 000 exactly is still 1 %
    ("upper", "10000.01", "200.00"),
    ("upper", "50000", "1000.00"),          # 50 000 exactly is 2 %
    ("upper", "0", "0.00"),                 # the first band holds 0
])
def test_band_edges_exactly_on_the_boundary(edges, amount, expected):
    calc = run(rate_rules(edges), [credit("c1", 1, "closer", amount, amount)])
    assert results(calc) == [(1, "rate", D(expected))]


def test_flat_rate_applies_to_the_persons_credit_with_the_deal_picking_the_band():
    calc = run(rate_rules(), [credit("c1", 1, "closer", "60000", "30000"),
                              credit("c2", 2, "lead", "60000", "30000")])
    assert results(calc) == [(1, "rate", D("900.00")), (2, "rate", D("900.00"))]
    assert calc.lines[0].rate == D("3")
    assert calc.lines[0].explanation == ("新单成交额 60000.00，档位 50000 及以上：业绩 30000.00 × 3% "
                                         "= 900.00")


def test_marginal_tiers_vs_flat():
    # 60 000 marginal: 10 000 × 1 % + 40 000 × 2 % + 10 000 × 3 % = 1 200 (flat: 1 800)
    whole = run(rate_rules(method="marginal"), [credit("c1", 1, "closer", "60000", "60000")])
    assert results(whole) == [(1, "rate", D("1200.00"))]
    assert whole.lines[0].rate is None
    assert "10000.00 × 1% + 40000.00 × 2% + 10000.00 × 3%" in whole.lines[0].explanation
    half = run(rate_rules(method="marginal"), [credit("c1", 1, "closer", "60000", "20000"),
                                               credit("c2", 2, "lead", "60000", "40000")])
    assert results(half) == [(1, "rate", D("400.00")), (2, "rate", D("800.00"))]


def test_month_basis_flat_picks_the_band_by_the_month_total():
    events = [credit("c1", 1, "closer", "8000", "8000", deal=1, on=date(2024, 3, 2)),
              credit("c2", 1, "closer", "7000", "7000", deal=2, on=date(2024, 3, 9)),
              credit("c3", 2, "closer", "7000", "7000", deal=3, on=date(2024, 3, 9))]
    calc = run(rate_rules(basis="month"), events)
    # staff 1: 15 000 in the month → 2 % on both deals; staff 2: 7 000 → 1 %
    assert results(calc) == [(1, "rate", D("160.00")), (1, "rate", D("140.00")),
                             (2, "rate", D("70.00"))]


def test_month_basis_marginal_climbs_the_tiers_in_signing_order():
    events = [credit("late", 1, "closer", "45000", "45000", deal=2, on=date(2024, 3, 20)),
              credit("early", 1, "closer", "8000", "8000", deal=1, on=date(2024, 3, 2)),
              credit("x", 1, "closer", "10000", "10000", deal=3, on=date(2024, 3, 25),
                     confiscated=True)]
    calc = run(rate_rules(basis="month", method="marginal"), events)
    # the confiscated deal gets its zero line first (in event order) and does not count;
    # 8 000 → 80.00; then 8 000 → 53 000: 2 000 × 1 % + 40 000 × 2 % + 3 000 × 3 % = 910.00
    assert results(calc) == [(1, "rate", D("0.00")), (1, "rate", D("80.00")),
                             (1, "rate", D("910.00"))]
    assert [line.ref for line in calc.lines] == ["x", "early", "late"]
    assert sum(line.result for line in calc.lines) == D("990.00")


def test_filters_by_deal_kind_and_role():
    rules = rate_rules(deal_kinds=["new"], roles=["closer"])
    calc = run(rules, [credit("c1", 1, "closer", "1000", "1000", kind="renewal", days=1),
                       credit("c2", 2, "lead", "1000", "1000"),
                       credit("c3", 3, "closer", "1000", "1000")])
    assert results(calc) == [(3, "rate", D("10.00"))]


# ------------------------------------------------------------------ fixed by band and role

@pytest.mark.parametrize("amount, closer, lead, assistant", [
    ("9999.99", "100.00", "100.00", "50.00"),
    ("10000", "200.00", "200.00", "100.00"),
    ("30000", "300.00", "300.00", "150.00"),
    ("49999.99", "300.00", "300.00", "150.00"),
    ("50000", "400.00", "400.00", "200.00"),
])
def test_home_fixed_table_by_band_and_role(amount, closer, lead, assistant):
    calc = run(HOME, [credit("c1", 1, "closer", amount, kind="referral"),
                      credit("c2", 2, "lead", amount, kind="referral"),
                      credit("c3", 3, "assistant", amount, kind="referral"),
                      credit("c4", 4, "consultant", amount, kind="referral")])
    assert results(calc) == [(1, "fixed", D(closer)), (2, "fixed", D(lead)),
                             (3, "fixed", D(assistant))]


def test_a_fixed_amount_is_per_role_and_deal_shared_by_its_holders():
    calc = run(HOME, [credit("c1", 9, "assistant", "20000", kind="referral"),
                      credit("c2", 4, "assistant", "20000", kind="referral"),
                      credit("c3", 6, "assistant", "20000", kind="referral")])
    # 100.00 over three: 33.34 to the lowest id, 33.33 to the others
    assert results(calc) == [(9, "fixed", D("33.33")), (4, "fixed", D("33.34")),
                             (6, "fixed", D("33.33"))]
    assert calc.lines[0].fixed == D("100.00")
    assert calc.lines[0].explanation == ("转介绍成交额 20000.00，档位 10000（含）至 30000（不含）："
                                         "带会协助人 100.00，3 人平分：33.33")


def test_fixed_rules_only_pay_their_deal_kinds():
    calc = run(HOME, [credit("c1", 1, "closer", "20000", kind="new")])
    assert calc.lines == []


# ------------------------------------------------------------------ confiscation

def test_confiscated_credit_earns_nothing_with_the_reason_on_a_zero_line():
    calc = run(HOME, [credit("c1", 1, "closer", "20000", kind="referral", confiscated=True),
                      credit("c2", 2, "lead", "20000", kind="referral"),
                      credit("c3", None, "closer", "20000", kind="referral", confiscated=True)])
    assert results(calc) == [(1, "fixed", D("0.00")), (2, "fixed", D("200.00"))]
    assert calc.lines[0].explanation == "业绩已充公：无提成"


# ------------------------------------------------------------------ refunds

def test_a_refund_reverses_every_line_of_the_deal_in_proportion():
    events = [credit("c1", 1, "consultant", "100000", kind="renewal", days=45),
              credit("c2", 2, "advisor", "100000", kind="renewal", days=45)]
    calc = run(EDUCATION, events, refunds=[RefundEvent("rf1", 1, D("30000"), date(2024, 3, 20))])
    assert results(calc) == [(1, "pool", D("1050.00")), (2, "pool", D("450.00")),
                             (1, "pool", D("-315.00")), (2, "pool", D("-135.00"))]
    reversal = calc.lines[2]
    assert (reversal.ref, reversal.adjusts, reversal.deal_id, reversal.rule_index) == (
        "rf1", "rf1", 1, 0)
    assert reversal.explanation == ("成交 1 退款 30000.00（退款前剩余 100000.00）："
                                    "冲回本明细 1050.00 的 30% = -315.00")


def test_successive_refunds_of_a_prior_month_bring_the_lines_to_exactly_zero():
    prior = {1: PriorDeal(1, D("100000"), (
        PriorLine(1, 1, "fixed", 0, "转介绍签单奖励", 3, D("33.34")),
        PriorLine(2, 1, "fixed", 0, "转介绍签单奖励", 3, D("33.33")),
        PriorLine(3, 1, "staff_referral", 1, "员工转介绍提成", 3, D("0.01"))))}
    refunds = [RefundEvent("a", 1, D("33333.33"), date(2024, 3, 2)),
               RefundEvent("b", 1, D("33333.33"), date(2024, 3, 9)),
               RefundEvent("c", 1, D("33333.34"), date(2024, 3, 19))]
    calc = run(HOME, refunds=refunds, prior=prior)
    per_staff = {}
    for line in calc.lines:
        assert line.cents <= 0 and line.version == 3 and line.adjusts
        per_staff[line.staff_id] = per_staff.get(line.staff_id, 0) + line.cents
    assert per_staff == {1: -3334, 2: -3333, 3: -1}      # exactly what the lines held
    assert calc.warnings == []


def test_a_refund_never_takes_back_more_than_the_deal_holds():
    prior = {1: PriorDeal(1, D("1000"), (PriorLine(1, 1, "rate", 0, "x", 1, D("10.00")),))}
    calc = run(HOME, refunds=[RefundEvent("rf", 1, D("5000"), date(2024, 3, 2))], prior=prior)
    assert results(calc) == [(1, "rate", D("-10.00"))]
    assert calc.warnings == ["rf：退款 5000.00 超过成交 1 的剩余金额（1000.00）：剩余部分全部冲回。"]


def test_a_refund_of_an_unknown_deal_is_a_warning():
    calc = run(HOME, refunds=[RefundEvent("rf", 42, D("10"), date(2024, 3, 2))])
    assert calc.lines == [] and calc.warnings == ["rf：成交 42 没有可冲回的提成明细。"]


# ------------------------------------------------------------------ summary, versions, order

def test_summary_totals_equal_the_sum_of_lines():
    events = [credit(f"c{i}", 1 + i % 3, ("closer", "lead", "assistant")[i % 3],
                     str(1000 + 997 * i), kind="referral", deal=i // 3) for i in range(60)]
    calc = run(HOME, events, people=[PersonFacts(1, 1, D("300")), PersonFacts(9, 2, D("5000"))],
               refunds=[RefundEvent("rf", 4, D("500"), date(2024, 3, 30))])
    assert [p.staff_id for p in calc.people] == [1, 2, 3, 9]
    for person in calc.people:
        mine = [line for line in calc.lines if line.staff_id == person.staff_id]
        assert person.total == sum((line.result for line in mine), D("0.00"))
        assert person.total == (person.commissions + person.bonuses + person.penalties
                                + person.adjustments + person.cap)
        assert person.lines == len(mine)
    one = calc.people[0]
    assert one.cap < 0 and one.adjustments < 0 and one.base_salary == D("300")
    assert calc.people[3].total == D("0.00") and calc.people[3].lines == 0


def test_each_event_uses_the_version_in_force_on_its_day():
    book = RuleBook([
        RuleVersion(date(2024, 1, 1), 1, rate_rules()),
        RuleVersion(date(2024, 3, 15), 2, {"rules": [{"kind": "rate", "bands": [
            {"percent": "5"}]}]}),
    ])
    calc = calculate(MonthInputs(month=MARCH, credits=[
        credit("c1", 1, "closer", "1000", "1000", on=date(2024, 3, 14)),
        credit("c2", 1, "closer", "1000", "1000", on=date(2024, 3, 15)),
        credit("c3", 1, "closer", "1000", "1000", on=date(2023, 12, 31))]), book)
    assert [(line.version, line.result) for line in calc.lines] == [(1, D("10.00")),
                                                                    (2, D("50.00"))]
    assert calc.warnings == ["2023-12-31 没有生效的提成规则（c3）：不计提成。"]


def test_same_input_same_output_in_the_same_order():
    events = [credit(f"c{i}", 1 + i % 4, ("closer", "lead", "assistant", "closer")[i % 4],
                     str(5000 + 1234 * i), kind="referral", deal=i // 4) for i in range(40)]
    first = run(HOME, events)
    second = run(HOME, list(events))
    assert first.lines == second.lines and first.people == second.people


def test_impossible_facts_are_refused():
    with pytest.raises(ValueError):
        run(rate_rules(), [credit("c1", 1, "closer", "-1", "0")])
    with pytest.raises(ValueError):
        run(EDUCATION, [credit("c1", 1, "consultant", "10", kind="renewal", days=-1)])
    with pytest.raises(ValueError):
        run(HOME, refunds=[RefundEvent("rf", 1, D("0"), date(2024, 3, 2))])


def test_money_text():
    assert [money(c) for c in (0, 5, 105, -105, 123456)] == ["0.00", "0.05", "1.05", "-1.05",
                                                             "1234.56"]
