"""The honour board: ranking order and ties, periods in the tenant's time zone, statuses,
names shown to whom, the awards, the public page, isolation, roles, query budget."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from apps.core.models import AuditEntry
from apps.notifications.models import Notification
from apps.ownership.selectors import tenant_today
from apps.referrals import board
from apps.referrals.models import HonourAward
from apps.referrals.reward_policies import reward_policy_create
from apps.referrals.tasks import record_honour_awards
from tests.query_budgets import assert_flat
from tests.referrals.board_support import (
    at,
    names,
    new_customer_referrer,
    staff_referrer,
    success,
    successes,
)

pytestmark = pytest.mark.django_db


# ----------------------------------------------------------------------------- ranking

def test_order_most_successes_first_ties_to_who_got_there_first(world_a):
    w = world_a
    zhang = new_customer_referrer(w, "张三")
    li = new_customer_referrer(w, "李四")
    wang = staff_referrer(w, w.sales)
    zhao = new_customer_referrer(w, "赵六")
    successes(w, zhang, at(2025, 10, 3), 3)
    successes(w, li, at(2025, 10, 5), 2)            # 2, last on the 5th
    successes(w, wang, at(2025, 10, 2), 1)
    success(w, wang, at(2025, 10, 20))               # 2, last on the 20th: after 李四
    success(w, zhao, at(2025, 10, 4))
    rows = board.leaderboard(w.tenant, period="month", start=dt.date(2025, 10, 17))
    assert [(r.rank, r.name, r.successes) for r in rows] == [
        (1, "张三", 3), (2, "李四", 2), (3, w.sales.name, 2), (4, "赵六", 1)]
    assert rows[0].masked_name == "张*" and rows[2].kind == "staff"
    # The same count at the same moment: the lower referrer id first.
    a, b = new_customer_referrer(w, "甲"), new_customer_referrer(w, "乙")
    success(w, b, at(2025, 9, 9))
    success(w, a, at(2025, 9, 9))
    assert names(board.leaderboard(w.tenant, period="month", start=dt.date(2025, 9, 1))) == [
        ("甲", 1), ("乙", 1)]
    assert len(board.leaderboard(w.tenant, period="month", start=dt.date(2025, 10, 1),
                                 limit=2)) == 2


def test_audiences(world_a):
    w = world_a
    customer = new_customer_referrer(w, "张三")
    staff = staff_referrer(w, w.sales)
    successes(w, customer, at(2025, 10, 3), 2)
    success(w, staff, at(2025, 10, 3))
    start = dt.date(2025, 10, 1)
    assert names(board.leaderboard(w.tenant, start=start, audience="staff")) == [
        (w.sales.name, 1)]
    assert names(board.leaderboard(w.tenant, start=start, audience="customer")) == [("张三", 2)]
    assert len(board.leaderboard(w.tenant, start=start, audience="all")) == 2


def test_month_and_quarter_bounds_in_the_tenant_time_zone(world_a):
    w = world_a
    r = new_customer_referrer(w, "张三")
    success(w, r, at(2025, 10, 31, 23, 30))   # 15:30 UTC: still October in Beijing
    success(w, r, at(2025, 11, 1, 0, 10))     # 31 Oct 16:10 UTC: November in Beijing
    success(w, r, at(2025, 12, 31, 23, 59))   # the last minute of Q4
    success(w, r, at(2026, 1, 1, 0, 0))       # the first of Q1
    count = lambda period, day: sum(  # noqa: E731
        row.successes for row in board.leaderboard(w.tenant, period=period, start=day))
    assert count("month", dt.date(2025, 10, 1)) == 1
    assert count("month", dt.date(2025, 11, 30)) == 1
    assert count("month", dt.date(2025, 12, 5)) == 1
    assert count("quarter", dt.date(2025, 11, 15)) == 3
    assert count("quarter", dt.date(2026, 2, 1)) == 1
    q = board.period_bounds(w.tenant, "quarter", dt.date(2025, 11, 15))
    assert (q.first, q.after, q.previous_start) == (dt.date(2025, 10, 1), dt.date(2026, 1, 1),
                                                    dt.date(2025, 7, 1))
    assert q.since == at(2025, 10, 1, 0, 0) and q.until == at(2026, 1, 1, 0, 0)


def test_only_successful_statuses_count(world_a):
    w = world_a
    r = new_customer_referrer(w, "张三")
    for status in ("converted", "reward_pending", "approved", "paid", "rejected", "reversed",
                   "registered", "verified"):
        success(w, r, at(2025, 10, 8), status=status)
    assert names(board.leaderboard(w.tenant, start=dt.date(2025, 10, 1))) == [("张三", 4)]


def test_tenant_b_never_sees_tenant_a_referrers(world_a, world_b, client_for):
    success(world_a, new_customer_referrer(world_a, "张三"), at(2025, 10, 8))
    success(world_b, new_customer_referrer(world_b, "李四"), at(2025, 10, 8))
    assert names(board.leaderboard(world_b.tenant, start=dt.date(2025, 10, 1))) == [("李四", 1)]
    page = client_for(world_b.manager).get("/referrals/board/", {"start": "2025-10-01"})
    html = page.content.decode()
    assert "李四" in html and "张三" not in html and "张*" not in html


# ----------------------------------------------------------------------------- awards

def _october_board(w):
    """Staff: sales 3, sales2 2, manager 2 (later), sales_other_team 1; a customer with 5."""
    successes(w, staff_referrer(w, w.sales), at(2025, 10, 2), 3)
    successes(w, staff_referrer(w, w.sales2), at(2025, 10, 3), 2)
    successes(w, staff_referrer(w, w.manager), at(2025, 10, 9), 2)
    success(w, staff_referrer(w, w.sales_other_team), at(2025, 10, 9))
    successes(w, new_customer_referrer(w, "张三"), at(2025, 10, 1), 5)


def test_awards_top_three_staff_recorded_once_audited_and_notified(world_a):
    w = world_a
    _october_board(w)
    result = board.honour_awards_record(tenant=w.tenant, month=dt.date(2025, 10, 20),
                                        actor=w.admin)
    assert result.created and result.month == dt.date(2025, 10, 1)
    with w.context():
        rows = list(HonourAward.objects.order_by("rank").values_list(
            "month", "rank", "staff_id", "successes"))
        assert rows == [(dt.date(2025, 10, 1), 1, w.sales.pk, 3),
                        (dt.date(2025, 10, 1), 2, w.sales2.pk, 2),
                        (dt.date(2025, 10, 1), 3, w.manager.pk, 2)]
        assert AuditEntry.objects.filter(action="referral.honour_award").count() == 3
        mine = Notification.objects.get(recipient=w.sales, kind="referral")
        assert "第 1 名" in mine.title and "3" in mine.title
        assert Notification.objects.filter(recipient=w.manager).count() == 1  # awarded once
        assert not Notification.objects.filter(recipient=w.admin).exists()  # the actor
    again = board.honour_awards_record(tenant=w.tenant, month=dt.date(2025, 10, 1),
                                       actor=w.manager)
    assert not again.created and [a.rank for a in again.awards] == [1, 2, 3]
    with w.context():
        assert HonourAward.objects.count() == 3
        assert AuditEntry.objects.filter(action="referral.honour_award").count() == 3
        assert Notification.objects.filter(recipient=w.sales).count() == 1


def test_awards_refused_for_the_current_or_a_future_month_and_wrong_roles(world_a):
    from django.core.exceptions import PermissionDenied, ValidationError

    w = world_a
    today = tenant_today(w.tenant)
    success(w, staff_referrer(w, w.sales), at(today.year, today.month, 1, 9))
    for month in (today, today + dt.timedelta(days=40)):
        with pytest.raises(ValidationError) as exc:
            board.honour_awards_record(tenant=w.tenant, month=month, actor=w.manager)
        assert "尚未结束" in str(exc.value)
    for who in (w.sales, w.cs, w.finance):
        with pytest.raises(PermissionDenied):
            board.honour_awards_record(tenant=w.tenant, month=dt.date(2025, 10, 1), actor=who)
    with w.context():
        assert not HonourAward.objects.exists()


def test_the_monthly_task_records_last_month(world_a):
    w = world_a
    last = board.last_month(w.tenant)
    successes(w, staff_referrer(w, w.sales), at(last.year, last.month, 2), 2)
    assert record_honour_awards.apply(args=[w.tenant.pk]).get() == 1
    assert record_honour_awards.apply(args=[w.tenant.pk]).get() == 0
    with w.context():
        assert list(HonourAward.objects.values_list("month", "staff_id")) == [(last, w.sales.pk)]


# ----------------------------------------------------------------------------- pages and API

def test_board_page_names_by_role_tabs_and_awards(world_a, client_for):
    w = world_a
    _october_board(w)
    board.honour_awards_record(tenant=w.tenant, month=dt.date(2025, 10, 1))
    url = "/referrals/board/"
    params = {"period": "month", "start": "2025-10-01"}
    page = client_for(w.manager).get(url, params)
    html = page.content.decode()
    assert page.status_code == 200
    assert "荣誉榜" in html and "张三" in html and "🏅" in html
    assert [r.shown_name for r in page.context["rows"]][:2] == ["张三", w.sales.name]
    # Sales read it with customers' names masked; staff names stay.
    page = client_for(w.sales).get(url, params)
    html = page.content.decode()
    assert "张*" in html and "张三" not in html and w.sales2.name in html
    assert 'id="board-record-link"' not in html
    for who in (w.cs, w.finance):
        assert client_for(who).get(url, params).status_code == 200
    page = client_for(w.manager).get(url, {**params, "audience": "customer"})
    assert [r.name for r in page.context["rows"]] == ["张三"]
    page = client_for(w.manager).get(url, {"period": "quarter", "start": "2025-11-20"})
    assert page.context["period"].first == dt.date(2025, 10, 1)
    assert len(page.context["awards"]) == 3
    # A bad filter is shown and the current month used.
    page = client_for(w.manager).get(url, {"period": "year", "start": "x"})
    assert page.status_code == 200 and page.context["filter_errors"]


def test_record_page_confirms_then_records_and_refuses(world_a, client_for):
    w = world_a
    last = board.last_month(w.tenant)
    successes(w, staff_referrer(w, w.sales), at(last.year, last.month, 2), 2)
    url = "/referrals/board/awards/"
    client = client_for(w.manager)
    page = client.get(url)
    assert page.status_code == 200 and 'id="award-preview"' in page.content.decode()
    with w.context():
        assert not HonourAward.objects.exists()  # a GET records nothing
    response = client.post(url, {"month": last.isoformat()})
    assert response.status_code == 302
    assert response.url == board.board_url("month", last)
    with w.context():
        assert HonourAward.objects.count() == 1
    today = tenant_today(w.tenant)
    response = client.post(url, {"month": today.isoformat()})
    assert response.status_code == 400 and "尚未结束" in response.content.decode()
    for who in (w.sales, w.cs, w.finance):
        assert client_for(who).get(url).status_code == 403
        assert client_for(who).post(url, {"month": "2025-10-01"}).status_code == 403
    with w.context():
        assert HonourAward.objects.count() == 1


def test_api_board_and_record(world_a, api_client_for):
    w = world_a
    _october_board(w)
    response = api_client_for(w.sales).get("/api/v1/referrals/board/",
                                           {"period": "month", "start": "2025-10-05"})
    assert response.status_code == 200
    body = response.json()
    assert body["start"] == "2025-10-01" and body["end"] == "2025-10-31"
    assert [(r["rank"], r["name"], r["successes"]) for r in body["results"]][:2] == [
        (1, "张*", 5), (2, w.sales.name, 3)]
    assert api_client_for(w.sales).get("/api/v1/referrals/board/",
                                       {"audience": "nobody"}).status_code == 400
    record = "/api/v1/referrals/board/awards/"
    assert api_client_for(w.sales).post(record, {"month": "2025-10-01"}).status_code == 403
    assert api_client_for(w.manager).post(record, {"month": "2025-10-01"}).status_code == 201
    again = api_client_for(w.admin).post(record, {"month": "2025-10"})
    assert again.status_code == 200 and not again.json()["created"]
    assert len(again.json()["awards"]) == 3


def test_board_page_query_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    day = tenant_today(w.tenant)

    def grow(n):
        for _ in range(n):
            success(w, new_customer_referrer(w), at(day.year, day.month, 1, 0, 5))
        for staff in (w.sales, w.sales2):
            if not hasattr(staff, "_ref"):
                staff._ref = staff_referrer(w, staff)
            success(w, staff._ref, at(day.year, day.month, 1, 0, 5))

    client = client_for(w.manager)
    assert_flat(client, "/referrals/board/", grow, n=5)
    with django_assert_max_num_queries(12):  # plumbing + aggregate, names, awards
        client.get("/referrals/board/")


# ----------------------------------------------------------------------------- public page

def _enable_public(w):
    from apps.referrals.reward_presets import PRESETS

    rules = {**PRESETS["home"], "public_board": True}
    reward_policy_create(tenant=w.tenant, actor=None, effective_from=tenant_today(w.tenant),
                         name="公开榜", rules=rules)


def test_public_board_masked_cached_and_404_when_off(world_a, world_b, client):
    w = world_a
    day = tenant_today(w.tenant)
    success(w, new_customer_referrer(w, "张三"), at(day.year, day.month, 1, 0, 5))
    success(w, staff_referrer(w, w.sales), at(day.year, day.month, 1, 0, 6))
    url = f"/r/{w.tenant.slug}/board/"
    assert client.get(url).status_code == 404        # public_board off by default
    assert client.get("/r/no-such-tenant/board/").status_code == 404
    cache.clear()
    _enable_public(w)
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "甲家居" in html and "荣誉榜" in html
    assert "张*" in html and "张三" not in html and w.sales.name not in html
    assert "max-age=60" in page["Cache-Control"]
    # Cached: a new success shows only once the entry expires.
    success(w, new_customer_referrer(w, "李四"), at(day.year, day.month, 1, 0, 7))
    assert "李*" not in client.get(url).content.decode()
    cache.delete(board.public_cache_key(w.tenant.slug))
    assert "李*" in client.get(url).content.decode()
    # Tenant B's board (off) is 404, and never shows A's people.
    assert client.get(f"/r/{world_b.tenant.slug}/board/").status_code == 404
    assert client.post(url).status_code == 405
