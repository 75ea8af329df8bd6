"""Pages and API of the reward policy: who sees and edits what, Chinese errors with the input
kept, another tenant's ids 404."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from apps.ownership.selectors import tenant_today
from apps.referrals.models import RewardPolicy
from apps.referrals.reward_policies import reward_policy_create
from apps.referrals.reward_presets import EDUCATION, HOME, PRESETS
from apps.tenancy.models import Tenant
from tests.query_budgets import assert_flat

pytestmark = pytest.mark.django_db

API = "/api/v1/referrals/reward-policies/"


def LIST():
    return reverse("referrals:reward_policy_list")


def NEW():
    return reverse("referrals:reward_policy_create")


def DETAIL(pk):
    return reverse("referrals:reward_policy_detail", args=[pk])


def versions(world) -> list[int]:
    with world.context():
        return list(RewardPolicy.objects.order_by("version").values_list("version", flat=True))


def make_version(world, days=0, **kw):
    return reward_policy_create(
        tenant=world.tenant, actor=world.admin,
        effective_from=tenant_today(world.tenant) + dt.timedelta(days=days),
        name=kw.pop("name", "家居提成"), rules=kw.pop("rules", HOME), **kw)


def form_data(world, **overrides) -> dict:
    data = {"effective_from": tenant_today(world.tenant).isoformat(), "name": "教育奖励",
            "preset": "", "rules": json.dumps(EDUCATION), "note": "试行"}
    data.update(overrides)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --------------------------------------------------------------------------- pages

def test_urls_are_where_the_brief_says():
    assert LIST() == "/referrals/reward-policies/"
    assert NEW() == "/referrals/reward-policies/new/"
    assert DETAIL(7) == "/referrals/reward-policies/7/"


def test_list_without_a_version_shows_the_industry_preset(world_a, client_for):
    response = client_for(world_a.manager).get(LIST())
    html = response.content.decode()
    assert response.status_code == 200
    assert "转介绍奖励政策" in html and "尚未保存任何版本" in html
    assert "成交额 10000 以内（含）：成交额的 5%" in html
    assert "成交额 超过 100000：成交额的 15%" in html
    assert NEW() not in html   # managers read only


def test_list_for_an_education_tenant_and_the_version_in_force(world_a, client_for):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(industry="education")
    html = client_for(world_a.admin).get(LIST()).content.decode()
    assert "成交额 5000（含）至 10000（不含）：成交额的 8%" in html
    assert "第 10 次成功转介绍时一次性奖励 3000" in html
    assert "退款后，已发放的奖励由介绍人保留。" in html
    assert NEW() in html
    first = make_version(world_a)
    make_version(world_a, days=5, name="下月", rules={"points": 20})
    response = client_for(world_a.finance).get(LIST())
    html = response.content.decode()
    assert response.context["current"].pk == first.pk
    assert [r.version for r in response.context["scheduled"]] == [2]
    assert "第 1 版“家居提成”" in html and "第 2 版“下月”将于" in html


def test_detail_shows_the_rules_readably(world_a, client_for):
    row = make_version(world_a, rules=PRESETS["franchise"], note="按 002 号文件")
    response = client_for(world_a.finance).get(DETAIL(row.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert "按 002 号文件" in html and "生效中" in html
    assert "第 4–6 次：每次 5000，另加被介绍客户后续消费的 2.5%" in html
    assert "成交额 30000（含）至 50000（不含）：纪念册" in html
    assert "&quot;override_percent&quot;" in html   # the JSON as stored


@pytest.mark.parametrize("role", ["sales", "cs"])
def test_sales_and_customer_service_are_refused(world_a, client_for, role):
    row = make_version(world_a)
    client = client_for(getattr(world_a, role))
    for url in (LIST(), NEW(), DETAIL(row.pk)):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW(), form_data(world_a)).status_code == 403
    assert versions(world_a) == [1]


@pytest.mark.parametrize("role", ["manager", "finance"])
def test_readers_cannot_add_versions(world_a, client_for, role):
    client = client_for(getattr(world_a, role))
    assert client.get(NEW()).status_code == 403
    assert client.post(NEW(), form_data(world_a)).status_code == 403
    assert versions(world_a) == []


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_version_is_404(world_a, world_b, client_for, role):
    theirs = make_version(world_b)
    assert client_for(getattr(world_a, role)).get(DETAIL(theirs.pk)).status_code == 404


def test_new_version_form_starts_from_the_policy_in_use_on_a_free_day(world_a, client_for):
    client = client_for(world_a.admin)
    form = client.get(NEW()).context["form"]
    assert form.initial["preset"] == "home"
    assert json.loads(form.initial["rules"]) == HOME
    assert form.initial["effective_from"] == tenant_today(world_a.tenant)
    make_version(world_a, rules={"points": 4})
    form = client.get(NEW()).context["form"]
    assert json.loads(form.initial["rules"]) == {"points": 4}
    assert form.initial["effective_from"] == tenant_today(world_a.tenant) + dt.timedelta(days=1)
    response = client.get(NEW() + "?preset=franchise")
    assert json.loads(response.context["form"].initial["rules"]) == PRESETS["franchise"]
    assert "加盟" in response.context["form"].initial["name"]


def test_admin_saves_a_new_version(world_a, client_for):
    response = client_for(world_a.admin).post(NEW(), form_data(world_a))
    assert response.status_code == 302
    with world_a.context():
        row = RewardPolicy.objects.get()
    assert response.url == DETAIL(row.pk)
    assert (row.version, row.name, row.note, row.rules["points"]) == (1, "教育奖励", "试行", 10)
    assert messages_of(response) == [
        f"奖励政策第 1 版已保存：自 {tenant_today(world_a.tenant).isoformat()} 起生效。"]


def test_an_empty_rules_box_copies_the_picked_preset(world_a, client_for):
    response = client_for(world_a.admin).post(NEW(), form_data(world_a, rules="",
                                                               preset="home"))
    assert response.status_code == 302
    with world_a.context():
        assert RewardPolicy.objects.get().rules["percent_bands"]["edges"] == "upper"


def test_errors_are_listed_in_chinese_and_the_input_is_kept(world_a, client_for):
    bad = json.dumps({"percent_bands": {"bands": [
        {"min": "1000", "max": "5000", "percent": "5"},
        {"min": "4000", "percent": "8"}]}, "ordinal_tiers": [{"from": 2, "cash": "4000"}],
        "points": -1}, ensure_ascii=False)
    yesterday = (tenant_today(world_a.tenant) - dt.timedelta(days=1)).isoformat()
    response = client_for(world_a.admin).post(NEW(), form_data(
        world_a, rules=bad, effective_from=yesterday, note="草稿"))
    assert response.status_code == 400
    html = response.content.decode()
    for text in ("按金额比例：第 2 档与第 1 档重叠", "每次转介绍积分：至少 0。",
                 "首个次序档必须从第 1 次转介绍开始",
                 "奖励政策不能在过去生效：请选择今天或以后的日期。"):
        assert text in html, text
    assert "&quot;4000&quot;" in html and 'value="草稿"' in html and yesterday in html
    assert versions(world_a) == []


def test_not_json_is_refused_with_where(world_a, client_for):
    response = client_for(world_a.admin).post(NEW(), form_data(world_a, rules="{points: 1}"))
    assert response.status_code == 400
    assert "这不是有效的 JSON（第 1 行第 2 列：" in response.content.decode()
    assert versions(world_a) == []


# --------------------------------------------------------------------------- API

def test_api_lists_and_marks_the_version_in_force(world_a, api_client_for):
    first = make_version(world_a)
    make_version(world_a, days=3, name="下周", rules={"points": 1})
    response = api_client_for(world_a.finance).get(API)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["version"], r["in_force"]) for r in rows] == [(2, False), (1, True)]
    assert rows[1]["id"] == first.pk and rows[1]["rules"]["percent_bands"]["edges"] == "upper"
    assert rows[1]["described"][0]["part"] == "按金额比例"


def test_api_admin_creates_and_gets_one(world_a, api_client_for):
    client = api_client_for(world_a.admin)
    response = client.post(API, {"effective_from": tenant_today(world_a.tenant).isoformat(),
                                 "name": "加盟", "preset": "franchise"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] == 1 and body["in_force"] is True
    assert body["rules"]["ordinal_tiers"][2]["cash"] == "6000"
    got = client.get(f"{API}{body['id']}/")
    assert got.status_code == 200 and got.json()["name"] == "加盟"


def test_api_refusals_are_field_errors_in_chinese(world_a, api_client_for):
    response = api_client_for(world_a.admin).post(API, {
        "effective_from": tenant_today(world_a.tenant).isoformat(), "name": "坏的",
        "rules": {"percent_bands": {"bands": [{"min": "1000", "max": "5000",
                                               "percent": "101"}]}}}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["fields"] == {"rules": ["按金额比例 › 第 1 档 › percent：最多 100。"]}
    assert versions(world_a) == []


@pytest.mark.parametrize("role, get_status, post_status", [
    ("manager", 200, 403), ("finance", 200, 403), ("sales", 403, 403), ("cs", 403, 403)])
def test_api_roles(world_a, api_client_for, role, get_status, post_status):
    row = make_version(world_a)
    client = api_client_for(getattr(world_a, role))
    assert client.get(API).status_code == get_status
    assert client.get(f"{API}{row.pk}/").status_code == get_status
    response = client.post(API, {"effective_from": (tenant_today(world_a.tenant)
                                                    + dt.timedelta(days=1)).isoformat(),
                                 "name": "x", "preset": "home"}, format="json")
    assert response.status_code == post_status
    assert versions(world_a) == [1]


@pytest.mark.parametrize("role", ["admin", "finance", "sales"])
def test_api_another_tenants_version_is_404(world_a, world_b, api_client_for, role):
    theirs = make_version(world_b)
    assert api_client_for(getattr(world_a, role)).get(f"{API}{theirs.pk}/").status_code == 404


def test_the_list_page_and_the_api_make_no_query_per_version(world_a, client_for,
                                                             api_client_for):
    made = []

    def grow(n):
        for _ in range(n):
            made.append(make_version(world_a, days=len(made), name=f"v{len(made)}"))

    assert_flat(client_for(world_a.finance), LIST(), grow, n=4)
    response = assert_flat(api_client_for(world_a.manager), API, grow, n=4)
    assert len(response.json()["results"]) == 16
