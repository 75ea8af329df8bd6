"""The referrer reward policy and its calculation (pure): the worked numbers of DOMAIN.md §3."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.referrals.reward_presets import EDUCATION, FRANCHISE, HOME, PRESETS, preset_for_industry
from apps.referrals.rewards import (
    ValidationError,
    describe_reward_errors,
    describe_reward_rules,
    override_reward,
    parse_reward_rules,
    referral_reward,
    refund_action,
)

D = Decimal
EDU = parse_reward_rules(EDUCATION)
HOMER = parse_reward_rules(HOME)
FR = parse_reward_rules(FRANCHISE)


def reward(rules, amount, ordinal=1, before=0):
    return referral_reward(rules, deal_amount=D(amount), ordinal=ordinal, successful_before=before)


@pytest.mark.parametrize("amount, percent, value", [
    ("999.99", None, "0.00"),          # under the first band: nothing
    ("1000", "5", "50.00"),            # lower bound included
    ("4999.99", "5", "250.00"),        # 249.9995 → 250.00 half-up
    ("5000", "8", "400.00"),           # edge: 5 000 exactly is in the 8 % band
    ("9999.99", "8", "800.00"),
    ("10000", "10", "1000.00"),        # edge: 10 000 exactly is "over 10 000"
    ("123456.78", "10", "12345.68"),
])
def test_first_band_table_lower_bound_inclusive(amount, percent, value):
    r = reward(EDU, amount)
    assert r.percent == (D(percent) if percent else None)
    assert r.percent_amount == D(value)


@pytest.mark.parametrize("amount, percent, value", [
    ("0", "5", "0.00"),
    ("5000", "5", "250.00"),
    ("10000", "5", "500.00"),          # 1万元(含)以下 → 5 %
    ("10000.01", "7", "700.00"),       # 700.0007 → 700.00
    ("50000", "7", "3500.00"),         # 5万(含) → 7 %
    ("50000.01", "10", "5000.00"),
    ("100000", "10", "10000.00"),
    ("100000.01", "15", "15000.00"),
    ("200000", "15", "30000.00"),
])
def test_second_band_table_upper_bound_inclusive(amount, percent, value):
    r = reward(HOMER, amount)
    assert r.percent == D(percent)
    assert r.percent_amount == D(value)
    assert r.total == D(value)


def test_the_second_table_with_lower_edges_moves_the_edge_amounts_up():
    rules = parse_reward_rules({**HOME, "percent_bands": {**HOME["percent_bands"],
                                                          "edges": "lower"}})
    assert reward(rules, "10000").percent == D("7")
    assert reward(rules, "9999.99").percent == D("5")
    assert reward(rules, "100000").percent == D("15")


@pytest.mark.parametrize("ordinal, cash, override", [
    (1, "4000.00", "2"), (3, "4000.00", "2"), (4, "5000.00", "2.5"), (6, "5000.00", "2.5"),
    (7, "6000.00", "3"), (25, "6000.00", "3"),
])
def test_cash_by_referral_ordinal(ordinal, cash, override):
    r = reward(FR, "8000", ordinal=ordinal, before=ordinal - 1)
    assert r.cash == D(cash)
    assert r.override_percent == D(override)
    assert r.total == D(cash)
    assert r.inputs["ordinal"] == ordinal


@pytest.mark.parametrize("ordinal, purchase, value", [
    (2, "20000", "400.00"),       # 2 % of 20 000
    (3, "20000", "400.00"),
    (4, "20000", "500.00"),       # 2.5 %
    (7, "20000", "600.00"),       # 3 %
    (7, "333.33", "10.00"),       # 9.9999 → 10.00
    (5, "0.2", "0.01"),           # 0.005 → 0.01 half-up
    (1, "-1000", "-20.00"),       # a refunded later purchase takes its override back
])
def test_override_on_a_later_purchase(ordinal, purchase, value):
    assert override_reward(FR, ordinal=ordinal, purchase_amount=D(purchase)) == D(value)


def test_no_override_without_ordinal_tiers():
    assert override_reward(EDU, ordinal=3, purchase_amount=D("20000")) == D("0.00")


def test_seed_002_year_one_numbers():
    """Three franchisees buying 20 000 a month for a year: 12 000 cash + 14 400 override."""
    cash = sum(reward(FR, "0", ordinal=n, before=n - 1).cash for n in (1, 2, 3))
    override = sum(override_reward(FR, ordinal=n, purchase_amount=D("20000"))
                   for n in (1, 2, 3) for _month in range(12))
    assert cash == D("12000.00") and override == D("14400.00")


@pytest.mark.parametrize("before, bonus", [(0, "0.00"), (8, "0.00"), (9, "3000.00"),
                                           (10, "0.00"), (11, "0.00")])
def test_count_bonus_once_at_the_tenth_success(before, bonus):
    r = reward(EDU, "2000", ordinal=before + 1, before=before)
    assert r.count_bonus == D(bonus)
    assert r.total == D("100.00") + D(bonus)
    assert r.points == 10


def test_count_bonus_over_a_run_of_referrals_is_paid_once():
    bonuses = [reward(EDU, "2000", ordinal=n, before=n - 1).count_bonus for n in range(1, 21)]
    assert sum(bonuses) == D("3000.00")
    assert bonuses.index(D("3000.00")) == 9


@pytest.mark.parametrize("amount, gift", [
    ("9999.99", ""), ("10000", "U盘"), ("29999.99", "U盘"), ("30000", "纪念册"),
    ("49999.99", "纪念册"), ("50000", "纪念册 + U盘"), ("1000000", "纪念册 + U盘"),
])
def test_gifts_by_band(amount, gift):
    assert reward(FR, amount).gift == gift


def test_gift_bands_may_leave_gaps():
    rules = parse_reward_rules({"gift_bands": {"bands": [
        {"min": "10000", "max": "30000", "gift": "U盘"},
        {"min": "40000", "max": "50000", "gift": "相册"}]}})
    assert reward(rules, "35000").gift == ""
    assert reward(rules, "45000").gift == "相册"


def test_everything_combined_adds_up_with_explanations_and_inputs():
    rules = parse_reward_rules({**EDUCATION, **{k: v for k, v in FRANCHISE.items()
                                                if k != "keep_after_refund"}})
    r = reward(rules, "12000", ordinal=4, before=9)
    assert (r.percent_amount, r.cash, r.count_bonus) == (D("1200.00"), D("5000.00"),
                                                         D("3000.00"))
    assert r.total == D("9200.00")
    assert r.gift == "U盘" and r.points == 10
    assert r.inputs == {"deal_amount": "12000.00", "ordinal": 4, "successful_before": 9,
                        "band": r.inputs["band"], "tier": 2}
    text = "\n".join(r.explanation)
    assert "12000.00" in text and "1200.00" in text and "5000.00" in text and "3000.00" in text
    assert "U盘" in text


def test_explanations_are_chinese():
    r = reward(EDU, "5000", ordinal=10, before=9)
    assert r.explanation[0] == "成交额 5000.00，档位 5000（含）至 10000（不含）：8% = 400.00"
    assert any("一次性" in line for line in r.explanation)


def test_empty_policy_gives_nothing():
    r = reward(parse_reward_rules({}), "5000")
    assert r.total == D("0.00") and r.gift == "" and r.points == 0
    assert r.explanation == ["政策对这次转介绍不给奖励。"]


def test_bad_call_arguments():
    with pytest.raises(ValueError):
        reward(EDU, "-1")
    with pytest.raises(ValueError):
        reward(EDU, "10", ordinal=0)
    with pytest.raises(ValueError):
        reward(EDU, "10", before=-1)
    with pytest.raises(ValueError):
        override_reward(FR, ordinal=0, purchase_amount=D(1))


@pytest.mark.parametrize("status, keep, action", [
    ("converted", False, "void"), ("reward_pending", True, "void"), ("approved", False, "void"),
    ("paid", False, "clawback"), ("paid", True, "keep"), ("rejected", False, "nothing"),
    ("reversed", False, "nothing"),
])
def test_refund_action(status, keep, action):
    rules = parse_reward_rules({"keep_after_refund": keep})
    assert refund_action(rules, status=status) == action


def test_presets_are_valid_and_by_industry():
    for data in PRESETS.values():
        parse_reward_rules(data)
    assert preset_for_industry("education") == "education"
    assert preset_for_industry("home_furnishing") == "home"
    assert preset_for_industry(None) == "home"


def test_round_trip_of_stored_data():
    for data in PRESETS.values():
        rules = parse_reward_rules(data)
        assert parse_reward_rules(rules.as_data()) == rules


# --------------------------------------------------------------------------- validation

def errors(data) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        parse_reward_rules(data)
    return describe_reward_errors(exc.value)


def test_overlapping_bands_are_refused():
    msgs = errors({"percent_bands": {"bands": [{"min": "1000", "max": "5000", "percent": "5"},
                                               {"min": "4000", "max": "9000", "percent": "8"}]}})
    assert msgs == ["按金额比例：第 2 档与第 1 档重叠："
                    "请从最低金额起列出各档，每档从上一档结束处或之后开始。"]


def test_a_hole_between_percentage_bands_is_refused():
    msgs = errors({"percent_bands": {"bands": [{"min": "1000", "max": "5000", "percent": "5"},
                                               {"min": "6000", "percent": "8"}]}})
    assert msgs == ["按金额比例：第 1 档（至 5000）与第 2 档（自 6000）之间有空缺："
                    "每档必须从上一档结束处开始。"]


@pytest.mark.parametrize("data, expected", [
    ({"percent_bands": {"bands": [{"min": "1000", "max": "5000", "percent": "101"}]}},
     "按金额比例 › 第 1 档 › percent：最多 100。"),
    ({"percent_bands": {"bands": [{"min": "1000", "max": "5000", "percent": "-1"}]}},
     "按金额比例 › 第 1 档 › percent：至少 0。"),
    ({"percent_bands": {"bands": [{"min": "5000", "max": "1000", "percent": "5"}]}},
     "按金额比例 › 第 1 档：上限（max）必须大于下限（min）。"),
    ({"percent_bands": {"bands": [{"min": "1000", "percent": "5"},
                                  {"min": "5000", "percent": "8"}]}},
     "按金额比例：第 1 档：只有最后一档可以不写上限（max）。"),
    ({"percent_bands": {"edges": "middle", "bands": [{"percent": "5"}]}},
     "按金额比例 › edges：必须是以下之一：'lower', 'upper'。"),
    ({"percent_bands": {"bands": []}}, "按金额比例 › bands：至少要有 1 项。"),
    ({"ordinal_tiers": [{"from": 2, "cash": "4000"}]},
     "按转介绍次序的现金：首个次序档必须从第 1 次转介绍开始（“from”: 1）。"),
    ({"ordinal_tiers": [{"from": 1, "cash": "4000"}, {"from": 4, "cash": "5000"},
                        {"from": 4, "cash": "6000"}]},
     "按转介绍次序的现金：第 3 个次序档必须在第 2 档之后开始（“from”必须递增）。"),
    ({"ordinal_tiers": [{"from": 1, "cash": "4000", "override_percent": "200"}]},
     "按转介绍次序的现金 › 第 1 档 › override_percent：最多 100。"),
    ({"count_bonus": {"threshold": 0, "amount": "3000"}},
     "次数奖励 › threshold：至少 1。"),
    ({"points": "many"}, "每次转介绍积分：必须是整数。"),
    ({"keep": True}, "keep：不认识的键。"),
    ({"gift_bands": {"bands": [{"min": "10000", "max": "30000", "gift": ""}]}},
     "按金额档赠礼 › 第 1 档 › gift：必须填写。"),
])
def test_validation_messages_say_where_in_chinese(data, expected):
    assert expected in errors(data)


def test_describe_rules_reads_both_edge_kinds():
    edu = dict(describe_reward_rules(EDU))
    assert edu["按金额比例"] == ["成交额 1000（含）至 5000（不含）：成交额的 5%",
                             "成交额 5000（含）至 10000（不含）：成交额的 8%",
                             "成交额 10000 及以上：成交额的 10%"]
    home = dict(describe_reward_rules(HOMER))
    assert home["按金额比例"][0] == "成交额 10000 以内（含）：成交额的 5%"
    assert home["按金额比例"][1] == "成交额 超过 10000 至 50000（含）：成交额的 7%"
    fr = dict(describe_reward_rules(FR))
    assert fr["按转介绍次序的现金"][0] == "第 1–3 次：每次 4000，另加被介绍客户后续消费的 2%"
    assert fr["按转介绍次序的现金"][2] == "第 7 次起：每次 6000，另加被介绍客户后续消费的 3%"
