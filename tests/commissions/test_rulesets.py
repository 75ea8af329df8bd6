"""Commission rule sets and settings (services and selectors): versions numbered and audited,
refusals listed in Chinese with nothing saved, one version per day also when two admins save at
once, the rule book by day (the industry preset before the first version), the settings."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.commissions import rulesets
from apps.commissions.models import CommissionRuleSet, CommissionSettings
from apps.commissions.presets import HOME, PRESETS
from apps.commissions.rules import CommissionRules, parse_commission_rules
from apps.commissions.rulesets import (
    commission_role_codes,
    commission_rule_set_create,
    commission_settings_for,
    commission_settings_update,
    rule_book_for,
)
from apps.core.models import AuditEntry
from apps.deals.rulesets import deal_role_create, deal_roles_ensure
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Tenant
from tests.concurrency import committed, run_together

PAST = "规则不能从过去的日期生效：请选择今天或以后的日期。"


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def versions(world) -> list[tuple]:
    with world.context():
        return list(CommissionRuleSet.objects.order_by("version")
                    .values_list("version", "effective_from", "name", "preset"))


def audits(world, action: str) -> list[AuditEntry]:
    with world.context():
        return list(AuditEntry.objects.filter(action=action).order_by("id"))


def create(world, actor="admin", **kw):
    kwargs = {"effective_from": tenant_today(world.tenant), "name": "家居默认",
              "preset": "home", **kw}
    return commission_rule_set_create(tenant=world.tenant,
                                      actor=getattr(world, actor) if actor else None, **kwargs)


def rate(bands, **extra) -> dict:
    return {"rules": [{"kind": "rate", "bands": bands, **extra}]}


def set_industry(world, industry: str) -> None:
    Tenant.objects.filter(pk=world.tenant.pk).update(industry=industry)
    world.tenant.refresh_from_db()


# --------------------------------------------------------------------------- creating versions

def test_admin_adds_versions_numbered_audited_stored_as_validated(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    first = create(w, note="按 000 号文件")
    second = create(w, effective_from=today + days(10), name="教育", preset="",
                    rules=copy.deepcopy(PRESETS["education"]))
    assert (first.version, second.version) == (1, 2)
    assert versions(w) == [(1, today, "家居默认", "home"), (2, today + days(10), "教育", "")]
    assert first.created_by_id == w.admin.pk and first.note == "按 000 号文件"
    # Stored as validated, normalised data (numbers as strings, defaults left out).
    assert parse_commission_rules(first.rules) == parse_commission_rules(HOME)
    assert first.rules["rules"][1] == {"kind": "cap", "name": "Monthly cap",
                                       "percent_of_base": "50",
                                       "applies_to": ["fixed", "staff_referral", "count_bonus",
                                                      "retention"]}
    [entry, _] = audits(w, "commissions.rule_set.create")
    assert entry.reason == "按 000 号文件" and entry.actor_id == w.admin.pk
    assert entry.changes["version"] == 1 and entry.changes["preset"] == "home"


def test_rules_as_json_text(world_a):
    row = create(world_a, preset="", rules='{"rules": [{"kind": "rate", "deal_kinds": ["new"], '
                                           '"roles": ["closer"], "bands": [{"percent": "2.5"}]}]}')
    assert row.rules == {"rules": [{"kind": "rate", "deal_kinds": ["new"], "roles": ["closer"],
                                    "bands": [{"percent": "2.5"}]}]}


@pytest.mark.parametrize(("kw", "field", "messages"), [
    ({"rules": rate([{"max": "5000", "percent": "1"}, {"min": "4000", "percent": "2"}])},
     "rules", ["规则 1：第 2 档与第 1 档重叠：请从最低金额起列出各档，每档从上一档结束处或之后开始。"]),
    ({"rules": rate([{"max": "5000", "percent": "1"}, {"min": "6000", "percent": "2"}])},
     "rules", ["规则 1：第 1 档（至 5000）与第 2 档（自 6000）之间有空缺：每档必须从上一档结束处开始。"]),
    ({"rules": rate([{"max": "5000", "percent": "-1"}, {"min": "5000", "percent": "2"}])},
     "rules", ["规则 1 › 第 1 档 › 比例：至少 0。"]),
    ({"rules": {"rules": [{"kind": "cap", "percent_of_base": "-5"}]}}, "rules",
     ["规则 1 › 占底薪比例：至少 0。"]),
    ({"rules": {"rules": [
        {"kind": "rate", "roles": ["closer", "tutor"], "bands": [{"percent": "1"}]},
        {"kind": "pool", "percent": "1", "windows": [{"shares": {"coach": "100"}}]}]}},
     "rules", ["这些角色不存在：tutor, coach。请先在成交角色页面添加，或改正代码。"]),
    ({"rules": '{"rules": '}, "rules", ["这不是有效的 JSON（第 1 行第 10 列：Expecting value）。"]),
    ({"effective_from": "past"}, "effective_from", [PAST]),
    ({"effective_from": None}, "effective_from", ["这个字段是必填项。"]),
    ({"name": " "}, "name", ["这个字段是必填项。"]),
    ({"preset": "banking"}, "preset", ["未知的预设“banking”。"]),
    ({"preset": ""}, "rules", ["请选择预设或填写规则。"]),
])
def test_refusals_are_chinese_field_errors_and_save_nothing(world_a, kw, field, messages):
    w = world_a
    if kw.get("effective_from") == "past":
        kw["effective_from"] = tenant_today(w.tenant) - days(1)
    with pytest.raises(ValidationError) as exc:
        create(w, **kw)
    assert exc.value.message_dict[field] == messages
    assert versions(w) == []
    assert audits(w, "commissions.rule_set.create") == []


def test_one_version_per_day(world_a):
    w = world_a
    day = tenant_today(w.tenant) + days(3)
    create(w, effective_from=day)
    with pytest.raises(ValidationError) as exc:
        create(w, effective_from=day, preset="education")
    assert exc.value.message_dict["effective_from"] == [
        f"{day.isoformat()} 已有一个版本生效：请选择其他日期。"]
    assert [v[0] for v in versions(w)] == [1]


def test_a_role_added_by_the_tenant_can_be_used(world_a):
    w = world_a
    deal_role_create(tenant=w.tenant, actor=w.admin, code="tutor", name="辅导老师")
    row = create(w, preset="", rules=rate([{"percent": "1"}], roles=["tutor"]))
    assert row.rules["rules"][0]["roles"] == ["tutor"]


def test_role_codes_of_every_kind():
    rules = parse_commission_rules({"rules": [
        {"kind": "rate", "roles": ["closer"], "bands": [{"percent": "1"}]},
        {"kind": "fixed", "bands": [{"amounts": {"lead": "1", "closer": "2"}}]},
        {"kind": "pool", "percent": "1", "windows": [
            {"until_day": 3, "shares": {"advisor": "100"}}, {"shares": {"teacher": "100"}}]},
        {"kind": "staff_referral", "percent": "1.5"}]})
    assert commission_role_codes(rules) == ["closer", "lead", "advisor", "teacher"]


@pytest.mark.parametrize("role", ["manager", "sales", "cs", "finance"])
def test_only_admins_add_versions(world_a, role):
    with pytest.raises(PermissionDenied) as exc:
        create(world_a, actor=role)
    assert str(exc.value) == "只有管理员可以修改提成规则。"
    assert versions(world_a) == []


def test_the_system_may_add_a_version_and_tenants_number_apart(world_a, world_b):
    assert create(world_a, actor=None).created_by is None
    create(world_b)
    create(world_b, effective_from=tenant_today(world_b.tenant) + days(1))
    assert [v[0] for v in versions(world_a)] == [1]
    assert [v[0] for v in versions(world_b)] == [1, 2]


@committed
def test_two_admins_saving_at_once_get_distinct_versions_or_a_clear_refusal(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    deal_roles_ensure(w.tenant)
    results = run_together(
        lambda: create(w, effective_from=today, name="甲").version,
        lambda: create(w, effective_from=today, name="乙").version,
        lambda: create(w, effective_from=today + days(1), name="丙").version)
    assert sorted(kind for kind, _ in results) == ["error", "ok", "ok"], results
    [error] = [value for kind, value in results if kind == "error"]
    assert error.message_dict["effective_from"] == [
        f"{today.isoformat()} 已有一个版本生效：请选择其他日期。"]
    assert sorted(v[0] for v in versions(w)) == [1, 2]
    assert sorted(value for kind, value in results if kind == "ok") == [1, 2]


# --------------------------------------------------------------------------- the rule book

def test_rule_book_picks_the_version_by_day(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    create(w, effective_from=today + days(1), name="一", preset="education")
    create(w, effective_from=today + days(10), name="二", preset="",
           rules=rate([{"percent": "3"}]))
    book = rule_book_for(w.tenant)
    # Before the first version: the industry preset (world_a is not education: "home"), v0.
    assert book.at(dt.date(2000, 1, 1)).version == 0
    assert book.at(today).version == 0
    assert book.at(today).rules == rulesets.commission_preset_rules("home")
    assert book.at(today + days(1)).version == 1
    assert book.at(today + days(9)).version == 1
    assert book.at(today + days(10)).version == 2
    assert book.at(today + days(400)).rules.rules[0].bands[0].percent == 3


@pytest.mark.parametrize(("industry", "preset"), [
    (Tenant.Industry.EDUCATION, "education"), (Tenant.Industry.HOME_FURNISHING, "home"),
    (Tenant.Industry.OTHER, "home")])
def test_without_a_version_the_preset_of_the_industry(world_a, industry, preset):
    set_industry(world_a, industry)
    book = rule_book_for(world_a.tenant)
    version = book.at(tenant_today(world_a.tenant))
    assert version.version == 0 and isinstance(version.rules, CommissionRules)
    assert version.rules is rulesets.commission_preset_rules(preset)


def test_the_book_is_built_once_per_process(world_a, django_assert_num_queries):
    w = world_a
    create(w)
    first = rule_book_for(w.tenant)
    with w.context(), django_assert_num_queries(1):   # the list of versions, nothing else
        assert rule_book_for(w.tenant) is first
    create(w, effective_from=tenant_today(w.tenant) + days(2), preset="education")
    with w.context(), django_assert_num_queries(1):   # parsed when it was saved
        second = rule_book_for(w.tenant)
    assert second is not first and second.at(tenant_today(w.tenant) + days(2)).version == 2


def test_stored_rules_that_are_not_valid_are_skipped(world_a):
    w = world_a
    with w.context():
        CommissionRuleSet.objects.create(tenant=w.tenant, version=1, name="坏的",
                                         effective_from=tenant_today(w.tenant),
                                         rules={"rules": [{"kind": "bonus"}]})
    assert rule_book_for(w.tenant).at(tenant_today(w.tenant)).version == 0


# --------------------------------------------------------------------------- settings

def test_settings_are_created_with_the_defaults_once(world_a):
    w = world_a
    row = commission_settings_for(w.tenant)
    assert row.calculation_day == 1 and row.updated_by is None
    assert commission_settings_for(w.tenant).pk == row.pk
    with w.context():
        assert CommissionSettings.objects.count() == 1


def test_admin_changes_the_calculation_day_audited(world_a):
    w = world_a
    row = commission_settings_update(tenant=w.tenant, actor=w.admin, calculation_day=5)
    assert (row.calculation_day, row.updated_by_id) == (5, w.admin.pk)
    assert commission_settings_for(w.tenant).calculation_day == 5
    commission_settings_update(tenant=w.tenant, actor=w.admin, calculation_day=5)  # no change
    [entry] = audits(w, "commissions.settings.update")
    assert entry.changes == {"calculation_day": [1, 5]}


@pytest.mark.parametrize("day", [0, 29, -1, "x", None])
def test_calculation_day_out_of_range_is_refused(world_a, day):
    w = world_a
    with pytest.raises(ValidationError) as exc:
        commission_settings_update(tenant=w.tenant, actor=w.admin, calculation_day=day)
    assert exc.value.message_dict["calculation_day"] == ["请选择 1 到 28 之间的日期。"]
    assert commission_settings_for(w.tenant).calculation_day == 1
    assert audits(w, "commissions.settings.update") == []


@pytest.mark.parametrize("role", ["manager", "finance", "sales", "cs"])
def test_only_admins_change_the_settings(world_a, role):
    w = world_a
    with pytest.raises(PermissionDenied) as exc:
        commission_settings_update(tenant=w.tenant, actor=getattr(w, role), calculation_day=3)
    assert str(exc.value) == "只有管理员可以修改提成设置。"
    assert commission_settings_for(w.tenant).calculation_day == 1


def test_settings_are_per_tenant(world_a, world_b):
    commission_settings_update(tenant=world_a.tenant, actor=world_a.admin, calculation_day=9)
    assert commission_settings_for(world_b.tenant).calculation_day == 1
