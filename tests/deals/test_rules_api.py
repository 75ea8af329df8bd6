"""API of the credit rule sets and deal roles: roles, refusals as Chinese field errors, another
tenant's ids 404."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.deals.models import CreditRuleSet, DealRole
from apps.deals.rules import PRESETS
from apps.deals.rulesets import deal_roles_ensure, rule_set_create
from apps.ownership.selectors import tenant_today

RULE_SETS = "/api/v1/deals/rule-sets/"
ROLES = "/api/v1/deals/roles/"


def versions(world) -> list[int]:
    with world.context():
        return list(CreditRuleSet.objects.order_by("version").values_list("version", flat=True))


def payload(world, **kw) -> dict:
    return {"effective_from": tenant_today(world.tenant).isoformat(), "name": "教育默认",
            "preset": "education", **kw}


def test_admin_adds_versions_and_readers_list_them(world_a, api_client_for):
    w = world_a
    admin = api_client_for(w.admin)
    response = admin.post(RULE_SETS, payload(w, note="首版"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["preset"], body["note"], body["in_force"]) == (
        1, "education", "首版", True)
    assert body["created_by"]["id"] == w.admin.pk
    assert body["rules"]["kinds"]["new"]["rules"][0] == {
        "role": "number_obtainer", "percent": "50", "label": "Obtained the phone number: half"}
    later = (tenant_today(w.tenant) + dt.timedelta(days=3)).isoformat()
    response = admin.post(RULE_SETS, {"effective_from": later, "name": "通用",
                                      "rules": PRESETS["general"]}, format="json")
    assert response.status_code == 201 and response.json()["in_force"] is False
    for role in ("manager", "finance"):
        listed = api_client_for(getattr(w, role)).get(RULE_SETS).json()
        assert [(r["version"], r["in_force"]) for r in listed["results"]] == [
            (2, False), (1, True)]
    detail = api_client_for(w.finance).get(f"{RULE_SETS}{body['id']}/")
    assert detail.status_code == 200 and detail.json()["name"] == "教育默认"


def test_refusals_are_field_errors(world_a, api_client_for):
    w = world_a
    client = api_client_for(w.admin)
    bad = {"kinds": {"new": {"rules": [{"role": "closer", "rest": True, "percent": "10"}]}}}
    response = client.post(RULE_SETS, payload(w, rules=bad), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rules"] == [
        "新单 › 规则 1：percent（比例）和 “rest”: true 只能给一个。", "续费：必须填写。",
        "转介绍：必须填写。", "扩课：必须填写。"]
    yesterday = (tenant_today(w.tenant) - dt.timedelta(days=1)).isoformat()
    response = client.post(RULE_SETS, payload(w, effective_from=yesterday), format="json")
    assert response.json()["error"]["fields"]["effective_from"] == [
        "规则不能从过去的日期生效：请选择今天或以后的日期。"]
    response = client.post(RULE_SETS, payload(w, preset="banking"), format="json")
    assert response.status_code == 400 and "preset" in response.json()["error"]["fields"]
    assert versions(w) == []


@pytest.mark.parametrize("role", ["manager", "finance", "sales", "cs"])
def test_only_admins_add_versions(world_a, api_client_for, role):
    client = api_client_for(getattr(world_a, role))
    assert client.post(RULE_SETS, payload(world_a), format="json").status_code == 403
    assert versions(world_a) == []


@pytest.mark.parametrize("role", ["sales", "cs"])
def test_sales_and_customer_service_cannot_read(world_a, api_client_for, role):
    w = world_a
    row = rule_set_create(tenant=w.tenant, actor=w.admin, effective_from=tenant_today(w.tenant),
                          name="x", preset="general")
    client = api_client_for(getattr(w, role))
    assert client.get(RULE_SETS).status_code == 403
    assert client.get(f"{RULE_SETS}{row.pk}/").status_code == 403
    assert client.get(ROLES).status_code == 403


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_ids_are_404(world_a, world_b, api_client_for, role):
    theirs = rule_set_create(tenant=world_b.tenant, actor=world_b.admin,
                             effective_from=tenant_today(world_b.tenant), name="乙的规则",
                             preset="education")
    their_role = deal_roles_ensure(world_b.tenant)[0]
    client = api_client_for(getattr(world_a, role))
    assert client.get(f"{RULE_SETS}{theirs.pk}/").status_code == 404
    assert client.get(f"{ROLES}{their_role.pk}/").status_code == 404
    assert client.patch(f"{ROLES}{their_role.pk}/", {"active": False},
                        format="json").status_code == 404
    with world_b.context():
        assert DealRole.objects.get(pk=their_role.pk).active is True


def test_roles_list_add_and_deactivate(world_a, api_client_for):
    w = world_a
    admin = api_client_for(w.admin)
    listed = api_client_for(w.manager).get(ROLES).json()
    assert [(r["code"], r["name"]) for r in listed][:2] == [("closer", "签单人"),
                                                           ("lead", "带会主负责人")]
    assert len(listed) == 7
    response = admin.post(ROLES, {"code": "tutor", "name": "辅导老师", "order": 55},
                          format="json")
    assert response.status_code == 201
    assert response.json() | {"id": 0} == {"id": 0, "code": "tutor", "name": "辅导老师",
                                           "order": 55, "active": True}
    pk = response.json()["id"]
    response = admin.patch(f"{ROLES}{pk}/", {"active": False, "code": "other"}, format="json")
    assert response.status_code == 200
    assert (response.json()["active"], response.json()["code"]) == (False, "tutor")
    response = admin.post(ROLES, {"code": "tutor", "name": "重复"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["code"] == ["已有使用这个代码的角色。"]


@pytest.mark.parametrize("role", ["manager", "finance", "sales"])
def test_only_admins_change_roles(world_a, api_client_for, role):
    w = world_a
    closer = deal_roles_ensure(w.tenant)[0]
    client = api_client_for(getattr(w, role))
    assert client.post(ROLES, {"code": "tutor", "name": "辅导"}, format="json").status_code == 403
    assert client.patch(f"{ROLES}{closer.pk}/", {"active": False},
                        format="json").status_code == 403
    with w.context():
        assert DealRole.objects.count() == 7 and DealRole.objects.get(pk=closer.pk).active
