"""API of the follow-up plan: administrators add versions from the preset or hand-written
rules, readers (managers, customer service) list and read them, refusals are field errors in
the project's error format with nothing saved, sales and finance 403, another tenant's version
404."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from apps.followups.models import FollowUpPlan
from apps.followups.plan_versions import plan_create
from apps.followups.plans import PRESETS
from apps.ownership.selectors import tenant_today
from tests.followups.helpers import zh, zh_at

PLANS = "/api/v1/followups/plans/"


def versions(world) -> list[int]:
    with world.context():
        return list(FollowUpPlan.objects.order_by("version").values_list("version", flat=True))


def payload(world, days=1, **kw) -> dict:
    return {"effective_from": (tenant_today(world.tenant) + dt.timedelta(days=days)).isoformat(),
            "name": "回访制度", "preset": "default", **kw}


def make_version(world):
    return plan_create(tenant=world.tenant, actor=world.admin,
                       effective_from=tenant_today(world.tenant), name="回访制度",
                       preset="default")


def fields(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


def test_admin_adds_versions_and_readers_list_them(world_a, api_client_for):
    w = world_a
    admin = api_client_for(w.admin)
    response = admin.post(PLANS, payload(w, days=0, note="首版"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["preset"], body["note"], body["in_force"]) == (
        1, "default", "首版", True)
    assert body["created_by"]["id"] == w.admin.pk
    assert body["rules"]["calling_windows"] == [["10:00", "11:30"], ["15:00", "17:30"]]
    own = copy.deepcopy(PRESETS["default"])
    own["after_deal"] = [{"after": "3d", "channel": "wechat"}]
    response = admin.post(PLANS, {"effective_from": payload(w, days=3)["effective_from"],
                                  "name": "三天微信", "rules": own}, format="json")
    assert response.status_code == 201 and response.json()["in_force"] is False
    assert response.json()["rules"]["after_deal"] == [{"after": "3d", "channel": "wechat"}]
    for role in ("manager", "cs", "admin"):
        listed = api_client_for(getattr(w, role)).get(PLANS).json()
        assert [(r["version"], r["in_force"]) for r in listed["results"]] == [
            (2, False), (1, True)]
    detail = api_client_for(w.cs).get(f"{PLANS}{body['id']}/")
    assert detail.status_code == 200 and detail.json()["name"] == "回访制度"


def test_refusals_are_field_errors_and_nothing_is_saved(world_a, api_client_for):
    w = world_a
    client = api_client_for(w.admin)
    bad = copy.deepcopy(PRESETS["default"])
    bad["calling_windows"] = [["10:00", "12:00"], ["11:30", "13:00"]]
    bad["grades"][1]["min_units"] = 120                     # B above A's 100
    bad["after_deal"] = [{"after": "2x"}]
    where = " › ".join([zh("After a deal"), zh("entry %(n)s", n=1), zh("After")])
    assert sorted(fields(client.post(PLANS, payload(w, rules=bad), format="json"))["rules"]) == \
        sorted([
            zh_at(where, zh("Write an offset as a number and h (hours), d (days) or m "
                            "(months), e.g. 2h, 7d, 3m.")),
            zh_at(zh("Grades"), zh("Grade %(lower)s needs fewer units (%(n)s) than grade "
                                   "%(higher)s (%(m)s).", lower="B", n=120, higher="A", m=100)),
            zh_at(zh("Calling windows"), zh("List the calling windows in order of the day, "
                                            "without overlaps."))])
    yesterday = (tenant_today(w.tenant) - dt.timedelta(days=1)).isoformat()
    assert fields(client.post(PLANS, payload(w, effective_from=yesterday), format="json"))[
        "effective_from"] == [zh("The plan cannot take effect in the past: pick today or a "
                                 "later day.")]
    assert fields(client.post(PLANS, payload(w, preset=""), format="json"))["rules"] == [
        zh("Pick a preset or enter the rules.")]
    assert fields(client.post(PLANS, payload(w, preset="nope"), format="json"))["preset"]
    assert versions(w) == []
    make_version(w)
    assert fields(client.post(PLANS, payload(w, days=0), format="json"))["effective_from"] == [
        zh("A version already takes effect on %(day)s: pick another day.",
           day=tenant_today(w.tenant).isoformat())]
    assert versions(w) == [1]


@pytest.mark.parametrize("role", ["manager", "cs", "sales", "finance"])
def test_only_admins_add_versions(world_a, api_client_for, role):
    response = api_client_for(getattr(world_a, role)).post(PLANS, payload(world_a),
                                                          format="json")
    assert response.status_code == 403
    assert versions(world_a) == []


@pytest.mark.parametrize("role", ["sales", "sales_other_team", "finance"])
def test_sales_and_finance_cannot_read(world_a, api_client_for, role):
    row = make_version(world_a)
    client = api_client_for(getattr(world_a, role))
    assert client.get(PLANS).status_code == 403
    assert client.get(f"{PLANS}{row.pk}/").status_code == 403


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_version_is_404(world_a, world_b, api_client_for, role):
    theirs = make_version(world_b)
    client = api_client_for(getattr(world_a, role))
    assert client.get(f"{PLANS}{theirs.pk}/").status_code == 404
    assert client.put(f"{PLANS}{theirs.pk}/", {}, format="json").status_code == 404
    assert client.delete(f"{PLANS}{theirs.pk}/").status_code == 404
    assert api_client_for(world_a.admin).get(PLANS).json()["results"] == []
    assert versions(world_b) == [1]
