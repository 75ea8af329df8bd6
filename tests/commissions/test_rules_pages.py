"""Pages of the commission rules and the settlement settings: who sees and edits what, rules as
Chinese sentences, errors listed with the input kept, the preview of last month under a draft,
another tenant's ids 404, no query per row."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from apps.commissions.models import CommissionRuleSet
from apps.commissions.presets import PRESETS
from apps.commissions.rulesets import commission_rule_set_create, commission_settings_for
from apps.ownership.selectors import tenant_today
from tests.deals.conftest import make_deal

LIST = reverse("commissions:rule_set_list")
NEW = reverse("commissions:rule_set_create")
SETTINGS = reverse("commissions:settings")


def versions(world) -> list[int]:
    with world.context():
        return list(CommissionRuleSet.objects.order_by("version")
                    .values_list("version", flat=True))


def make_version(world, days=0, **kw):
    return commission_rule_set_create(
        tenant=world.tenant, actor=world.admin,
        effective_from=tenant_today(world.tenant) + dt.timedelta(days=days),
        name=kw.pop("name", "家居默认"), preset=kw.pop("preset", "home"), **kw)


def form_data(world, **overrides) -> dict:
    data = {"effective_from": tenant_today(world.tenant).isoformat(), "name": "教育提成",
            "preset": "education", "rules": json.dumps(PRESETS["education"]), "note": "试行"}
    data.update(overrides)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --------------------------------------------------------------------------- list and detail

def test_list_without_a_version_shows_the_industry_preset(world_a, client_for):
    response = client_for(world_a.manager).get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert "提成规则" in html and "尚未保存任何版本：使用行业预设。" in html
    assert "1. 转介绍签单奖励: 低于 10000：签单人 100, 带会主负责人 100, 带会协助人 50" in html
    assert "7. 回访未按时完成: missed_follow_up: -50" in html
    assert NEW not in html   # managers read only


def test_list_marks_the_version_in_force_and_the_scheduled(world_a, client_for):
    w = world_a
    first = make_version(w)
    make_version(w, days=5, name="下月规则", preset="education")
    response = client_for(w.finance).get(LIST)
    html = response.content.decode()
    assert response.context["current"].pk == first.pk
    assert [r.version for r in response.context["scheduled"]] == [2]
    assert "第 1 版“家居默认”" in html and "第 2 版“下月规则”将于" in html
    assert NEW not in html


def test_the_menu_shows_the_pages_to_readers_only(world_a, client_for):
    w = world_a
    html = client_for(w.finance).get(LIST).content.decode()
    assert 'id="commissions-menu"' in html and SETTINGS in html
    # Everyone has a statement; only readers of the rules see the rules and the settings.
    home = client_for(w.sales).get(reverse("home")).content.decode()
    menu = home[home.index('id="commissions-menu"'):]
    menu = menu[:menu.index("</ul>")]
    assert reverse("commissions:statement") in menu
    assert LIST not in menu and SETTINGS not in menu


@pytest.mark.parametrize("role", ["sales", "cs"])
def test_sales_and_customer_service_cannot_see_the_rules(world_a, client_for, role):
    w = world_a
    row = make_version(w)
    client = client_for(getattr(w, role))
    for url in (LIST, NEW, reverse("commissions:rule_set_detail", args=[row.pk]), SETTINGS):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW, form_data(w)).status_code == 403
    assert client.post(NEW, {**form_data(w), "preview": "1"}).status_code == 403
    assert client.post(SETTINGS, {"calculation_day": "5"}).status_code == 403
    assert versions(w) == [1]
    assert commission_settings_for(w.tenant).calculation_day == 1


def test_detail_shows_the_rules_as_sentences_and_the_json(world_a, client_for):
    w = world_a
    row = make_version(w, preset="education", name="教育提成", note="按 000 号文件")
    response = client_for(w.manager).get(reverse("commissions:rule_set_detail", args=[row.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "第 1 版：教育提成" in html and "生效中" in html and "按 000 号文件" in html
    assert ("1. 续费提成: 成交额的 1.5%; 第 0 至 45 天：咨询师 70%, 学管师 30%; "
            "第 46 天起：咨询师 30%, 学管师 70%") in html
    assert "2. 员工转介绍提成: 被推荐成交额的 1.5%" in html
    assert "&quot;until_day&quot;: 45" in html   # the JSON as stored


def test_detail_of_stored_rules_that_are_not_valid(world_a, client_for):
    with world_a.context():
        row = CommissionRuleSet.objects.create(tenant=world_a.tenant, version=1, name="坏的",
                                               effective_from=tenant_today(world_a.tenant),
                                               rules={"rules": [{"kind": "bonus"}]})
    html = client_for(world_a.admin).get(
        reverse("commissions:rule_set_detail", args=[row.pk])).content.decode()
    assert "这个版本保存的规则无效；月结跳过这个版本。" in html


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_version_is_404(world_a, world_b, client_for, role):
    theirs = make_version(world_b)
    client = client_for(getattr(world_a, role))
    assert client.get(reverse("commissions:rule_set_detail", args=[theirs.pk])).status_code == 404


# --------------------------------------------------------------------------- new version

def test_new_version_form_starts_from_the_rules_in_use_on_a_free_day(world_a, client_for):
    w = world_a
    client = client_for(w.admin)
    response = client.get(NEW)
    form = response.context["form"]
    assert form.initial["preset"] == "home"
    assert json.loads(form.initial["rules"]) == PRESETS["home"]
    assert form.initial["effective_from"] == tenant_today(w.tenant)
    assert 'name="preview"' in response.content.decode()
    make_version(w, preset="education")
    form = client.get(NEW).context["form"]
    assert form.initial["preset"] == "education"
    assert json.loads(form.initial["rules"])["rules"][0]["windows"][0]["until_day"] == 45
    assert form.initial["effective_from"] == tenant_today(w.tenant) + dt.timedelta(days=1)
    form = client.get(NEW + "?preset=home").context["form"]
    assert json.loads(form.initial["rules"]) == PRESETS["home"]
    assert form.initial["name"] == "家居（按档固定奖励、封顶、奖金、排名）"


def test_admin_saves_a_new_version(world_a, client_for):
    w = world_a
    response = client_for(w.admin).post(NEW, form_data(w))
    assert response.status_code == 302
    with w.context():
        row = CommissionRuleSet.objects.get()
    assert response.url == reverse("commissions:rule_set_detail", args=[row.pk])
    assert (row.version, row.name, row.preset, row.note) == (1, "教育提成", "education", "试行")
    assert messages_of(response) == [
        f"提成规则第 1 版已保存：{tenant_today(w.tenant).isoformat()} 起生效。"]


def test_errors_are_listed_in_chinese_and_the_input_is_kept(world_a, client_for):
    w = world_a
    bad = json.dumps({"rules": [
        {"kind": "rate", "bands": [{"max": "5000", "percent": "-1"},
                                   {"min": "6000", "percent": "2"}]},
        {"kind": "cap", "percent_of_base": "-5"}]}, ensure_ascii=False)
    yesterday = (tenant_today(w.tenant) - dt.timedelta(days=1)).isoformat()
    response = client_for(w.admin).post(NEW, form_data(w, rules=bad, effective_from=yesterday,
                                                       note="草稿"))
    assert response.status_code == 400
    html = response.content.decode()
    for text in ("规则 1 › 第 1 档 › 比例：至少 0。", "规则 2 › 占底薪比例：至少 0。",
                 "规则不能从过去的日期生效：请选择今天或以后的日期。"):
        assert text in html, text
    assert "&quot;percent_of_base&quot;: &quot;-5&quot;" in html
    assert 'value="草稿"' in html and yesterday in html
    assert versions(w) == []


def test_a_day_taken_and_an_unknown_role_are_refused(world_a, client_for):
    w = world_a
    make_version(w)
    rules = json.dumps({"rules": [{"kind": "rate", "roles": ["tutor"],
                                   "bands": [{"percent": "1"}]}]})
    response = client_for(w.admin).post(NEW, form_data(w, rules=rules))
    html = response.content.decode()
    assert response.status_code == 400
    assert f"{tenant_today(w.tenant).isoformat()} 已有一个版本生效：请选择其他日期。" in html
    assert "这些角色不存在：tutor。请先在成交角色页面添加，或改正代码。" in html
    assert versions(w) == [1]


@pytest.mark.parametrize("role", ["manager", "finance"])
def test_readers_cannot_add_versions(world_a, client_for, role):
    client = client_for(getattr(world_a, role))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(world_a)).status_code == 403
    assert versions(world_a) == []


# --------------------------------------------------------------------------- preview

def test_preview_shows_last_month_under_the_draft_next_to_the_rules_in_force(edu, client_for):
    w = edu.world
    last_month = (edu.today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    make_deal(edu, amount="10000.00", signed_on=last_month + dt.timedelta(days=3))
    draft = json.dumps({"rules": [{"kind": "rate", "deal_kinds": ["new"],
                                   "bands": [{"percent": "2"}]}]})
    response = client_for(w.admin).post(NEW, form_data(w, rules=draft, note="看看",
                                                       preview="1"))
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.month == last_month
    # The education preset (in force last month) pays nothing for a new deal; the draft 2 %.
    assert [(r.name, r.current, r.draft, r.difference) for r in preview.rows] == [
        (edu.consultant.name, 0, 200, 200)]
    html = response.content.decode()
    assert f"{last_month:%Y-%m} 按草稿计算（未保存）" in html
    assert "200.00" in html and 'value="看看"' in html and "&quot;percent&quot;: &quot;2&quot;" in html
    assert versions(w) == []


def test_preview_of_a_bad_draft_lists_the_errors(world_a, client_for):
    w = world_a
    bad = json.dumps({"rules": [{"kind": "cap", "percent_of_base": "-5"}]})
    response = client_for(w.admin).post(NEW, form_data(w, rules=bad, preview="1"))
    assert response.status_code == 400
    assert "规则 1 › 占底薪比例：至少 0。" in response.content.decode()
    assert response.context["preview"] is None
    assert versions(w) == []


@pytest.mark.parametrize("role", ["manager", "finance"])
def test_readers_cannot_preview(world_a, client_for, role):
    response = client_for(getattr(world_a, role)).post(NEW, form_data(world_a, preview="1"))
    assert response.status_code == 403


# --------------------------------------------------------------------------- settings

def test_admin_changes_the_calculation_day(world_a, client_for):
    w = world_a
    client = client_for(w.admin)
    response = client.get(SETTINGS)
    assert response.context["form"].initial == {"calculation_day": 1}
    assert "每月 1 日计算上月提成，然后通知审批人。" in response.content.decode()
    response = client.post(SETTINGS, {"calculation_day": "5"})
    assert response.status_code == 302
    assert messages_of(response) == ["现在每月 5 日计算上月提成。"]
    assert commission_settings_for(w.tenant).calculation_day == 5
    html = client.get(SETTINGS).content.decode()
    assert "每月 5 日计算上月提成" in html and w.admin.name in html


@pytest.mark.parametrize("value", ["0", "29", "x", ""])
def test_a_bad_calculation_day_is_refused_keeping_the_input(world_a, client_for, value):
    w = world_a
    response = client_for(w.admin).post(SETTINGS, {"calculation_day": value})
    assert response.status_code == 400
    assert f'value="{value}"' in response.content.decode() or value == ""
    assert commission_settings_for(w.tenant).calculation_day == 1


@pytest.mark.parametrize("role", ["manager", "finance"])
def test_readers_see_the_settings_read_only(world_a, client_for, role):
    w = world_a
    client = client_for(getattr(w, role))
    response = client.get(SETTINGS)
    assert response.status_code == 200 and response.context["form"] is None
    assert "每月 1 日计算上月提成" in response.content.decode()
    assert client.post(SETTINGS, {"calculation_day": "5"}).status_code == 403
    assert commission_settings_for(w.tenant).calculation_day == 1


# --------------------------------------------------------------------------- query budgets

def test_the_list_does_not_query_per_row(world_a, client_for, api_client_for):
    from tests.query_budgets import assert_flat

    w = world_a
    made = iter(range(1, 100))

    def grow(n):
        for _ in range(n):
            make_version(w, days=next(made), name="v")

    assert_flat(client_for(w.manager), LIST, grow, n=5)
    assert_flat(api_client_for(w.manager), "/api/v1/commissions/rules/", grow, n=5)
