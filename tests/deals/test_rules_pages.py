"""Pages of the credit rule sets and the deal roles: who sees and edits what, Chinese errors with
the input kept, another tenant's ids 404."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from apps.deals.models import CreditRuleSet, DealRole
from apps.deals.rules import PRESETS
from apps.deals.rulesets import deal_roles_ensure, rule_set_create
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Tenant

LIST = reverse("deals:rule_set_list")
NEW = reverse("deals:rule_set_create")
ROLES = reverse("deals:role_list")


def versions(world) -> list[int]:
    with world.context():
        return list(CreditRuleSet.objects.order_by("version").values_list("version", flat=True))


def make_version(world, days=0, **kw):
    return rule_set_create(tenant=world.tenant, actor=world.admin,
                           effective_from=tenant_today(world.tenant) + dt.timedelta(days=days),
                           name=kw.pop("name", "教育默认"), preset=kw.pop("preset", "education"),
                           **kw)


def form_data(world, **overrides) -> dict:
    data = {"effective_from": tenant_today(world.tenant).isoformat(), "name": "通用规则",
            "preset": "general", "rules": json.dumps(PRESETS["general"]), "note": "试行"}
    data.update(overrides)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --------------------------------------------------------------------------- list and detail

def test_list_without_a_version_shows_the_industry_preset(world_a, client_for):
    response = client_for(world_a.manager).get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert "业绩分配规则" in html and "预设“通用（业绩归签单人）”（尚未保存任何版本）" in html
    assert "1. 带会主负责人：成交额的 20% — 带会主负责：20%" in html
    assert "尚未保存任何版本：使用行业预设。" in html
    assert NEW not in html   # managers read only


def test_list_for_an_education_tenant_shows_every_kind(world_a, client_for):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(industry=Tenant.Industry.EDUCATION)
    html = client_for(world_a.admin).get(LIST).content.decode()
    for text in ("新单", "续费", "转介绍", "扩课", "预设“教育（新单/续费/转介绍/扩课业绩分配）”",
                 "1. 要号人：成交额的 50% — 要到号码：分一半",
                 "1. 咨询师：其余业绩（条件：老师没有提出） — 老师授课期间没提转介绍：业绩全归咨询",
                 "1. 咨询师：成交额的 50%（条件：有任课老师参与） — 咨询参与续费：分一半",
                 "剩余业绩依次归：咨询师 → 学管师 → 签单人"):
        assert text in html, text
    assert NEW in html


def test_list_marks_the_version_in_force_and_the_scheduled(world_a, client_for):
    w = world_a
    first = make_version(w)
    make_version(w, days=5, name="下月规则", preset="general")
    response = client_for(w.finance).get(LIST)
    html = response.content.decode()
    assert response.context["current"].pk == first.pk
    assert [r.version for r in response.context["scheduled"]] == [2]
    assert "第 1 版“教育默认”" in html and "第 2 版“下月规则”将于" in html


@pytest.mark.parametrize("role", ["sales", "cs"])
def test_sales_and_customer_service_cannot_see_the_rules(world_a, client_for, role):
    w = world_a
    row = make_version(w)
    client = client_for(getattr(w, role))
    for url in (LIST, NEW, reverse("deals:rule_set_detail", args=[row.pk]), ROLES):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW, form_data(w)).status_code == 403
    assert versions(w) == [1]


def test_detail_shows_the_rules_readably(world_a, client_for):
    w = world_a
    row = make_version(w, note="按 000 号文件")
    response = client_for(w.manager).get(reverse("deals:rule_set_detail", args=[row.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "第 1 版：教育默认" in html and "生效中" in html and "按 000 号文件" in html
    assert "2. 任课老师：其余业绩 — 续费由老师完成（多科老师平分）" in html
    assert "&quot;number_obtainer&quot;" in html   # the JSON as stored


def test_detail_of_stored_rules_that_are_not_valid(world_a, client_for):
    with world_a.context():
        row = CreditRuleSet.objects.create(tenant=world_a.tenant, version=1, name="坏的",
                                           effective_from=tenant_today(world_a.tenant), rules={})
    html = client_for(world_a.admin).get(
        reverse("deals:rule_set_detail", args=[row.pk])).content.decode()
    assert "这个版本保存的规则无效；成交改用行业预设。" in html


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_version_and_role_are_404(world_a, world_b, client_for, role):
    theirs = make_version(world_b)
    their_role = deal_roles_ensure(world_b.tenant)[0]
    client = client_for(getattr(world_a, role))
    assert client.get(reverse("deals:rule_set_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("deals:role_edit", args=[their_role.pk])).status_code == 404
    assert client.post(reverse("deals:role_edit", args=[their_role.pk]),
                       {"name": "x", "order": "1", "active": ""}).status_code == 404
    with world_b.context():
        assert DealRole.objects.get(pk=their_role.pk).name == "签单人"


# --------------------------------------------------------------------------- new version

def test_new_version_form_starts_from_the_rules_in_use_on_a_free_day(world_a, client_for):
    w = world_a
    client = client_for(w.admin)
    form = client.get(NEW).context["form"]
    assert form.initial["preset"] == "general"
    assert json.loads(form.initial["rules"]) == PRESETS["general"]
    assert form.initial["effective_from"] == tenant_today(w.tenant)
    make_version(w)
    form = client.get(NEW).context["form"]
    assert form.initial["preset"] == "education"
    assert json.loads(form.initial["rules"])["kinds"]["referral"]["fallback"] == [
        "consultant", "closer"]
    assert form.initial["effective_from"] == tenant_today(w.tenant) + dt.timedelta(days=1)
    # ?preset= loads a preset into the editor.
    form = client.get(NEW + "?preset=general").context["form"]
    assert json.loads(form.initial["rules"]) == PRESETS["general"]
    assert form.initial["name"] == "通用（业绩归签单人）"


def test_admin_saves_a_new_version(world_a, client_for):
    w = world_a
    client = client_for(w.admin)
    response = client.post(NEW, form_data(w))
    assert response.status_code == 302
    assert versions(w) == [1]
    with w.context():
        row = CreditRuleSet.objects.get()
    assert response.url == reverse("deals:rule_set_detail", args=[row.pk])
    assert (row.name, row.preset, row.note) == ("通用规则", "general", "试行")
    assert messages_of(response) == [
        f"业绩分配规则第 1 版已保存：{tenant_today(w.tenant).isoformat()} 起生效。"]


def test_an_empty_rules_box_copies_the_preset(world_a, client_for):
    w = world_a
    response = client_for(w.admin).post(NEW, form_data(w, rules="", preset="education"))
    assert response.status_code == 302
    with w.context():
        assert CreditRuleSet.objects.get().rules["kinds"]["new"]["rules"][0]["role"] == (
            "number_obtainer")


def test_errors_are_listed_in_chinese_and_the_input_is_kept(world_a, client_for):
    w = world_a
    bad = json.dumps({"kinds": {"new": {"rules": [{"role": "closer", "percent": "150"},
                                                   {"role": "tutor", "rest": True}]}}},
                     ensure_ascii=False)
    yesterday = (tenant_today(w.tenant) - dt.timedelta(days=1)).isoformat()
    response = client_for(w.admin).post(NEW, form_data(w, rules=bad, effective_from=yesterday,
                                                       note="草稿"))
    assert response.status_code == 400
    html = response.content.decode()
    for text in ("新单 › 规则 1 › percent：最多 100。", "续费：必须填写。", "扩课：必须填写。",
                 "规则不能从过去的日期生效：请选择今天或以后的日期。"):
        assert text in html, text
    assert "&quot;tutor&quot;" in html and 'value="草稿"' in html and yesterday in html
    assert versions(w) == []


def test_not_json_is_refused_with_where(world_a, client_for):
    response = client_for(world_a.admin).post(NEW, form_data(world_a, rules="{kinds: 1}"))
    assert response.status_code == 400
    assert "这不是有效的 JSON（第 1 行第 2 列：" in response.content.decode()
    assert versions(world_a) == []


@pytest.mark.parametrize("role", ["manager", "finance"])
def test_readers_cannot_add_versions(world_a, client_for, role):
    client = client_for(getattr(world_a, role))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(world_a)).status_code == 403
    assert versions(world_a) == []


# --------------------------------------------------------------------------- roles

def test_roles_page_lists_the_defaults_and_admin_adds_one(world_a, client_for):
    w = world_a
    client = client_for(w.admin)
    html = client.get(ROLES).content.decode()
    for name in ("签单人", "带会主负责人", "带会协助人", "咨询师", "任课老师", "学管师", "要号人"):
        assert name in html
    response = client.post(ROLES, {"code": "tutor", "name": "辅导老师", "order": "55"})
    assert response.status_code == 302
    assert messages_of(response) == ["已添加角色“辅导老师”。"]
    with w.context():
        assert DealRole.objects.get(code="tutor").order == 55


def test_roles_page_refuses_a_duplicate_code_keeping_the_input(world_a, client_for):
    client = client_for(world_a.admin)
    client.get(ROLES)
    response = client.post(ROLES, {"code": "teacher", "name": "另一个老师", "order": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "已有使用这个代码的角色。" in html and 'value="另一个老师"' in html
    with world_a.context():
        assert DealRole.objects.count() == 7


def test_admin_edits_and_deactivates_a_role(world_a, client_for):
    w = world_a
    advisor = next(r for r in deal_roles_ensure(w.tenant) if r.code == "advisor")
    url = reverse("deals:role_edit", args=[advisor.pk])
    client = client_for(w.admin)
    form = client.get(url).context["form"]
    assert form.initial == {"name": "学管师", "order": 60, "active": True}
    response = client.post(url, {"name": "班主任", "order": "65"})   # unchecked: deactivated
    assert response.status_code == 302
    assert messages_of(response) == ["角色“班主任”已保存。"]
    with w.context():
        advisor.refresh_from_db()
    assert (advisor.code, advisor.name, advisor.order, advisor.active) == (
        "advisor", "班主任", 65, False)
    assert "已停用" in client.get(ROLES).content.decode()
    response = client.post(url, {"name": "", "order": "65", "active": "on"})
    assert response.status_code == 400 and "这个字段是必填项。" in response.content.decode()


@pytest.mark.parametrize("role", ["manager", "finance"])
def test_readers_see_roles_but_cannot_change_them(world_a, client_for, role):
    w = world_a
    client = client_for(getattr(w, role))
    response = client.get(ROLES)
    assert response.status_code == 200 and response.context["form"] is None
    assert client.post(ROLES, {"code": "tutor", "name": "辅导", "order": "1"}).status_code == 403
    closer = deal_roles_ensure(w.tenant)[0]
    url = reverse("deals:role_edit", args=[closer.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "x", "order": "1"}).status_code == 403
    with w.context():
        assert DealRole.objects.count() == 7
        assert DealRole.objects.get(pk=closer.pk).name == "签单人"


# --------------------------------------------------------------------------- query budgets

def test_lists_do_not_query_per_row(world_a, client_for, api_client_for):
    from apps.deals.rulesets import deal_role_create
    from tests.query_budgets import assert_flat

    w = world_a
    made = iter(range(1, 100))

    def grow_versions(n):
        for _ in range(n):
            make_version(w, days=next(made), name="v")

    assert_flat(client_for(w.manager), LIST, grow_versions, n=5)
    assert_flat(api_client_for(w.manager), "/api/v1/deals/rule-sets/", grow_versions, n=5)
    codes = iter(range(1, 100))

    def grow_roles(n):
        for _ in range(n):
            deal_role_create(tenant=w.tenant, actor=w.admin, code=f"r{next(codes)}", name="角色")

    deal_roles_ensure(w.tenant)
    assert_flat(client_for(w.admin), ROLES, grow_roles, n=5)
    assert_flat(api_client_for(w.manager), "/api/v1/deals/roles/", grow_roles, n=5)
