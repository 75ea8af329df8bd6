"""API of the tier schemes and the re-evaluation: administrators add versions, readers list and
read them, refusals are Chinese field errors in the project's error format with nothing saved,
another tenant's version 404, the progress read and the run started (202)."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.core.cache import cache

from apps.ownership.selectors import tenant_today
from apps.vip import tasks
from apps.vip.models import TierScheme
from apps.vip.schemes import tier_scheme_create
from apps.vip.tiers import PRESETS
from tests.vip.test_schemes import at_tiers, zh

SCHEMES = "/api/v1/vip/tier-schemes/"
RECOMPUTE = "/api/v1/vip/tier-schemes/recompute/"


def versions(world) -> list[int]:
    with world.context():
        return list(TierScheme.objects.order_by("version").values_list("version", flat=True))


def payload(world, days=1, **kw) -> dict:
    return {"effective_from": (tenant_today(world.tenant) + dt.timedelta(days=days)).isoformat(),
            "name": "金会员", "preset": "default", **kw}


def make_version(world):
    return tier_scheme_create(tenant=world.tenant, actor=world.admin,
                              effective_from=tenant_today(world.tenant), name="金会员",
                              preset="default", start_recompute=False)


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(tasks, "enqueue_on_commit", lambda _name, *a: calls.append(a))
    return calls


def test_admin_adds_versions_and_readers_list_them(world_a, api_client_for, queued,
                                                   django_capture_on_commit_callbacks):
    w = world_a
    admin = api_client_for(w.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(SCHEMES, payload(w, days=0, note="首版"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["preset"], body["note"], body["in_force"],
            body["recomputed_at"]) == (1, "default", "首版", True, None)
    assert body["created_by"]["id"] == w.admin.pk
    assert [t["code"] for t in body["rules"]["tiers"]] == ["silver", "gold", "diamond"]
    assert queued == [(w.tenant.pk, 1, w.admin.pk)]     # in force today: re-evaluation started
    own = copy.deepcopy(PRESETS["default"])
    own["tiers"][1]["min_total"] = "30000"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(SCHEMES, {"effective_from": payload(w, days=3)["effective_from"],
                                        "name": "降低门槛", "rules": own}, format="json")
    assert response.status_code == 201 and response.json()["in_force"] is False
    assert len(queued) == 1
    for role in ("manager", "finance", "cs"):
        listed = api_client_for(getattr(w, role)).get(SCHEMES).json()
        assert [(r["version"], r["in_force"]) for r in listed["results"]] == [
            (2, False), (1, True)]
    detail = api_client_for(w.cs).get(f"{SCHEMES}{body['id']}/")
    assert detail.status_code == 200 and detail.json()["name"] == "金会员"


def test_refusals_are_chinese_field_errors(world_a, api_client_for):
    w = world_a
    client = api_client_for(w.admin)
    bad = copy.deepcopy(PRESETS["default"])
    bad["tiers"][2]["min_referrals"] = 1                  # not above gold's 1
    response = client.post(SCHEMES, payload(w, rules=bad), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rules"] == [at_tiers(zh(
        "Tier %(n)s: its %(what)s threshold (%(value)s) must be above tier %(p)s's (%(prev)s): "
        "thresholds increase with the tier order.",
        n=3, what=zh("successful referrals"), value="1", p=2, prev="1"))]
    yesterday = (tenant_today(w.tenant) - dt.timedelta(days=1)).isoformat()
    response = client.post(SCHEMES, payload(w, effective_from=yesterday), format="json")
    assert response.json()["error"]["fields"]["effective_from"] == [
        "会员等级方案不能从过去的日期生效：请选择今天或以后的日期。"]
    response = client.post(SCHEMES, payload(w, preset=""), format="json")
    assert response.json()["error"]["fields"]["rules"] == ["请选择预设或填写规则。"]
    assert versions(w) == []
    make_version(w)
    response = client.post(SCHEMES, payload(w, days=0), format="json")
    assert response.json()["error"]["fields"]["effective_from"] == [
        f"{tenant_today(w.tenant).isoformat()} 已有一个版本生效：请选择其他日期。"]
    assert versions(w) == [1]


@pytest.mark.parametrize("role", ["manager", "finance", "cs", "sales"])
def test_only_admins_add_versions_and_start_runs(world_a, api_client_for, role, queued):
    client = api_client_for(getattr(world_a, role))
    assert client.post(SCHEMES, payload(world_a), format="json").status_code == 403
    assert client.post(RECOMPUTE, {}, format="json").status_code == 403
    assert versions(world_a) == [] and queued == []


@pytest.mark.parametrize("role", ["sales", "sales_other_team"])
def test_sales_cannot_read(world_a, api_client_for, role):
    row = make_version(world_a)
    client = api_client_for(getattr(world_a, role))
    assert client.get(SCHEMES).status_code == 403
    assert client.get(f"{SCHEMES}{row.pk}/").status_code == 403
    assert client.get(RECOMPUTE).status_code == 403


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_version_is_404(world_a, world_b, api_client_for, role):
    theirs = make_version(world_b)
    client = api_client_for(getattr(world_a, role))
    response = client.get(f"{SCHEMES}{theirs.pk}/")
    assert response.status_code == 404
    assert client.put(f"{SCHEMES}{theirs.pk}/", {}, format="json").status_code == 404
    assert client.delete(f"{SCHEMES}{theirs.pk}/").status_code == 404
    assert versions(world_b) == [1]


def test_progress_and_start(world_a, world_b, api_client_for, queued):
    w = world_a
    make_version(w)
    reader = api_client_for(w.finance)
    assert reader.get(RECOMPUTE).json() == {
        "state": "", "version": 0, "current": 0, "total": 0, "percent": 0, "running": False,
        "summary": {}}
    response = api_client_for(w.admin).post(RECOMPUTE, {}, format="json")
    assert response.status_code == 202
    assert (response.json()["state"], response.json()["version"]) == ("queued", 1)
    assert queued == [(w.tenant.pk, 1, w.admin.pk)]
    again = api_client_for(w.admin).post(RECOMPUTE, {}, format="json")
    assert again.status_code == 202 and len(queued) == 1          # joined
    cache.set(tasks.progress_key(w.tenant.pk), tasks._state(tasks.RUNNING, 1, 50, 200))
    body = reader.get(RECOMPUTE).json()
    assert (body["state"], body["current"], body["total"], body["percent"]) == (
        "running", 50, 200, 25)
    # Another tenant's run is not this one's.
    assert api_client_for(world_b.admin).get(RECOMPUTE).json()["state"] == ""
    tasks.recompute_tiers(*queued[0])
    body = reader.get(RECOMPUTE).json()
    assert (body["state"], body["running"], body["summary"]["customers"]) == ("done", False, 0)
