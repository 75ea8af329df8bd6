"""Commission rule sets: the presets are valid, and bad rule sets are refused with readable
Chinese messages (overlapping or gapped bands, negative rates, a cap below zero, shares not
adding up to 100, …)."""

from __future__ import annotations

import pytest

from apps.commissions.presets import EDUCATION, HOME, PRESETS, preset_for_industry
from apps.commissions.rules import (
    ValidationError,
    describe_commission_errors,
    describe_commission_rules,
    parse_commission_rules,
)


def errors(data) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        parse_commission_rules(data)
    return describe_commission_errors(exc.value)


def rate(bands, **extra):
    return {"rules": [{"kind": "rate", "bands": bands, **extra}]}


def test_presets_are_valid_and_round_trip():
    for data in PRESETS.values():
        rules = parse_commission_rules(data)
        assert parse_commission_rules(rules.as_data()) == rules
    assert preset_for_industry("education") == "education"
    assert preset_for_industry("home_furnishing") == "home"


def test_presets_read_as_chinese_sentences():
    edu = describe_commission_rules(parse_commission_rules(EDUCATION))
    assert edu == [
        "1. 续费提成: 成交额的 1.5%; 第 0 至 45 天：咨询师 70%, 学管师 30%; "
        "第 46 天起：咨询师 30%, 学管师 70%",
        "2. 员工转介绍提成: 被推荐成交额的 1.5%",
    ]
    home = describe_commission_rules(parse_commission_rules(HOME))
    assert home[0].startswith("1. 转介绍签单奖励: 低于 10000：签单人 100, 带会主负责人 100, "
                              "带会协助人 50; 10000（含）至 30000（不含）：签单人 200")
    assert home[1] == ("2. 月度封顶: 每月最多底薪的 50%（按金额档和角色的固定奖励, 员工转介绍提成, "
                       "次数奖励, 持续购买奖励）")
    assert home[6] == "7. 回访未按时完成: missed_follow_up: -50"


def test_an_empty_rule_set_is_allowed():
    assert parse_commission_rules({}).rules == ()


@pytest.mark.parametrize("data, expected", [
    (rate([{"max": "5000", "percent": "1"}, {"min": "4000", "percent": "2"}]),
     ["规则 1：第 2 档与第 1 档重叠：请从最低金额起列出各档，每档从上一档结束处或之后开始。"]),
    (rate([{"max": "5000", "percent": "1"}, {"min": "6000", "percent": "2"}]),
     ["规则 1：第 1 档（至 5000）与第 2 档（自 6000）之间有空缺：每档必须从上一档结束处开始。"]),
    (rate([{"max": "5000", "percent": "-1"}, {"min": "5000", "percent": "2"}]),
     ["规则 1 › 第 1 档 › 比例：至少 0。"]),
    (rate([{"percent": "101"}]), ["规则 1 › 第 1 档 › 比例：最多 100。"]),
    (rate([{"min": "1000", "percent": "1"}], method="marginal"),
     ["规则 1：超额累进从 0 开始：第一档不要写下限（min）。"]),
    ({"rules": [{"kind": "cap", "percent_of_base": "-5"}]},
     ["规则 1 › 占底薪比例：至少 0。"]),
    ({"rules": [{"kind": "pool", "percent": "1.5", "windows": [
        {"until_day": 45, "shares": {"consultant": "70", "advisor": "20"}},
        {"shares": {"consultant": "30", "advisor": "70"}}]}]},
     ["规则 1 › 第 1 段：各份合计 90%，不是 100%。"]),
    ({"rules": [{"kind": "pool", "percent": "1.5", "windows": [
        {"until_day": 45, "shares": {"consultant": "100"}},
        {"until_day": 30, "shares": {"consultant": "100"}},
        {"shares": {"advisor": "100"}}]}]},
     ["规则 1：第 2 段必须在第 1 段之后结束（截止天数必须递增）。"]),
    ({"rules": [{"kind": "pool", "percent": "1.5", "windows": [
        {"until_day": 45, "shares": {"consultant": "100"}}]}]},
     ["规则 1：最后一段不要写截止天数（until_day）：它适用于之后的每一天。"]),
    ({"rules": [{"kind": "staff_referral", "percent": "1.5",
                 "bands": [{"percent": "2"}]}]},
     ["规则 1：比例（percent）和金额档（bands）二选一。"]),
    ({"rules": [{"kind": "ranking", "prizes": ["1000", "3000"]}]},
     ["规则 1：第 2 名的奖金高于第 1 名：请从第一名起依次列出奖金。"]),
    ({"rules": [{"kind": "cap", "percent_of_base": "50"},
                {"kind": "cap", "percent_of_base": "40"}]},
     ["月度封顶最多只能有一条。"]),
    ({"rules": [{"kind": "penalty", "code": "late", "amount": "50"},
                {"kind": "penalty", "code": "late", "amount": "20"}]},
     ["有两条扣罚规则的代码都是“late”。"]),
    ({"rules": [{"kind": "penalty", "code": "late", "amount": "0"}]},
     ["规则 1 › 金额：必须大于 0。"]),
    ({"rules": [{"kind": "bonus"}]}, ["规则 1：未知的规则类型“bonus”。"]),
    ({"rules": [{"percent": "1"}]}, ["规则 1：请说明这条规则的类型（“kind”）。"]),
    ({"rules": [{"kind": "count_bonus", "threshold": 10, "amount": "3000", "extra": 1}]},
     ["规则 1 › extra：不认识的键。"]),
    ({"rules": [{"kind": "fixed", "bands": [{"amounts": {"签单": "100"}}]}]},
     ["规则 1 › 第 1 档 › 各角色金额 › 签单 › [key]：必须是角色代码（字母、数字、_ 或 -）。"]),
    (rate([{"percent": "1"}], deal_kinds=["new", "new"]), ["规则 1：成交类型“new”重复列出。"]),
])
def test_bad_rule_sets_are_refused_in_chinese(data, expected):
    assert errors(data) == expected
