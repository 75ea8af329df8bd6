"""The "my day" API: the caller's open follow-ups — overdue (oldest first), today's by calling
window, the next days — each with the customer's contact, the script for its purpose and the
customer's key facts (tier, last deal, open complaint); nobody else's, no other tenant's;
finance refused; a fixed number of queries however many tasks."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests
from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from apps.followups import services, windows
from apps.followups.models import Purpose
from apps.followups.plan_versions import plan_for
from apps.ownership.selectors import tenant_today
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the edu fixture
from tests.query_budgets import assert_flat
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db

URL = "/api/v1/followups/my-day/"
WINDOWS = [(dt.time(10), dt.time(11, 30)), (dt.time(15), dt.time(17, 30))]  # the default
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
TASK_KEYS = {"id", "customer", "purpose", "purpose_label", "channel", "channel_label", "due_at",
             "title", "attempt", "script", "facts"}
NO_FACTS = {"tier_name": "", "last_deal_on": None, "last_deal_amount": None,
            "open_complaint": False}


def at(world, days: int, slot: int = 0) -> dt.datetime:
    """The start of calling window `slot` `days` days from today (Shanghai)."""
    day = tenant_today(world.tenant) + dt.timedelta(days=days)
    return windows.at_day(day, WINDOWS, "Asia/Shanghai", slot=slot)


def make_task(world, customer, assignee, due_at, *, purpose="periodic", channel="phone",
              title=""):
    """A task made through the service by another module (no actor), created an hour before it
    is due when that is in the past."""
    return services.task_create(tenant=world.tenant, actor=None, customer=customer,
                                purpose=purpose, channel=channel, due_at=due_at,
                                assignee=assignee, title=title,
                                now=min(timezone.now(), due_at - dt.timedelta(hours=1)))


def test_my_day_shape_and_order(edu, world_b, api_client_for):
    w = edu.world
    today = edu.today
    # A buyer of sales3 (another team): silver after a 10 000 deal, an open complaint.
    buyer = CustomerFactory(tenant=w.tenant, actor=w.sales_other_team, name="周五")
    make_deal(edu, customer=buyer, amount="10000.00")
    services.task_create(tenant=w.tenant, actor=None, customer=buyer, purpose="complaint",
                         channel="phone", assignee=w.sales_other_team)
    plain = CustomerFactory(tenant=w.tenant, actor=w.sales, name="吴六")
    me = w.sales
    o1 = make_task(w, buyer, me, at(w, -3), purpose="after_sale", title="安装回访")
    o2 = make_task(w, plain, me, at(w, -1, slot=1))
    t_pm = make_task(w, plain, me, at(w, 0, slot=1))
    t_am = make_task(w, buyer, me, at(w, 0), purpose="renewal")
    t_sms = make_task(w, plain, me, dt.datetime.combine(today, dt.time(8), ZONE),
                      purpose="birthday", channel="sms")
    u2 = make_task(w, plain, me, at(w, 2))
    u1 = make_task(w, plain, me, at(w, 1, slot=1))
    make_task(w, plain, me, at(w, 10))                       # beyond the next 7 days
    done = make_task(w, plain, me, at(w, 1))
    services.task_complete(tenant=w.tenant, actor=me, task=done, result="refused",
                           notes="不需要")
    cancelled = make_task(w, plain, me, at(w, 1))
    services.task_cancel(tenant=w.tenant, actor=w.manager, task=cancelled, reason="重复")
    make_task(w, plain, w.sales2, at(w, 0))                  # someone else's

    response = api_client_for(me).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"day", "counts", "windows", "overdue", "today", "upcoming"}
    assert body["day"] == today.isoformat()
    assert body["counts"] == {"overdue": 2, "today": 3, "done_today": 1}
    assert body["windows"] == [{"index": 0, "label": "10:00–11:30"},
                               {"index": 1, "label": "15:00–17:30"},
                               {"index": None, "label": ""}]
    assert [t["id"] for t in body["overdue"]] == [o1.pk, o2.pk]
    assert [(t["id"], t["window"]["index"]) for t in body["today"]] == [
        (t_am.pk, 0), (t_pm.pk, 1), (t_sms.pk, None)]
    assert [t["id"] for t in body["upcoming"]] == [u1.pk, u2.pk]
    assert all(set(t) == TASK_KEYS for t in body["overdue"] + body["upcoming"])
    assert all(set(t) == TASK_KEYS | {"window"} for t in body["today"])

    with w.context():
        _version, plan = plan_for(w.tenant)
    first = body["overdue"][0]
    assert first["customer"] == {"id": buyer.pk, "name": "周五", "phone": buyer.phone}
    assert (first["purpose"], first["purpose_label"], first["channel"], first["channel_label"],
            first["title"], first["attempt"]) == (
        "after_sale", zh("After-sale"), "phone", zh("Phone"), "安装回访", 1)
    assert dt.datetime.fromisoformat(first["due_at"]) == at(w, -3)
    assert first["script"] == plan.script("after_sale") and first["script"]
    assert first["facts"] == {"tier_name": "银卡", "last_deal_on": today.isoformat(),
                              "last_deal_amount": "10000.00", "open_complaint": True}
    assert body["today"][0]["facts"] == first["facts"]
    assert body["today"][0]["window"] == {"index": 0, "label": "10:00–11:30"}
    sms = body["today"][2]
    assert (sms["channel"], sms["purpose"], sms["script"], sms["facts"]) == (
        "sms", "birthday", plan.script("birthday"), NO_FACTS)

    # Nobody else's, and nothing of another tenant.
    other = api_client_for(world_b.sales).get(URL).json()
    assert other["counts"] == {"overdue": 0, "today": 0, "done_today": 0}
    assert other["overdue"] == other["today"] == other["upcoming"] == []
    manager = api_client_for(w.manager).get(URL).json()
    assert manager["counts"]["today"] == 0 and manager["upcoming"] == []
    assert api_client_for(w.finance).get(URL).status_code == 403


def test_my_day_queries_do_not_grow(edu, api_client_for, django_assert_max_num_queries):
    w = edu.world
    # One customer with a tier, so the tier query runs from the first measurement on.
    buyer = CustomerFactory(tenant=w.tenant, actor=w.sales)
    make_deal(edu, customer=buyer, amount="10000.00")
    purposes = Purpose.values
    made = [0]

    def grow(n):
        for _ in range(n):
            i = made[0]
            made[0] += 1
            customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
            due = at(w, i % 7 - 2, slot=i)
            # Made an hour before it is due (a complaint is due within 3 working days).
            services.task_create(tenant=w.tenant, actor=None, customer=customer,
                                 purpose=purposes[i % len(purposes)], channel="phone",
                                 due_at=due, assignee=w.sales,
                                 now=due - dt.timedelta(hours=1))

    client = api_client_for(w.sales)
    assert_flat(client, URL, grow, n=12)
    grow(2)
    # Savepoint and release, user, staff, three set_config of the tenant context; the plan in
    # force, overdue, today and upcoming, done today; tiers and their scheme, last deals, open
    # complaints.
    with django_assert_max_num_queries(15):
        response = client.get(URL)
    body = response.json()
    shown = body["overdue"] + body["today"] + body["upcoming"]
    # The 26 tasks (and the deal's after-sale visits of this week).
    assert len(shown) >= 26 and body["counts"]["overdue"] == 8
    assert {t["purpose"] for t in shown} == set(purposes)
    assert any(t["facts"]["tier_name"] for t in shown)
