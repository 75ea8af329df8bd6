"""Pages of the follow-up plan: administrators, managers and customer service read the plan in
force as sentences, the scheduled versions and every version; administrators add a version
from the preset or from hand-written JSON; bad plans (overlapping calling windows, grade B
needing more units than A, an offset "2x", a day in the past) are listed in the site language
with the input kept and nothing saved; sales and finance are refused everywhere, other readers
may not add; another tenant's version is 404."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from django.urls import reverse

from apps.followups.models import FollowUpPlan
from apps.followups.plan_versions import plan_create
from apps.followups.plans import PRESETS
from apps.ownership.selectors import tenant_today
from tests.followups.helpers import zh, zh_at

LIST = reverse("followups:plan_list")
NEW = reverse("followups:plan_create")


def versions(world) -> list[tuple]:
    with world.context():
        return list(FollowUpPlan.objects.order_by("version")
                    .values_list("version", "effective_from", "name", "preset", "note"))


def make_version(world, days=0, **kw):
    return plan_create(tenant=world.tenant, actor=world.admin,
                       effective_from=tenant_today(world.tenant) + dt.timedelta(days=days),
                       name=kw.pop("name", "回访制度"), preset=kw.pop("preset", "default"), **kw)


def form_data(world, days=2, **overrides) -> dict:
    data = {"effective_from": (tenant_today(world.tenant) + dt.timedelta(days=days)).isoformat(),
            "name": "A 级每周", "preset": "", "rules": json.dumps(own_rules()), "note": "试行"}
    data.update(overrides)
    return data


def own_rules(**changes) -> dict:
    rules = copy.deepcopy(PRESETS["default"])
    rules["grades"][0]["every_days"] = 7
    rules.update(changes)
    return rules


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("role", ["admin", "manager", "cs"])
def test_readers_see_the_default_plan_as_sentences(world_a, client_for, role):
    response = client_for(getattr(world_a, role)).get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["current"] is None
    described = dict(response.context["described"])
    assert zh("Grade %(grade)s (%(units)s units a year or more): a visit every %(days)s days",
              grade="A", units=100, days=10) in described[zh("By grade")]
    assert zh("Calls only inside the calling windows: %(windows)s.",
              windows="10:00–11:30、15:00–17:30") in html
    assert (NEW in html) is (role == "admin")


def test_the_list_shows_the_version_in_force_scheduled_and_all(world_a, client_for):
    w = world_a
    first = make_version(w)
    make_version(w, days=5, name="下月计划", preset="", rules=own_rules())
    response = client_for(w.manager).get(LIST)
    html = response.content.decode()
    assert response.context["current"].pk == first.pk
    assert [r.version for r in response.context["scheduled"]] == [2]
    assert [r.version for r in response.context["page_obj"]] == [2, 1]
    assert "回访制度" in html and "下月计划" in html
    # The sentences are those of the version in force (A every 10 days), not the scheduled one.
    assert zh("Grade %(grade)s (%(units)s units a year or more): a visit every %(days)s days",
              grade="A", units=100, days=10) in html


def test_detail_shows_the_rules_and_the_json(world_a, client_for):
    w = world_a
    row = make_version(w, days=3, preset="", rules=own_rules(), note="按制度")
    response = client_for(w.cs).get(reverse("followups:plan_detail", args=[row.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["scheduled"] is True and response.context["in_force"] is False
    assert "按制度" in html and "&quot;every_days&quot;: 7" in html
    assert zh("Grade %(grade)s (%(units)s units a year or more): a visit every %(days)s days",
              grade="A", units=100, days=7) in html


@pytest.mark.parametrize("role", ["sales", "sales_other_team", "finance"])
def test_sales_and_finance_are_refused_everywhere(world_a, client_for, role):
    w = world_a
    row = make_version(w)
    client = client_for(getattr(w, role))
    for url in (LIST, NEW, reverse("followups:plan_detail", args=[row.pk])):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW, form_data(w)).status_code == 403
    assert [v[0] for v in versions(w)] == [1]


@pytest.mark.parametrize("role", ["manager", "cs"])
def test_readers_cannot_add_a_version(world_a, client_for, role):
    client = client_for(getattr(world_a, role))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(world_a)).status_code == 403
    assert versions(world_a) == []


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_version_is_404(world_a, world_b, client_for, role):
    theirs = make_version(world_b)
    client = client_for(getattr(world_a, role))
    assert client.get(reverse("followups:plan_detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("followups:plan_detail", args=[theirs.pk])).status_code == 404
    assert [v[0] for v in versions(world_b)] == [1]


# --------------------------------------------------------------------------- new version


def test_the_form_starts_from_the_latest_version_on_a_free_day(world_a, client_for):
    w = world_a
    make_version(w, preset="", rules=own_rules())
    response = client_for(w.admin).get(NEW)
    form = response.context["form"]
    assert response.status_code == 200
    assert form.initial["effective_from"] == tenant_today(w.tenant) + dt.timedelta(days=1)
    assert '"every_days": 7' in form.initial["rules"]
    preset = client_for(w.admin).get(NEW + "?preset=default").context["form"]
    assert '"every_days": 10' in preset.initial["rules"] and preset.initial["preset"] == "default"


def test_admin_saves_a_version_from_the_preset(world_a, client_for):
    w = world_a
    today = tenant_today(w.tenant)
    response = client_for(w.admin).post(NEW, form_data(
        w, days=0, name="默认制度", preset="default", rules="", note=""))
    with w.context():
        row = FollowUpPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("followups:plan_detail", args=[row.pk])
    assert messages_of(response) == [zh(
        "Follow-up plan version %(version)s saved: in force from today.", version=1)]
    assert versions(w) == [(1, today, "默认制度", "default", "")]
    assert row.rules["grades"][0] == {"grade": "A", "min_units": 100, "every_days": 10}


def test_admin_saves_a_hand_written_version_for_a_later_day(world_a, client_for):
    w = world_a
    day = tenant_today(w.tenant) + dt.timedelta(days=2)
    response = client_for(w.admin).post(NEW, form_data(w))
    assert response.status_code == 302
    assert messages_of(response) == [zh(
        "Follow-up plan version %(version)s saved: in force from %(day)s.", version=1,
        day=day.isoformat())]
    assert versions(w) == [(1, day, "A 级每周", "", "试行")]
    with w.context():
        assert FollowUpPlan.objects.get().rules["grades"][0]["every_days"] == 7


def _post_bad(world, client_for, **changes):
    typed = json.dumps(own_rules(**changes), ensure_ascii=False)
    response = client_for(world.admin).post(NEW, form_data(world, rules=typed, name="写错的计划"))
    assert response.status_code == 400
    assert response.context["form"]["rules"].value() == typed
    assert "写错的计划" in response.content.decode()
    assert versions(world) == []
    return response


def test_overlapping_windows_are_refused_with_the_input_kept(world_a, client_for):
    response = _post_bad(world_a, client_for,
                         calling_windows=[["10:00", "12:00"], ["11:30", "13:00"]])
    assert response.context["form"].errors["rules"] == [zh_at(zh("Calling windows"), zh(
        "List the calling windows in order of the day, without overlaps."))]
    assert 'id="rules-errors"' in response.content.decode()


def test_grade_b_with_more_units_than_a_is_refused(world_a, client_for):
    grades = [{"grade": "A", "min_units": 50, "every_days": 10},
              {"grade": "B", "min_units": 80, "every_days": 15}]
    response = _post_bad(world_a, client_for, grades=grades)
    assert response.context["form"].errors["rules"] == [zh_at(zh("Grades"), zh(
        "Grade %(lower)s needs fewer units (%(n)s) than grade %(higher)s (%(m)s).",
        lower="B", n=80, higher="A", m=50))]


def test_an_offset_2x_is_refused_with_how_to_write_it(world_a, client_for):
    response = _post_bad(world_a, client_for, after_deal=[{"after": "2x"}])
    where = " › ".join([zh("After a deal"), zh("entry %(n)s", n=1), zh("After")])
    assert response.context["form"].errors["rules"] == [zh_at(where, zh(
        "Write an offset as a number and h (hours), d (days) or m (months), e.g. 2h, 7d, 3m."))]


def test_a_day_in_the_past_and_broken_json_are_refused(world_a, client_for):
    w = world_a
    yesterday = (tenant_today(w.tenant) - dt.timedelta(days=1)).isoformat()
    response = client_for(w.admin).post(NEW, form_data(w, effective_from=yesterday))
    assert response.status_code == 400
    assert response.context["form"].errors["effective_from"] == [zh(
        "The plan cannot take effect in the past: pick today or a later day.")]
    response = client_for(w.admin).post(NEW, form_data(w, rules='{"grades": ['))
    assert response.status_code == 400
    assert response.context["form"]["rules"].value() == '{"grades": ['
    assert len(response.context["form"].errors["rules"]) == 1
    assert versions(w) == []
