"""Pages of the tier schemes: who reads and who edits, the tiers as Chinese sentences, errors
listed with the input kept and nothing saved, saving a version for today starts the
re-evaluation, the re-evaluation's confirmation and its "x / y" progress polled with htmx,
another tenant's version 404, sales refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from apps.ownership.selectors import tenant_today
from apps.vip import tasks
from apps.vip.models import TierScheme
from apps.vip.schemes import tier_scheme_create
from apps.vip.tiers import PRESETS

LIST = reverse("vip:scheme_list")
NEW = reverse("vip:scheme_create")
RECOMPUTE = reverse("vip:scheme_recompute")
PROGRESS = reverse("vip:scheme_progress")


def versions(world) -> list[int]:
    with world.context():
        return list(TierScheme.objects.order_by("version").values_list("version", flat=True))


def make_version(world, days=0, **kw):
    return tier_scheme_create(
        tenant=world.tenant, actor=world.admin,
        effective_from=tenant_today(world.tenant) + dt.timedelta(days=days),
        name=kw.pop("name", "金会员"), preset=kw.pop("preset", "default"),
        start_recompute=False, **kw)


def form_data(world, **overrides) -> dict:
    rules = json.loads(json.dumps(PRESETS["default"]))
    rules["tiers"][1]["min_total"] = "30000"
    data = {"effective_from": (tenant_today(world.tenant) + dt.timedelta(days=2)).isoformat(),
            "name": "降低门槛", "preset": "default", "rules": json.dumps(rules), "note": "试行"}
    data.update(overrides)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(tasks, "enqueue_on_commit", lambda _name, *a: calls.append(a))
    return calls


# --------------------------------------------------------------------------- reading

@pytest.mark.parametrize("role", ["manager", "cs", "finance"])
def test_readers_see_the_default_tiers_without_edit_buttons(world_a, client_for, role):
    response = client_for(getattr(world_a, role)).get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert "会员等级方案" in html and "尚未保存任何版本：使用默认等级。" in html
    assert "银卡" in html and "钻石卡" in html
    assert NEW not in html and RECOMPUTE not in html
    assert 'hx-get="' + PROGRESS not in html       # nothing running: no poll


def test_admin_sees_the_version_in_force_scheduled_and_buttons(world_a, client_for):
    w = world_a
    first = make_version(w)
    make_version(w, days=5, name="下月方案")
    response = client_for(w.admin).get(LIST)
    html = response.content.decode()
    assert response.context["current"].pk == first.pk
    assert [r.version for r in response.context["scheduled"]] == [2]
    assert "第 1 版“金会员”" in html and "第 2 版“下月方案”将于" in html
    assert NEW in html and RECOMPUTE in html
    assert "第 1 版（今天生效中）尚未重新评定所有客户" in html


@pytest.mark.parametrize("role", ["sales", "sales_other_team"])
def test_sales_are_refused_everywhere(world_a, client_for, role, queued):
    w = world_a
    row = make_version(w)
    client = client_for(getattr(w, role))
    for url in (LIST, NEW, reverse("vip:scheme_detail", args=[row.pk]), RECOMPUTE, PROGRESS):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW, form_data(w)).status_code == 403
    assert client.post(RECOMPUTE).status_code == 403
    assert versions(w) == [1] and queued == []


@pytest.mark.parametrize("role", ["manager", "cs", "finance"])
def test_readers_cannot_add_or_start(world_a, client_for, role, queued):
    client = client_for(getattr(world_a, role))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(world_a)).status_code == 403
    assert client.get(RECOMPUTE).status_code == 403
    assert client.post(RECOMPUTE).status_code == 403
    assert versions(world_a) == [] and queued == []


def test_detail_shows_the_tiers_as_sentences_and_the_json(world_a, client_for):
    w = world_a
    row = make_version(w, note="按 000 号文件")
    response = client_for(w.cs).get(reverse("vip:scheme_detail", args=[row.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "第 1 版：金会员" in html and "生效中" in html and "按 000 号文件" in html
    assert "金卡" in html and "380元百货礼品一份" in html
    assert "&quot;min_total&quot;: &quot;50000&quot;" in html
    assert "尚未按此版本重新评定所有客户。" in html
    with w.context():
        TierScheme.objects.filter(pk=row.pk).update(recomputed_at=timezone.now())
    html = client_for(w.cs).get(reverse("vip:scheme_detail", args=[row.pk])).content.decode()
    assert "按此版本重新评定所有客户。" in html and "尚未" not in html


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
def test_another_tenants_version_is_404(world_a, world_b, client_for, role):
    theirs = make_version(world_b)
    client = client_for(getattr(world_a, role))
    assert client.get(reverse("vip:scheme_detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("vip:scheme_detail", args=[theirs.pk])).status_code == 404


# --------------------------------------------------------------------------- new version

def test_new_version_form_starts_from_the_latest_on_a_free_day(world_a, client_for):
    w = world_a
    make_version(w, preset="", rules={"tiers": [{"code": "member", "name": "会员"},
                                               {"code": "vip", "name": "贵宾",
                                                "min_total": "88000"}]})
    response = client_for(w.admin).get(NEW)
    form = response.context["form"]
    assert response.status_code == 200
    assert form.initial["effective_from"] == tenant_today(w.tenant) + dt.timedelta(days=1)
    assert '"min_total": "88000"' in form.initial["rules"]
    preset = client_for(w.admin).get(NEW + "?preset=default").context["form"]
    assert '"name": "钻石卡"' in preset.initial["rules"]


def test_errors_are_listed_in_chinese_with_the_input_kept(world_a, client_for):
    w = world_a
    rules = json.loads(json.dumps(PRESETS["default"]))
    rules["tiers"][2]["min_total"] = "40000"          # below gold's 50 000
    typed = json.dumps(rules, ensure_ascii=False)
    response = client_for(w.admin).post(NEW, form_data(w, rules=typed, name="写错的方案"))
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="rules-errors"' in html and "40000" in response.context["form"].errors["rules"][0]
    assert response.context["form"]["rules"].value() == typed
    assert "写错的方案" in html
    yesterday = (tenant_today(w.tenant) - dt.timedelta(days=1)).isoformat()
    response = client_for(w.admin).post(NEW, form_data(w, effective_from=yesterday))
    assert response.context["form"].errors["effective_from"] == [
        "会员等级方案不能从过去的日期生效：请选择今天或以后的日期。"]
    assert versions(w) == []


def test_saving_a_later_version_starts_nothing(world_a, client_for, queued,
                                               django_capture_on_commit_callbacks):
    w = world_a
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(w.admin).post(NEW, form_data(w))
    with w.context():
        row = TierScheme.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("vip:scheme_detail", args=[row.pk])
    day = (tenant_today(w.tenant) + dt.timedelta(days=2)).isoformat()
    assert messages_of(response) == [
        f"会员等级方案第 1 版已保存：{day} 起生效，当天将重新评定所有客户。"]
    assert row.rules["tiers"][1]["min_total"] == "30000" and row.note == "试行"
    assert queued == []


def test_saving_a_version_for_today_starts_the_re_evaluation(world_a, client_for, queued,
                                                             django_capture_on_commit_callbacks):
    w = world_a
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(w.admin).post(
            NEW, form_data(w, effective_from=tenant_today(w.tenant).isoformat()))
    assert messages_of(response) == [
        "会员等级方案第 1 版已保存：今天起生效，正在重新评定所有客户。"]
    assert queued == [(w.tenant.pk, 1, w.admin.pk)]
    html = client_for(w.finance).get(LIST).content.decode()
    assert 'hx-get="' + PROGRESS in html and "正在按第 1 版重新评定：0 / 0" in html


# --------------------------------------------------------------------------- re-evaluation

def test_admin_confirms_and_starts_a_re_evaluation(world_a, client_for, queued):
    w = world_a
    make_version(w)
    client = client_for(w.admin)
    page = client.get(RECOMPUTE)
    html = page.content.decode()
    assert page.status_code == 200
    assert "按今天生效的第 1 版" in html and 'id="scheme-recompute-button"' in html
    response = client.post(RECOMPUTE)
    assert response.status_code == 302 and response["Location"] == LIST
    assert messages_of(response) == ["已开始按第 1 版重新评定所有客户；本页显示进度。"]
    assert queued == [(w.tenant.pk, 1, w.admin.pk)]
    again = client.post(RECOMPUTE)                      # while it runs: joined
    assert messages_of(again)[-1] == "重新评定正在进行中：本页显示进度。"
    assert len(queued) == 1
    assert "disabled" in client.get(RECOMPUTE).content.decode()


def test_progress_is_polled_until_done(world_a, client_for, queued):
    w = world_a
    make_version(w)
    tasks.recompute_start(w.tenant, force=True)
    cache.set(tasks.progress_key(w.tenant.pk), tasks._state(tasks.RUNNING, 1, 300000, 1000000))
    fragment = client_for(w.manager).get(PROGRESS)
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert "正在按第 1 版重新评定：300000 / 1000000" in html and 'hx-trigger="every 2s"' in html
    assert 'aria-valuenow="30"' in html
    tasks.recompute_tiers(*queued[0])                  # the worker finishes it (no customers)
    html = client_for(w.manager).get(PROGRESS).content.decode()
    assert "hx-get" not in html
    assert "上次重新评定（第 1 版）已完成：0 位客户，0 位升级，0 位标记待复核，0 位首次定级。" in html
    assert "按第 1 版（今天生效中）重新评定所有客户。" in html


def test_a_failed_run_is_shown(world_a, client_for):
    w = world_a
    make_version(w)
    cache.set(tasks.progress_key(w.tenant.pk), tasks._state(tasks.FAILED, 1))
    html = client_for(w.admin).get(LIST).content.decode()
    assert "上次重新评定（第 1 版）未完成即中止；已完成的部分已保留。请再次启动以完成。" in html
