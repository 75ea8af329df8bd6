"""Deal roles and credit rule set versions: the services (refusals are Chinese field errors and
save nothing), the version in force on a day, the presets by industry, concurrency."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.deals import rulesets
from apps.deals.engine import RuleSet, parse_rules
from apps.deals.models import CreditRuleSet, DealRole
from apps.deals.rules import DEFAULT_ROLE_CODES, PRESETS
from apps.deals.rulesets import (
    deal_role_create,
    deal_role_update,
    deal_roles,
    deal_roles_ensure,
    rule_set_create,
    rule_set_for,
)
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Tenant
from tests.concurrency import committed, run_together

DEFAULT_NAMES = ["签单人", "带会主负责人", "带会协助人", "咨询师", "任课老师", "学管师", "要号人"]


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def roles_of(world) -> list[tuple]:
    with world.context():
        return list(DealRole.objects.order_by("order", "id").values_list("code", "name", "active"))


def versions(world) -> list[tuple]:
    with world.context():
        return list(CreditRuleSet.objects.order_by("version")
                    .values_list("version", "effective_from", "name", "preset"))


def audits(world, action: str) -> list[AuditEntry]:
    with world.context():
        return list(AuditEntry.objects.filter(action=action).order_by("id"))


def create(world, actor="admin", **kw):
    kwargs = {"effective_from": tenant_today(world.tenant), "name": "教育默认",
              "preset": "education", **kw}
    return rule_set_create(tenant=world.tenant, actor=getattr(world, actor) if actor else None,
                           **kwargs)


def set_industry(world, industry: str) -> None:
    Tenant.objects.filter(pk=world.tenant.pk).update(industry=industry)
    world.tenant.refresh_from_db()


# --------------------------------------------------------------------------- roles

def test_default_roles_are_created_once_in_chinese(world_a):
    roles = deal_roles_ensure(world_a.tenant)
    assert [r.code for r in roles] == list(DEFAULT_ROLE_CODES)
    assert [r.name for r in roles] == DEFAULT_NAMES
    deal_roles_ensure(world_a.tenant)
    assert len(roles_of(world_a)) == 7
    # A tenant that renamed or deactivated a default keeps its choice.
    with world_a.context():
        DealRole.objects.filter(code="advisor").update(name="班主任", active=False)
    deal_roles_ensure(world_a.tenant)
    assert ("advisor", "班主任", False) in roles_of(world_a)
    assert [r.code for r in deal_roles(world_a.tenant, active_only=True)] == [
        "closer", "lead", "assistant", "consultant", "teacher", "number_obtainer"]


def test_admin_adds_a_role_audited(world_a):
    w = world_a
    deal_roles_ensure(w.tenant)
    role = deal_role_create(tenant=w.tenant, actor=w.admin, code="tutor", name="辅导老师", order=55)
    assert roles_of(w)[4:7] == [("teacher", "任课老师", True), ("tutor", "辅导老师", True),
                                ("advisor", "学管师", True)]
    [entry] = audits(w, "deals.role.create")
    assert entry.target_id == role.pk and entry.changes == {"code": "tutor", "name": "辅导老师",
                                                           "order": 55}


@pytest.mark.parametrize(("kw", "field", "message"), [
    ({"code": "closer"}, "code", "已有使用这个代码的角色。"),
    ({"code": "销 售"}, "code", "最多 30 个字母、数字、_ 或 -（不能有空格）。"),
    ({"code": "x" * 31}, "code", "最多 30 个字母、数字、_ 或 -（不能有空格）。"),
    ({"code": ""}, "code", "这个字段是必填项。"),
    ({"name": "  "}, "name", "这个字段是必填项。"),
    ({"name": "长" * 51}, "name", "最多 50 个字符。"),
    ({"order": -1}, "order", "请输入 0 到 32767 之间的整数。"),
])
def test_role_refusals_save_nothing(world_a, kw, field, message):
    deal_roles_ensure(world_a.tenant)
    before = roles_of(world_a)
    with pytest.raises(ValidationError) as exc:
        deal_role_create(tenant=world_a.tenant, actor=world_a.admin,
                         **{"code": "tutor", "name": "辅导老师", "order": 5, **kw})
    assert exc.value.message_dict[field] == [message]
    assert roles_of(world_a) == before
    assert audits(world_a, "deals.role.create") == []


def test_role_rename_deactivate_reactivate(world_a):
    w = world_a
    teacher = next(r for r in deal_roles_ensure(w.tenant) if r.code == "teacher")
    deal_role_update(tenant=w.tenant, actor=w.admin, role=teacher, name="老师", active=False)
    assert ("teacher", "老师", False) in roles_of(w)
    [entry] = audits(w, "deals.role.update")
    assert entry.changes == {"name": ["任课老师", "老师"], "active": [True, False]}
    deal_role_update(tenant=w.tenant, actor=w.admin, role=teacher.pk, active=True)
    assert ("teacher", "老师", True) in roles_of(w)
    # Nothing to change: no audit row.
    deal_role_update(tenant=w.tenant, actor=w.admin, role=teacher.pk, name="老师")
    assert len(audits(w, "deals.role.update")) == 2


@pytest.mark.parametrize("role", ["manager", "sales", "cs", "finance"])
def test_only_admins_change_roles(world_a, role):
    w = world_a
    roles = deal_roles_ensure(w.tenant)
    with pytest.raises(PermissionDenied) as exc:
        deal_role_create(tenant=w.tenant, actor=getattr(w, role), code="tutor", name="辅导")
    assert str(exc.value) == "只有管理员可以修改成交角色。"
    with pytest.raises(PermissionDenied):
        deal_role_update(tenant=w.tenant, actor=getattr(w, role), role=roles[0], active=False)
    assert len(roles_of(w)) == 7 and all(active for _c, _n, active in roles_of(w))


def test_another_tenants_role_cannot_be_changed(world_a, world_b):
    theirs = deal_roles_ensure(world_b.tenant)[0]
    with pytest.raises(DealRole.DoesNotExist):
        deal_role_update(tenant=world_a.tenant, actor=world_a.admin, role=theirs.pk, name="x")
    assert roles_of(world_b)[0] == ("closer", "签单人", True)


@committed
def test_default_roles_created_at_once_by_two_requests(world_a):
    results = run_together(lambda: len(deal_roles_ensure(world_a.tenant)),
                           lambda: len(deal_roles_ensure(world_a.tenant)))
    assert results == [("ok", 7), ("ok", 7)]
    assert len(roles_of(world_a)) == 7


# --------------------------------------------------------------------------- rule sets

def test_admin_adds_versions_numbered_audited_and_in_force_by_day(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    first = create(w, note="按 000 号文件")
    general = copy.deepcopy(PRESETS["general"])
    second = create(w, effective_from=today + days(10), name="通用", preset="", rules=general)
    assert (first.version, second.version) == (1, 2)
    assert versions(w) == [(1, today, "教育默认", "education"),
                           (2, today + days(10), "通用", "")]
    # Stored as validated, normalised data.
    assert first.rules == parse_rules(PRESETS["education"]).model_dump(
        mode="json", by_alias=True, exclude_defaults=True)
    assert first.rules["kinds"]["renewal"]["rules"][0]["percent"] == "50"
    [entry, _] = audits(w, "deals.rule_set.create")
    assert entry.reason == "按 000 号文件" and entry.changes["version"] == 1
    assert entry.changes["preset"] == "education" and entry.actor_id == w.admin.pk

    version, rules = rule_set_for(w.tenant, today)
    assert version == 1 and rules.kind("renewal").fallback == ("consultant", "advisor", "closer")
    assert rule_set_for(w.tenant, today + days(9))[0] == 1
    version, rules = rule_set_for(w.tenant, today + days(10))
    assert version == 2 and rules.kind("new").rules[0].role == "lead"
    assert rule_set_for(w.tenant, today - days(1)) == (None, rulesets.preset_rules("general"))


def test_rules_as_json_text(world_a):
    import json
    row = create(world_a, preset="", rules=json.dumps(PRESETS["general"]))
    assert row.rules["kinds"]["new"]["rules"][0] == {"role": "lead", "percent": "20",
                                                      "label": "Led the meeting: 20%"}


@pytest.mark.parametrize(("industry", "preset"), [
    (Tenant.Industry.EDUCATION, "education"), (Tenant.Industry.HOME_FURNISHING, "general"),
    (Tenant.Industry.OTHER, "general")])
def test_without_a_version_the_preset_of_the_industry(world_a, industry, preset):
    set_industry(world_a, industry)
    version, rules = rule_set_for(world_a.tenant)
    assert version is None and isinstance(rules, RuleSet)
    assert rules is rulesets.preset_rules(preset)


def test_parsed_versions_are_cached_per_process(world_a, django_assert_num_queries):
    w = world_a
    create(w)
    first = rule_set_for(w.tenant)[1]
    with w.context(), django_assert_num_queries(1):   # the version in force, nothing else
        assert rule_set_for(w.tenant)[1] is first


def test_stored_rules_that_are_not_valid_fall_back_to_the_preset(world_a):
    w = world_a
    with w.context():
        CreditRuleSet.objects.create(tenant=w.tenant, version=1, name="坏的",
                                     effective_from=tenant_today(w.tenant), rules={})
    assert rule_set_for(w.tenant) == (None, rulesets.preset_rules("general"))


@pytest.mark.parametrize(("kw", "field", "messages"), [
    ({"effective_from": "past"}, "effective_from",
     ["规则不能从过去的日期生效：请选择今天或以后的日期。"]),
    ({"effective_from": None}, "effective_from", ["这个字段是必填项。"]),
    ({"name": " "}, "name", ["这个字段是必填项。"]),
    ({"name": "名" * 101}, "name", ["最多 100 个字符。"]),
    ({"note": "注" * 201}, "note", ["最多 200 个字符。"]),
    ({"preset": "banking"}, "preset", ["未知的预设“banking”。"]),
    ({"preset": ""}, "rules", ["请选择预设或填写规则。"]),
    ({"rules": "{\"kinds\": "}, "rules",
     ["这不是有效的 JSON（第 1 行第 10 列：Expecting value）。"]),
    ({"rules": {"kinds": {"new": {"rules": [{"role": "closer", "percent": "150"}]}}}}, "rules",
     ["新单 › 规则 1 › percent：最多 100。", "续费：必须填写。", "转介绍：必须填写。",
      "扩课：必须填写。"]),
    ({"rules": {"kinds": {k: {"rules": [{"role": "tutor", "rest": True}],
                              "fallback": ["coach"]}
                          for k in ("new", "renewal", "referral", "expansion")}}}, "rules",
     ["这些角色不存在：tutor, coach。请先在成交角色页面添加，或改正代码。"]),
])
def test_rule_set_refusals_are_field_errors_and_save_nothing(world_a, kw, field, messages):
    w = world_a
    if kw.get("effective_from") == "past":
        kw["effective_from"] = tenant_today(w.tenant) - days(1)
    with pytest.raises(ValidationError) as exc:
        create(w, **kw)
    assert exc.value.message_dict[field] == messages
    assert versions(w) == []
    assert audits(w, "deals.rule_set.create") == []


def test_one_version_per_day(world_a):
    w = world_a
    day = tenant_today(w.tenant) + days(3)
    create(w, effective_from=day)
    with pytest.raises(ValidationError) as exc:
        create(w, effective_from=day, preset="general")
    assert exc.value.message_dict["effective_from"] == [
        f"{day.isoformat()} 已有一个版本生效：请选择其他日期。"]
    assert [v[0] for v in versions(w)] == [1]


def test_a_role_added_by_the_tenant_can_be_used(world_a):
    w = world_a
    deal_role_create(tenant=w.tenant, actor=w.admin, code="tutor", name="辅导老师")
    rules = copy.deepcopy(PRESETS["education"])
    rules["kinds"]["renewal"]["rules"].insert(0, {"role": "tutor", "percent": "10"})
    row = create(w, rules=rules, preset="education")
    assert row.rules["kinds"]["renewal"]["rules"][0] == {"role": "tutor", "percent": "10"}


@pytest.mark.parametrize("role", ["manager", "sales", "cs", "finance"])
def test_only_admins_add_versions(world_a, role):
    with pytest.raises(PermissionDenied) as exc:
        create(world_a, actor=role)
    assert str(exc.value) == "只有管理员可以修改业绩分配规则。"
    assert versions(world_a) == []


def test_the_system_may_add_a_version(world_a):
    row = create(world_a, actor=None)
    assert row.created_by is None and row.version == 1


def test_tenants_number_their_versions_separately(world_a, world_b):
    create(world_a)
    create(world_b)
    create(world_b, effective_from=tenant_today(world_b.tenant) + days(1))
    assert [v[0] for v in versions(world_a)] == [1]
    assert [v[0] for v in versions(world_b)] == [1, 2]


@committed
def test_two_admins_saving_at_once_get_distinct_days_or_a_clear_refusal(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    deal_roles_ensure(w.tenant)
    results = run_together(
        lambda: create(w, effective_from=today, name="甲").version,
        lambda: create(w, effective_from=today, name="乙").version,
        lambda: create(w, effective_from=today + days(1), name="丙").version)
    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["error", "ok", "ok"], results
    [error] = [value for kind, value in results if kind == "error"]
    assert error.message_dict["effective_from"] == [
        f"{today.isoformat()} 已有一个版本生效：请选择其他日期。"]
    assert sorted(v[0] for v in versions(w)) == [1, 2]
