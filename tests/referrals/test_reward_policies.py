"""Reward policy versions: the service (admins only; refusals are Chinese field errors and save
nothing), the version in force on a day, the presets by industry, concurrency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEntry
from apps.ownership.selectors import tenant_today
from apps.referrals.models import RewardPolicy
from apps.referrals.reward_policies import reward_policy_create, reward_policy_for
from apps.referrals.reward_presets import HOME, PRESETS
from apps.referrals.rewards import parse_reward_rules, referral_reward
from apps.tenancy.models import Tenant
from tests.concurrency import committed, run_together

pytestmark = pytest.mark.django_db


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def versions(world) -> list[tuple]:
    with world.context():
        return list(RewardPolicy.objects.order_by("version")
                    .values_list("version", "effective_from", "name"))


def create(world, actor="admin", **kw):
    kwargs = {"effective_from": tenant_today(world.tenant), "name": "家居提成",
              "rules": HOME, **kw}
    return reward_policy_create(tenant=world.tenant,
                                actor=getattr(world, actor) if actor else None, **kwargs)


def refused(world, **kw) -> dict:
    with pytest.raises(ValidationError) as exc:
        create(world, **kw)
    return exc.value.message_dict


def test_admin_creates_version_one_audited_and_stored_normalised(world_a):
    row = create(world_a, note="试行")
    assert (row.version, row.name, row.note, row.created_by) == (1, "家居提成", "试行",
                                                                 world_a.admin)
    assert parse_reward_rules(row.rules) == parse_reward_rules(HOME)
    with world_a.context():
        entry = AuditEntry.objects.get(action="referrals.reward_policy.create")
    assert entry.target_id == row.pk and entry.changes["version"] == 1
    assert entry.reason == "试行"


def test_versions_count_up_and_rules_may_be_json_text_or_a_preset(world_a):
    create(world_a)
    second = create(world_a, effective_from=tenant_today(world_a.tenant) + days(3),
                    rules='{"points": 5}', name="积分")
    third = create(world_a, effective_from=tenant_today(world_a.tenant) + days(4), rules=None,
                   preset="franchise", name="加盟")
    assert (second.version, second.rules) == (2, {"points": 5})
    assert third.version == 3 and third.rules["ordinal_tiers"][0] == {
        "from": 1, "cash": "4000", "override_percent": "2"}


@pytest.mark.parametrize("role", ["manager", "finance", "sales", "cs"])
def test_only_admins_create(world_a, role):
    with pytest.raises(PermissionDenied):
        create(world_a, actor=role)
    assert versions(world_a) == []


def test_the_system_may_create(world_a):
    assert create(world_a, actor=None).created_by is None


def test_refusals_say_what_and_where_and_save_nothing(world_a):
    today = tenant_today(world_a.tenant)
    errors = refused(world_a, effective_from=today - days(1), name=" ",
                     rules={"percent_bands": {"bands": [
                         {"min": "1000", "max": "5000", "percent": "5"},
                         {"min": "6000", "percent": "120"}]}})
    assert errors["effective_from"] == ["奖励政策不能在过去生效：请选择今天或以后的日期。"]
    assert errors["name"] == ["这个字段是必填项。"]
    assert errors["rules"] == ["按金额比例 › 第 2 档 › percent：最多 100。"]
    assert versions(world_a) == []


def test_bad_json_unknown_preset_and_empty_policy(world_a):
    assert refused(world_a, rules="{oops")["rules"][0].startswith("这不是有效的 JSON")
    assert refused(world_a, rules=None, preset="bogus")["preset"] == ["未知的预设“bogus”。"]
    assert refused(world_a, rules=None) == {"rules": ["请选择预设或填写规则。"]}
    assert refused(world_a, rules={"keep_after_refund": True})["rules"] == [
        "这个政策不给任何奖励：请至少设置一项（比例档、赠礼、按次序的现金、积分或次数奖励）。"]
    assert versions(world_a) == []


def test_one_version_per_day(world_a):
    create(world_a)
    errors = refused(world_a, name="又一个")
    today = tenant_today(world_a.tenant).isoformat()
    assert errors == {"effective_from": [f"{today} 已有一个版本生效：请选择其他日期。"]}
    assert len(versions(world_a)) == 1


def test_policy_for_a_day_uses_the_latest_version_on_or_before_it(world_a):
    today = tenant_today(world_a.tenant)
    first = create(world_a)
    later = create(world_a, effective_from=today + days(10), rules={"points": 7}, name="积分")
    row, rules = reward_policy_for(world_a.tenant, today)
    assert row.pk == first.pk and rules == parse_reward_rules(HOME)
    assert reward_policy_for(world_a.tenant, today + days(9))[0].pk == first.pk
    row, rules = reward_policy_for(world_a.tenant, today + days(10))
    assert row.pk == later.pk and rules.points == 7
    assert reward_policy_for(world_a.tenant, today - days(1))[0] is None


@pytest.mark.parametrize("industry, preset", [("education", "education"),
                                              ("home_furnishing", "home"), ("other", "home")])
def test_without_a_version_the_industry_preset_applies(world_a, industry, preset):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(industry=industry)
    world_a.tenant.refresh_from_db()
    row, rules = reward_policy_for(world_a.tenant)
    assert row is None and rules == parse_reward_rules(PRESETS[preset])


def test_invalid_stored_rules_fall_back_to_the_preset(world_a):
    row = create(world_a)
    with world_a.context():
        RewardPolicy.objects.filter(pk=row.pk).update(rules={"percent_bands": "x"})
    found, rules = reward_policy_for(world_a.tenant)
    assert found is None and rules == parse_reward_rules(HOME)


def test_policies_are_per_tenant(world_a, world_b):
    create(world_a)
    create(world_b, rules={"points": 3})
    assert reward_policy_for(world_b.tenant)[1].points == 3
    assert reward_policy_for(world_a.tenant)[1].points == 0


def test_the_policy_in_force_computes_the_reward(world_a):
    create(world_a)
    _row, rules = reward_policy_for(world_a.tenant)
    r = referral_reward(rules, deal_amount=Decimal("10000"), ordinal=1, successful_before=0)
    assert r.percent_amount == Decimal("500.00")


@committed
def test_two_admins_saving_at_once_get_distinct_versions_or_a_clear_refusal(world_a):
    w = world_a
    today = tenant_today(w.tenant)
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
