"""Tier scheme versions (services and selectors): administrators add numbered, audited versions
from a preset or their own tiers; others are refused; overlapping or non-increasing thresholds,
a past day, a day already taken are refused with field errors in Chinese and nothing saved; the
overview and detail read them as sentences."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from apps.core.models import AuditEntry
from apps.ownership.selectors import tenant_today
from apps.vip import schemes
from apps.vip.models import TierScheme
from apps.vip.schemes import tier_scheme_create
from apps.vip.tiers import PRESETS, parse_tier_rules

PAST = "会员等级方案不能从过去的日期生效：请选择今天或以后的日期。"


def zh(msgid: str, **params) -> str:
    """A message of apps.vip.tiers as a zh-hans user reads it (the catalog's text)."""
    with translation.override("zh-hans"):
        text = translation.gettext(msgid)
    return text % params if params else text


def at_tiers(message: str) -> str:
    """A problem of the tier list as the error lists it ("等级：…" once translated)."""
    return zh("%(where)s: %(message)s", where=zh("Tiers"), message=message)


def versions(world) -> list[tuple]:
    with world.context():
        return list(TierScheme.objects.order_by("version")
                    .values_list("version", "effective_from", "name", "preset"))


def audits(world) -> list[AuditEntry]:
    with world.context():
        return list(AuditEntry.objects.filter(action="vip.tier_scheme.create").order_by("id"))


def create(world, actor="admin", **kw):
    kwargs = {"effective_from": tenant_today(world.tenant) + dt.timedelta(days=1),
              "name": "金会员", "preset": "default", **kw}
    return tier_scheme_create(tenant=world.tenant,
                              actor=getattr(world, actor) if actor else None, **kwargs)


def tiers(*rows) -> dict:
    """A scheme of tiers (code, min_total, min_referrals), the first the entry tier."""
    out = [{"code": "t1", "name": "一级"}]
    for i, (total, refs) in enumerate(rows, start=2):
        tier = {"code": f"t{i}", "name": f"{i}级"}
        if total is not None:
            tier["min_total"] = total
        if refs is not None:
            tier["min_referrals"] = refs
        out.append(tier)
    return {"tiers": out}


def test_admin_adds_versions_numbered_audited_stored_as_validated(world_a):
    w = world_a
    day = tenant_today(w.tenant) + dt.timedelta(days=1)
    first = create(w, note="按 000 号文件")
    own = copy.deepcopy(PRESETS["default"])
    own["tiers"][1]["min_total"] = "30000"
    second = create(w, effective_from=day + dt.timedelta(days=5), name="降低门槛", preset="",
                    rules=own)
    assert (first.version, second.version) == (1, 2)
    assert versions(w) == [(1, day, "金会员", "default"),
                           (2, day + dt.timedelta(days=5), "降低门槛", "")]
    assert first.created_by_id == w.admin.pk and first.note == "按 000 号文件"
    assert parse_tier_rules(first.rules) == parse_tier_rules(PRESETS["default"])
    assert second.rules["tiers"][1]["min_total"] == "30000"
    [entry, _] = audits(w)
    assert entry.reason == "按 000 号文件" and entry.actor_id == w.admin.pk
    assert entry.changes["version"] == 1 and entry.changes["preset"] == "default"


def test_the_system_may_add_a_version_and_json_text_is_read(world_a):
    row = create(world_a, actor=None, preset="",
                 rules='{"tiers": [{"code": "member", "name": "会员"}, '
                       '{"code": "vip", "name": "贵宾", "min_total": "88000"}]}')
    assert row.created_by_id is None
    assert row.rules == {"tiers": [{"code": "member", "name": "会员"},
                                   {"code": "vip", "name": "贵宾", "min_total": "88000"}]}


@pytest.mark.parametrize("role", ["manager", "sales", "cs", "finance"])
def test_only_administrators_add_versions(world_a, role):
    with pytest.raises(PermissionDenied) as exc:
        create(world_a, actor=role)
    assert str(exc.value) == "只有管理员可以修改会员等级方案。"
    assert versions(world_a) == [] and audits(world_a) == []


def test_overlapping_and_non_increasing_thresholds_are_refused(world_a):
    w = world_a
    with pytest.raises(ValidationError) as exc:
        create(w, preset="", rules=tiers(("50000", 2), ("50000", 1)))
    [message] = exc.value.message_dict["rules"]
    assert message == at_tiers(" ".join([
        zh("Tier %(n)s: its %(what)s threshold (%(value)s) must be above tier %(p)s's "
           "(%(prev)s): thresholds increase with the tier order.",
           n=3, what=zh("contract total"), value="50000", p=2, prev="50000"),
        zh("Tier %(n)s: its %(what)s threshold (%(value)s) must be above tier %(p)s's "
           "(%(prev)s): thresholds increase with the tier order.",
           n=3, what=zh("successful referrals"), value="1", p=2, prev="2")]))
    assert versions(w) == [] and audits(w) == []


@pytest.mark.parametrize(("rules", "expected"), [
    (tiers(("100000", None), ("50000", None)),
     lambda: [at_tiers(zh("Tier %(n)s: its %(what)s threshold (%(value)s) must be above tier %(p)s's "
                 "(%(prev)s): thresholds increase with the tier order.",
                 n=3, what=zh("contract total"), value="50000", p=2, prev="100000"))]),
    (tiers((None, None)),
     lambda: [at_tiers(zh("Tier %(n)s needs a contract total or a number of referrals to "
                          "reach it.", n=2))]),
    ({"tiers": [{"code": "t1", "name": "一级", "min_total": "1"}]},
     lambda: [at_tiers(zh("Tier 1 is the entry tier every buyer starts at: it has no "
                          "thresholds."))]),
])
def test_other_bad_schemes_are_refused_in_chinese(world_a, rules, expected):
    with pytest.raises(ValidationError) as exc:
        create(world_a, preset="", rules=rules)
    assert exc.value.message_dict["rules"] == expected()
    assert versions(world_a) == []


@pytest.mark.parametrize(("kw", "field", "messages"), [
    ({"effective_from": "past"}, "effective_from", [PAST]),
    ({"effective_from": None}, "effective_from", ["这个字段是必填项。"]),
    ({"name": " "}, "name", ["这个字段是必填项。"]),
    ({"preset": "platinum"}, "preset", ["未知的预设“platinum”。"]),
    ({"preset": ""}, "rules", ["请选择预设或填写规则。"]),
    ({"preset": "", "rules": '{"tiers": '}, "rules",
     ["这不是有效的 JSON（第 1 行第 10 列：Expecting value）。"]),
])
def test_refusals_are_chinese_field_errors_and_save_nothing(world_a, kw, field, messages):
    w = world_a
    if kw.get("effective_from") == "past":
        kw["effective_from"] = tenant_today(w.tenant) - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        create(w, **kw)
    assert exc.value.message_dict[field] == messages
    assert versions(w) == [] and audits(w) == []


def test_one_version_per_day(world_a):
    w = world_a
    day = tenant_today(w.tenant) + dt.timedelta(days=3)
    create(w, effective_from=day)
    with pytest.raises(ValidationError) as exc:
        create(w, effective_from=day, name="另一个")
    assert exc.value.message_dict["effective_from"] == [
        f"{day.isoformat()} 已有一个版本生效：请选择其他日期。"]
    assert [v[0] for v in versions(w)] == [1]


def test_overview_and_detail(world_a, world_b):
    w = world_a
    today = tenant_today(w.tenant)
    empty = schemes.tier_schemes_overview(w.tenant)
    assert empty["current"] is None and empty["history"] == []
    assert [heading for heading, _lines in empty["described"]][:3] == [
        zh("%(n)s. %(name)s (%(code)s)", n=1, name="银卡", code="silver"),
        zh("%(n)s. %(name)s (%(code)s)", n=2, name="金卡", code="gold"),
        zh("%(n)s. %(name)s (%(code)s)", n=3, name="钻石卡", code="diamond")]
    now = create(w, effective_from=today, name="现行")
    later = create(w, effective_from=today + dt.timedelta(days=9), name="将来", preset="",
                   rules=tiers(("1000", None)))
    create(world_b, effective_from=today, name="别家")
    overview = schemes.tier_schemes_overview(w.tenant)
    assert overview["current"].pk == now.pk
    assert [r.pk for r in overview["scheduled"]] == [later.pk]
    assert [r.pk for r in overview["history"]] == [later.pk, now.pk]
    assert schemes.tier_scheme_in_force_pk(w.tenant) == now.pk
    detail = schemes.tier_scheme_detail(later)
    assert detail["described"][1][1][0] == zh("contract total %(amount)s or more", amount="1000")
    assert '"min_total": "1000"' in detail["json"]
