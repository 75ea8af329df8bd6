"""Ownership policy versions: validation (Chinese field errors, nothing saved), effective dates,
numbering, audit, the page and the API per role."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.ownership.models import OwnershipPolicy
from apps.ownership.selectors import policy_for, tenant_today
from apps.ownership.services import policy_create

from .test_pool_helpers import audits, days

VALID = {"release_after_days": 20, "revisit_window_days": 30, "warn_before_days": 5,
         "reclaim_after_days": 7}


def create(world, actor=None, **overrides):
    today = tenant_today(world.tenant)
    kwargs = {"effective_from": today, **VALID, **overrides}
    return policy_create(tenant=world.tenant, actor=actor or world.admin, **kwargs)


def versions(world) -> list[tuple]:
    with world.context():
        return list(OwnershipPolicy.objects.order_by("version")
                    .values_list("version", "effective_from", "release_after_days"))


def test_admin_adds_versions_numbered_and_audited(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    first = create(w, note="首版")
    second = create(w, effective_from=today + days(10), release_after_days=45,
                    max_customers_per_owner=200, daily_claim_cap=5)
    assert (first.version, second.version) == (1, 2)
    assert versions(w) == [(1, today, 20), (2, today + days(10), 45)]
    [entry, _] = audits(w, "ownership.policy.create")
    assert entry.actor == w.admin and entry.reason == "首版"
    assert entry.changes["release_after_days"] == 20 and entry.changes["version"] == 1
    with w.context():
        assert policy_for(w.tenant).version == 1                       # today
        assert policy_for(w.tenant, today + days(9)).release_after_days == 20
        assert policy_for(w.tenant, today + days(10)).release_after_days == 45


def test_defaults_apply_without_a_version(world_a):
    with world_a.context():
        rules = policy_for(world_a.tenant)
    assert (rules.version, rules.release_after_days, rules.revisit_window_days,
            rules.warn_before_days, rules.reclaim_after_days) == (0, 30, 30, 3, 7)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"warn_before_days": 20}, "warn_before_days",
     "提醒必须早于释放：提醒天数须小于释放期限（20 天）。"),
    ({"warn_before_days": 25}, "warn_before_days",
     "提醒必须早于释放：提醒天数须小于释放期限（20 天）。"),
    ({"release_after_days": 0}, "release_after_days", "请输入不小于 1 的数。"),
    ({"release_after_days": -5}, "release_after_days", "请输入不小于 1 的数。"),
    ({"release_after_days": 400}, "release_after_days", "请输入不大于 365 的数。"),
    ({"revisit_window_days": 0}, "revisit_window_days", "请输入不小于 1 的数。"),
    ({"warn_before_days": -1}, "warn_before_days", "请输入不小于 0 的数。"),
    ({"reclaim_after_days": -1}, "reclaim_after_days", "请输入不小于 0 的数。"),
    ({"daily_claim_cap": 0}, "daily_claim_cap", "请输入不小于 1 的数。"),
    ({"max_customers_per_owner": -3}, "max_customers_per_owner", "请输入不小于 1 的数。"),
    ({"release_after_days": None}, "release_after_days", "这个字段是必填项。"),
    ({"release_after_days": "abc"}, "release_after_days", "请输入整数。"),
    ({"effective_from": None}, "effective_from", "这个字段是必填项。"),
    ({"note": "长" * 201}, "note", "最多 200 个字符。"),
])
def test_refusals_are_field_errors_and_save_nothing(world_a, overrides, field, message):
    with pytest.raises(ValidationError) as exc:
        create(world_a, **overrides)
    assert exc.value.message_dict[field] == [message]
    assert versions(world_a) == []
    assert audits(world_a, "ownership.policy.create") == []


def test_effective_date_not_in_the_past_and_one_version_per_day(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    with pytest.raises(ValidationError) as exc:
        create(w, effective_from=today - days(1))
    assert exc.value.message_dict["effective_from"] == ["规则不能在过去生效：请选择今天或以后的日期。"]
    create(w, effective_from=today + days(3))
    with pytest.raises(ValidationError) as exc:
        create(w, effective_from=today + days(3), release_after_days=40)
    assert exc.value.message_dict["effective_from"] == [
        f"{(today + days(3)).isoformat()} 已有一个版本生效：请选择其他日期。"]
    assert versions(w) == [(1, today + days(3), 20)]


@pytest.mark.parametrize("role", ["manager", "sales", "cs", "finance"])
def test_only_admins_add_versions(world_a, role):
    with pytest.raises(PermissionDenied) as exc:
        create(world_a, actor=getattr(world_a, role))
    assert str(exc.value) == "只有管理员可以修改客户归属规则。"
    assert versions(world_a) == []


# --------------------------------------------------------------------------- page


def form_data(world, **overrides):
    data = {"effective_from": tenant_today(world.tenant).isoformat(), "release_after_days": "20",
            "revisit_window_days": "30", "warn_before_days": "5", "max_customers_per_owner": "",
            "daily_claim_cap": "", "reclaim_after_days": "7", "note": ""}
    data.update(overrides)
    return data


def test_policy_page_for_admin_shows_defaults_form_and_saves(world_a, client_for):
    w = world_a
    client = client_for(w.admin)
    response = client.get(reverse("ownership:policy"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "客户归属规则" in html and "默认规则（尚未保存任何版本）" in html
    assert response.context["form"].initial["release_after_days"] == 30   # prefilled
    response = client.post(reverse("ownership:policy"), form_data(w, note="旺季"))
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [f"归属规则第 1 版已保存，自 {tenant_today(w.tenant).isoformat()} 起生效。"]
    html = client.get(reverse("ownership:policy")).content.decode()
    assert "第 1 版，自" in html and "旺季" in html
    # The next form starts from the saved version, on the next free day.
    form = client.get(reverse("ownership:policy")).context["form"]
    assert form.initial["release_after_days"] == 20
    assert form.initial["effective_from"] == tenant_today(w.tenant) + days(1)


def test_policy_page_keeps_input_and_shows_chinese_errors(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post(reverse("ownership:policy"),
                           form_data(world_a, warn_before_days="25", note="试试"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "提醒必须早于释放：提醒天数须小于释放期限（20 天）。" in html
    assert 'value="25"' in html and 'value="试试"' in html
    assert versions(world_a) == []


def test_policy_page_roles(world_a, client_for):
    w = world_a
    create(w)
    manager = client_for(w.manager)
    response = manager.get(reverse("ownership:policy"))
    assert response.status_code == 200 and response.context["form"] is None
    assert manager.post(reverse("ownership:policy"), form_data(w)).status_code == 403
    for role in ("sales", "cs", "finance"):
        client = client_for(getattr(w, role))
        assert client.get(reverse("ownership:policy")).status_code == 403
        assert client.post(reverse("ownership:policy"), form_data(w)).status_code == 403
    assert [v[0] for v in versions(w)] == [1]


def test_scheduled_versions_are_listed(world_a, client_for):
    w = world_a
    create(w)
    create(w, effective_from=tenant_today(w.tenant) + days(7), release_after_days=60)
    response = client_for(w.manager).get(reverse("ownership:policy"))
    assert [p.version for p in response.context["scheduled"]] == [2]
    assert response.context["current"].version == 1
    assert "待生效版本" in response.content.decode()


# --------------------------------------------------------------------------- API


def test_api_lists_and_creates_versions(world_a, api_client_for):
    w = world_a
    url = "/api/v1/ownership/policies/"
    client = api_client_for(w.admin)
    payload = {"effective_from": tenant_today(w.tenant).isoformat(), **VALID, "daily_claim_cap": 3}
    response = client.post(url, payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 1 and response.json()["daily_claim_cap"] == 3
    assert response.json()["created_by"]["id"] == w.admin.pk
    listed = api_client_for(w.manager).get(url).json()
    assert [r["version"] for r in listed["results"]] == [1]


def test_api_refusals(world_a, api_client_for):
    w = world_a
    url = "/api/v1/ownership/policies/"
    payload = {"effective_from": tenant_today(w.tenant).isoformat(), **VALID,
               "warn_before_days": 30}
    response = api_client_for(w.admin).post(url, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["warn_before_days"] == [
        "提醒必须早于释放：提醒天数须小于释放期限（20 天）。"]
    ok = {**payload, "warn_before_days": 3}
    for role in ("manager", "sales"):
        assert api_client_for(getattr(w, role)).post(url, ok, format="json").status_code == 403
    assert api_client_for(w.sales).get(url).status_code == 403
    assert versions(w) == []


def test_a_new_version_is_in_force_at_once_despite_the_cache(world_a):
    """policy_for caches the tenant's versions; saving one must not leave a stale answer."""
    w = world_a
    today = tenant_today(w.tenant)
    with w.context():
        assert policy_for(w.tenant, today).release_after_days == 30  # cached: the defaults
    create(w, release_after_days=45)
    with w.context():
        assert policy_for(w.tenant, today).release_after_days == 45
        OwnershipPolicy.objects.filter(version=1).delete()
        assert policy_for(w.tenant, today).release_after_days == 30
