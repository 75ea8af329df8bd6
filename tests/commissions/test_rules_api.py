"""API of the commission rules, the preview and the settlement settings: roles, refusals as
Chinese field errors with nothing saved, another tenant's ids 404."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.commissions.models import CommissionRuleSet
from apps.commissions.presets import PRESETS
from apps.commissions.rulesets import commission_rule_set_create, commission_settings_for
from apps.ownership.selectors import tenant_today
from tests.deals.conftest import make_deal

RULES = "/api/v1/commissions/rules/"
PREVIEW = "/api/v1/commissions/rules/preview/"
SETTINGS = "/api/v1/commissions/settings/"


def versions(world) -> list[int]:
    with world.context():
        return list(CommissionRuleSet.objects.order_by("version")
                    .values_list("version", flat=True))


def payload(world, **kw) -> dict:
    return {"effective_from": tenant_today(world.tenant).isoformat(), "name": "家居默认",
            "preset": "home", **kw}


def make_version(world):
    return commission_rule_set_create(tenant=world.tenant, actor=world.admin,
                                      effective_from=tenant_today(world.tenant), name="家居",
                                      preset="home")


def test_admin_adds_versions_and_readers_list_them(world_a, api_client_for):
    w = world_a
    admin = api_client_for(w.admin)
    response = admin.post(RULES, payload(w, note="首版"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["preset"], body["note"], body["in_force"]) == (
        1, "home", "首版", True)
    assert body["created_by"]["id"] == w.admin.pk
    assert body["rules"]["rules"][-1] == {"kind": "penalty", "code": "missed_follow_up",
                                          "name": "Follow-up visit not done on time",
                                          "amount": "50"}
    later = (tenant_today(w.tenant) + dt.timedelta(days=3)).isoformat()
    response = admin.post(RULES, {"effective_from": later, "name": "教育",
                                  "rules": PRESETS["education"]}, format="json")
    assert response.status_code == 201 and response.json()["in_force"] is False
    for role in ("manager", "finance"):
        listed = api_client_for(getattr(w, role)).get(RULES).json()
        assert [(r["version"], r["in_force"]) for r in listed["results"]] == [
            (2, False), (1, True)]
    detail = api_client_for(w.finance).get(f"/api/v1/commissions/rule-versions/{body['id']}/")
    assert detail.status_code == 200 and detail.json()["name"] == "家居默认"


def test_refusals_are_chinese_field_errors(world_a, api_client_for):
    w = world_a
    client = api_client_for(w.admin)
    bad = {"rules": [{"kind": "rate", "bands": [{"max": "5000", "percent": "1"},
                                                {"min": "4000", "percent": "2"}]},
                     {"kind": "cap", "percent_of_base": "-5"}]}
    response = client.post(RULES, payload(w, rules=bad), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rules"] == [
        "规则 1：第 2 档与第 1 档重叠：请从最低金额起列出各档，每档从上一档结束处或之后开始。",
        "规则 2 › 占底薪比例：至少 0。"]
    yesterday = (tenant_today(w.tenant) - dt.timedelta(days=1)).isoformat()
    response = client.post(RULES, payload(w, effective_from=yesterday), format="json")
    assert response.json()["error"]["fields"]["effective_from"] == [
        "规则不能从过去的日期生效：请选择今天或以后的日期。"]
    response = client.post(RULES, payload(w, rules={"rules": [
        {"kind": "fixed", "bands": [{"amounts": {"coach": "100"}}]}]}), format="json")
    assert response.json()["error"]["fields"]["rules"] == [
        "这些角色不存在：coach。请先在成交角色页面添加，或改正代码。"]
    assert versions(w) == []
    make_version(w)
    response = client.post(RULES, payload(w), format="json")
    assert response.json()["error"]["fields"]["effective_from"] == [
        f"{tenant_today(w.tenant).isoformat()} 已有一个版本生效：请选择其他日期。"]
    assert versions(w) == [1]


@pytest.mark.parametrize("role", ["manager", "finance", "sales", "cs"])
def test_only_admins_add_versions_and_preview(world_a, api_client_for, role):
    client = api_client_for(getattr(world_a, role))
    assert client.post(RULES, payload(world_a), format="json").status_code == 403
    assert client.post(PREVIEW, {"rules": PRESETS["home"]}, format="json").status_code == 403
    assert versions(world_a) == []


@pytest.mark.parametrize("role", ["sales", "cs"])
def test_sales_and_customer_service_cannot_read(world_a, api_client_for, role):
    w = world_a
    row = make_version(w)
    client = api_client_for(getattr(w, role))
    assert client.get(RULES).status_code == 403
    assert client.get(f"/api/v1/commissions/rule-versions/{row.pk}/").status_code == 403
    assert client.get(SETTINGS).status_code == 403
    assert client.put(SETTINGS, {"calculation_day": 3}, format="json").status_code == 403


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_version_is_404(world_a, world_b, api_client_for, role):
    theirs = make_version(world_b)
    response = api_client_for(getattr(world_a, role)).get(
        f"/api/v1/commissions/rule-versions/{theirs.pk}/")
    assert response.status_code == 404


def test_preview_gives_per_person_totals(edu, api_client_for):
    w = edu.world
    last_month = (edu.today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    make_deal(edu, amount="10000.00", signed_on=last_month + dt.timedelta(days=3))
    draft = {"rules": [{"kind": "rate", "deal_kinds": ["new"], "bands": [{"percent": "2"}]}]}
    response = api_client_for(w.admin).post(PREVIEW, {"rules": draft}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["month"] == last_month.isoformat()
    assert body["people"] == [{"staff_id": edu.consultant.pk, "name": edu.consultant.name,
                               "team": w.team1.name, "current": "0.00", "draft": "200.00",
                               "difference": "200.00"}]
    assert (body["current_total"], body["draft_total"], body["difference"]) == (
        "0.00", "200.00", "200.00")
    # Another month: the one before has nothing.
    earlier = (last_month - dt.timedelta(days=1)).isoformat()
    response = api_client_for(w.admin).post(PREVIEW, {"rules": draft, "month": earlier},
                                            format="json")
    assert response.json()["people"] == []
    assert versions(w) == []


def test_preview_of_a_bad_draft_is_a_field_error(world_a, api_client_for):
    response = api_client_for(world_a.admin).post(
        PREVIEW, {"rules": {"rules": [{"kind": "cap", "percent_of_base": "-5"}]}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rules"] == ["规则 1 › 占底薪比例：至少 0。"]


def test_settings_read_by_readers_changed_by_admins(world_a, api_client_for):
    w = world_a
    for role in ("manager", "finance"):
        client = api_client_for(getattr(w, role))
        assert client.get(SETTINGS).json()["calculation_day"] == 1
        assert client.put(SETTINGS, {"calculation_day": 3}, format="json").status_code == 403
    admin = api_client_for(w.admin)
    response = admin.put(SETTINGS, {"calculation_day": 29}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["calculation_day"] == ["请选择 1 到 28 之间的日期。"]
    response = admin.put(SETTINGS, {"calculation_day": 7}, format="json")
    assert response.status_code == 200
    assert response.json()["calculation_day"] == 7
    assert response.json()["updated_by"]["id"] == w.admin.pk
    assert commission_settings_for(w.tenant).calculation_day == 7
