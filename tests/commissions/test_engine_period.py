"""The month-level rules of the engine: the monthly cap, the count bonus, quarterly rankings
with ties (people and teams), the retention bonus and penalties (DOMAIN.md §6 numbers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.commissions.engine import (
    MonthInputs,
    PenaltyEvent,
    PersonFacts,
    RetentionEvent,
    StaffReferralEvent,
    calculate,
)
from apps.commissions.presets import HOME
from tests.commissions.test_engine import credit, results

D = Decimal
MARCH = date(2024, 3, 1)          # a quarter's last month: quarterly rankings are paid
FEBRUARY = date(2024, 2, 1)


def run(month=MARCH, rules=HOME, **kw):
    return calculate(MonthInputs(month=month, **kw), rules)


# ------------------------------------------------------------------ the cap

def referral_deals(staff, count, amount="60000"):
    return [credit(f"d{staff}-{i}", staff, "closer", amount, kind="referral", deal=staff * 100 + i)
            for i in range(count)]


@pytest.mark.parametrize("deals, salary, cap_line", [
    (3, "4000", None),              # 1 200 ≤ 50 % of 4 000
    (5, "4000", "0.00"),            # 2 000 = the cap exactly: no cap line
    (6, "4000", "-400.00"),         # 2 400 → cut to 2 000
])
def test_monthly_cap_is_half_the_base_salary(deals, salary, cap_line):
    calc = run(credits=referral_deals(1, deals), people=[PersonFacts(1, 1, D(salary))])
    caps = [line for line in calc.lines if line.kind == "cap"]
    if cap_line in (None, "0.00"):
        assert caps == []
    else:
        assert [c.result for c in caps] == [D(cap_line)]
        assert (caps[0].base, caps[0].fixed, caps[0].rate) == (D("2400.00"), D("2000.00"),
                                                               D("50"))
        assert caps[0].explanation == ("月度封顶：底薪 4000.00 的 50% = 2000.00；封顶项目合计 "
                                       "2400.00：-400.00")
    assert calc.people[0].total == min(D(400) * deals, D(2000))
    assert calc.people[0].cap == (D(cap_line) if cap_line else D("0.00"))


def test_the_cap_leaves_uncapped_kinds_and_penalties_alone():
    calc = run(credits=referral_deals(1, 6), people=[PersonFacts(1, 1, D("4000"))],
               ranking_people={1: D(9)},
               penalties=[PenaltyEvent("p1", 1, 1, "missed_follow_up", date(2024, 3, 3))])
    person = calc.people[0]
    assert (person.commissions, person.cap, person.bonuses, person.penalties) == (
        D("2400.00"), D("-400.00"), D("5000.00"), D("-50.00"))
    assert person.total == D("6950.00")


def test_without_a_base_salary_the_cap_is_not_applied_and_a_warning_says_so():
    calc = run(credits=referral_deals(1, 6))
    assert [line.kind for line in calc.lines] == ["fixed"] * 6
    assert calc.warnings == ["员工 1 没有底薪：不适用月度封顶。"]


# ------------------------------------------------------------------ count bonus

@pytest.mark.parametrize("count, bonus", [(9, None), (10, "3000.00"), (25, "3000.00")])
def test_count_bonus_from_ten_referrals_in_a_month(count, bonus):
    calc = run(referral_counts={4: count}, people=[PersonFacts(4, 2, D("100000"))])
    if bonus is None:
        assert calc.lines == []
    else:
        assert results(calc) == [(4, "count_bonus", D(bonus))]
        assert calc.lines[0].team_id == 2 and calc.lines[0].ref == "referrals:2024-03"
        assert calc.lines[0].explanation == f"本月成功转介绍 {count} 次（达到 10 次）：3000.00"


# ------------------------------------------------------------------ ranking

def ranking(calc):
    return [(line.staff_id, line.result) for line in calc.lines if line.kind == "ranking"]


def test_quarterly_top_three_people():
    calc = run(ranking_people={1: D(5), 2: D(9), 3: D(7), 4: D(1), 5: D(0)})
    assert ranking(calc) == [(2, D("5000.00")), (3, D("3000.00")), (1, D("1000.00"))]
    assert calc.lines[0].explanation == "2024-Q1 排名：第 1 名（9）：5000.00"


def test_quarterly_prizes_are_only_paid_in_the_quarters_last_month():
    assert run(month=FEBRUARY, ranking_people={1: D(5)}).lines == []


@pytest.mark.parametrize("metrics, expected", [
    # two tied first share 5 000 + 3 000; the next is third
    ({1: D(9), 2: D(9), 3: D(7), 4: D(6)},
     [(1, "4000.00"), (2, "4000.00"), (3, "1000.00")]),
    # three tied second share 3 000 + 1 000 (+ nothing for a 4th rank): spare cent to id 1
    ({1: D(8), 2: D(8), 3: D(8), 4: D(9)},
     [(4, "5000.00"), (1, "1333.34"), (2, "1333.33"), (3, "1333.33")]),
    # four tied first share all three prizes
    ({1: D(3), 2: D(3), 3: D(3), 4: D(3)},
     [(1, "2250.00"), (2, "2250.00"), (3, "2250.00"), (4, "2250.00")]),
])
def test_ties_share_the_prizes_of_the_ranks_they_occupy(metrics, expected):
    calc = run(ranking_people=metrics)
    assert ranking(calc) == [(s, D(v)) for s, v in expected]
    assert sum(v for _s, v in ranking(calc)) == D("9000.00")


def test_tied_lines_say_so_in_chinese():
    calc = run(ranking_people={1: D(9), 2: D(9)})
    assert calc.lines[0].explanation == "2024-Q1 排名：2 人并列第 1–2 名（9），平分 8000.00：4000.00"


def test_team_prizes_are_shared_by_the_team_members():
    people = [PersonFacts(1, 10, D(0)), PersonFacts(2, 10, D(0)), PersonFacts(3, 10, D(0)),
              PersonFacts(4, 20, D(0)), PersonFacts(5, 30, D(0))]
    calc = run(people=people, ranking_teams={10: D(30), 20: D(30), 30: D(10), 40: D(5)})
    # teams 10 and 20 tie first: 15 000 → 7 500 each; team 30 third: 3 000; team 40 has no
    # members (fourth anyway: no prize)
    assert ranking(calc) == [(1, D("2500.00")), (2, D("2500.00")), (3, D("2500.00")),
                             (4, D("7500.00")), (5, D("3000.00"))]
    assert [line.team_id for line in calc.lines] == [10, 10, 10, 20, 30]
    assert calc.lines[0].explanation == ("2024-Q1 团队排名：团队第 1–2 名（30），奖金 7500.00 由 3 "
                                         "名成员平分：2500.00")


def test_a_winning_team_without_members_is_a_warning():
    calc = run(people=[PersonFacts(1, 10, D(0))], ranking_teams={99: D(5), 10: D(1)})
    assert ranking(calc) == [(1, D("5000.00"))]
    assert calc.warnings == ["团队 99 获得排名奖 10000.00，但本月没有成员：不发放。"]


# ------------------------------------------------------------------ retention

def retention(ref, purchase_on, customer=7, first="12345.67"):
    return RetentionEvent(ref, 1, 1, customer, D(first), date(2023, 11, 30), purchase_on)


@pytest.mark.parametrize("purchase_on, paid", [
    (date(2024, 2, 28), False),
    (date(2024, 2, 29), True),          # 30 Nov + 3 months = 29 Feb (the month's last day)
    (date(2024, 3, 20), True),
])
def test_retention_bonus_two_percent_of_the_first_purchase_after_three_months(purchase_on,
                                                                              paid):
    calc = run(retention=[retention("r1", purchase_on)])
    assert results(calc) == ([(1, "retention", D("246.91"))] if paid else [])


def test_retention_is_paid_once_per_customer():
    calc = run(retention=[retention("r1", date(2024, 3, 2)), retention("r2", date(2024, 3, 9)),
                          retention("r3", date(2024, 3, 9), customer=8, first="100")])
    assert results(calc) == [(1, "retention", D("246.91")), (1, "retention", D("2.00"))]
    assert calc.lines[1].explanation == ("被推荐客户 2024-03-09 仍在购买，距 2023-11-30 首次购买 100.00 "
                                         "已满 3 个月：2% = 2.00")


# ------------------------------------------------------------------ penalties

def test_penalties_deduct_the_rules_amount_or_the_events_own():
    calc = run(penalties=[
        PenaltyEvent("p1", 1, 1, "missed_follow_up", date(2024, 3, 3)),
        PenaltyEvent("p2", 1, 1, "missed_follow_up", date(2024, 3, 4), D("80"), "客户投诉"),
        PenaltyEvent("p3", 2, 1, "late_report", date(2024, 3, 4))])
    assert results(calc) == [(1, "penalty", D("-50.00")), (1, "penalty", D("-80.00"))]
    assert calc.lines[0].explanation == "扣罚“回访未按时完成”：-50.00"
    assert calc.lines[1].explanation == "扣罚“回访未按时完成”：-80.00 (客户投诉)"
    assert calc.warnings == ["p3：没有代码为“late_report”的扣罚规则：不扣款。"]
    assert calc.people[0].penalties == D("-130.00")
    with pytest.raises(ValueError):
        run(penalties=[PenaltyEvent("p", 1, 1, "missed_follow_up", date(2024, 3, 3), D("-1"))])


def test_everything_in_one_month_in_a_fixed_order():
    calc = run(credits=referral_deals(1, 1), people=[PersonFacts(1, 1, D("100"))],
               staff_referrals=[StaffReferralEvent("s1", 1, 1, 5, D("1000"), date(2024, 3, 1))],
               referral_counts={1: 10}, ranking_people={1: D(1)},
               retention=[retention("r1", date(2024, 3, 2))],
               penalties=[PenaltyEvent("p1", 1, 1, "missed_follow_up", date(2024, 3, 3))])
    assert [line.kind for line in calc.lines] == ["fixed", "retention", "count_bonus",
                                                  "ranking", "penalty", "cap"]
    person = calc.people[0]
    # capped kinds: 400 + 246.91 + 3 000 = 3 646.91 over a 50.00 cap
    assert person.cap == D("-3596.91")
    assert person.total == D("50.00") + D("5000.00") - D("50.00")
