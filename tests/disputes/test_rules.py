"""apps.disputes.rules: the state machine table, who may act, the split checks, the default
rules (pure: no database)."""

from decimal import Decimal

import pytest
from django.utils import translation

from apps.disputes import rules

ALL_STATUSES = ("open", "proposed", "approved", "decided", "escalated", "withdrawn")


def test_transition_table_is_the_documented_state_machine():
    assert rules.TRANSITIONS == {
        "propose": {"open": "proposed"},
        "reject": {"proposed": "open"},
        "approve": {"proposed": "approved"},
        "decide": {"open": "decided", "proposed": "decided", "escalated": "decided"},
        "escalate": {"open": "escalated", "proposed": "escalated"},
        "withdraw": {"open": "withdrawn", "proposed": "withdrawn"},
    }


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("action", list(rules.TRANSITIONS))
def test_transition_error_only_outside_the_table(action, status):
    error = rules.transition_error(action, status)
    assert (error is None) == (status in rules.TRANSITIONS[action])


def test_closed_dispute_messages_in_chinese():
    with translation.override("zh-hans"):
        assert str(rules.transition_error("decide", "decided")) == "此撞单已处理（已裁决），不能再次裁决。"
        assert str(rules.transition_error("decide", "approved")) == "此撞单已处理（已批准），不能再次裁决。"
        assert str(rules.transition_error("approve", "open")) == "双方尚未提议分配方案，无可批准。"
        assert str(rules.transition_error("escalate", "escalated")) == "此撞单已上报公司。"


@pytest.mark.parametrize(("action", "status", "relations", "allowed"), [
    ("propose", "open", {"owner"}, True),
    ("propose", "open", {"claimant"}, True),
    ("propose", "open", {"manager"}, False),
    ("reject", "proposed", {"owner", "proposer"}, False),
    ("reject", "proposed", {"claimant"}, True),
    ("reject", "proposed", {"manager"}, False),
    ("approve", "proposed", {"manager"}, True),
    ("approve", "proposed", {"admin"}, True),
    ("approve", "proposed", {"owner"}, False),
    ("decide", "open", {"manager"}, True),
    ("decide", "proposed", {"manager"}, True),
    ("decide", "escalated", {"manager"}, False),
    ("decide", "escalated", {"admin"}, True),
    ("decide", "open", {"claimant"}, False),
    ("escalate", "open", {"owner"}, True),
    ("escalate", "proposed", {"manager"}, True),
    ("escalate", "open", {"admin"}, False),
    ("withdraw", "open", {"claimant"}, True),
    ("withdraw", "open", {"owner"}, False),
    ("withdraw", "open", {"manager"}, False),
    ("evidence", "escalated", {"owner"}, True),
    ("evidence", "open", set(), False),
])
def test_who_may_act(action, status, relations, allowed):
    assert rules.may(action, status, frozenset(relations)) is allowed


def test_manager_refused_an_escalated_decision_with_the_reason():
    with translation.override("zh-hans"):
        assert str(rules.role_error("decide", "escalated", {"manager"})) == \
            "此撞单已上报公司，只有管理员可以裁决。"


@pytest.mark.parametrize(("shares", "message"), [
    ({"owner": 60, "claimant": 30}, "各方比例之和必须正好是 100%（现在是 90%）。"),
    ({"owner": "50.5", "claimant": "50"}, "各方比例之和必须正好是 100%（现在是 100.5%）。"),
    ({"owner": -10, "claimant": 110}, "比例不能为负数。"),
    ({"owner": 50, "claimant": 25, "other": 25}, "只有撞单双方可以分配业绩。"),
    ({"owner": "abc"}, "比例必须是最多两位小数的百分数。"),
    ({"owner": "33.333", "claimant": "66.667"}, "比例必须是最多两位小数的百分数。"),
])
def test_bad_splits(shares, message):
    with translation.override("zh-hans"):
        assert message in [str(m) for m in rules.split_errors(shares)]


@pytest.mark.parametrize("shares", [
    {"owner": 100}, {"owner": 0, "claimant": 100}, {"owner": "33.33", "claimant": "66.67"},
    {"owner": Decimal("20"), "claimant": Decimal("80")}, {"owner": 50.5, "claimant": 49.5},
])
def test_good_splits(shares):
    assert rules.split_errors(shares) == []


@pytest.mark.parametrize(("code", "params", "outcome", "shares", "record"), [
    ("relatives_first_visit", {}, "award_owner", {"owner": 100, "claimant": 0}, "owner"),
    ("relatives_after_deal", {}, "split", {"owner": 50, "claimant": 50}, "owner"),
    ("complaint_reassigned", {}, "split", {"owner": 20, "claimant": 80}, "owner"),
    ("group_purchase", {"units": 5}, "split", {"owner": 50, "claimant": 50}, "owner"),
    ("earlier_old_customer_deal", {"winner": "claimant"}, "award_claimant",
     {"owner": 0, "claimant": 100}, "claimant"),
    ("earlier_old_customer_deal", {"winner": "owner"}, "award_owner",
     {"owner": 100, "claimant": 0}, "owner"),
    ("named_salesperson", {"winner": "claimant"}, "award_claimant",
     {"owner": 0, "claimant": 100}, "claimant"),
    ("revisit_30_days", {"revisit": "within"}, "award_owner", {"owner": 100, "claimant": 0},
     "owner"),
    ("revisit_30_days", {"revisit": "after"}, "award_claimant", {"owner": 0, "claimant": 100},
     "claimant"),
])
def test_default_rules_decide(code, params, outcome, shares, record):
    decision, errors = rules.rule_decision(code, params)
    assert errors == {}
    assert decision.outcome == outcome
    assert decision.shares == {k: Decimal(v) for k, v in shares.items()}
    assert decision.record_owner == record


def test_contact_evidence_rule_needs_evidence():
    with translation.override("zh-hans"):
        decision, errors = rules.rule_decision("contact_evidence", {}, evidence_count=0)
        assert decision is None
        assert [str(m) for m in errors["rule"]] == ["此规则需要原置业顾问的联系证据：请先上传证据。"]
    decision, errors = rules.rule_decision("contact_evidence", {}, evidence_count=1)
    assert decision.shares == {"owner": Decimal("50"), "claimant": Decimal("50")}


@pytest.mark.parametrize(("code", "params", "field", "message"), [
    ("group_purchase", {"units": 4}, "units", "团购需至少 5 套（填写的是 4 套）。"),
    ("group_purchase", {}, "units", "请填写购买套数。"),
    ("earlier_old_customer_deal", {}, "winner", "请选择规则支持的置业顾问。"),
    ("named_salesperson", {"winner": "boss"}, "winner", "请选择规则支持的置业顾问。"),
    ("revisit_30_days", {}, "revisit", "请选择第二次来访是否在 30 天内。"),
    ("no_such_rule", {}, "rule", "未知的规则。"),
])
def test_default_rule_parameters_are_checked(code, params, field, message):
    with translation.override("zh-hans"):
        decision, errors = rules.rule_decision(code, params)
        assert decision is None
        assert [str(m) for m in errors[field]] == [message]


def test_every_default_rule_has_a_chinese_label():
    with translation.override("zh-hans"):
        labels = {code: str(rule.label) for code, rule in rules.DEFAULT_RULES.items()}
    assert set(labels) == {"relatives_first_visit", "relatives_after_deal", "contact_evidence",
                           "complaint_reassigned", "group_purchase",
                           "earlier_old_customer_deal", "named_salesperson", "revisit_30_days"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels.values())
