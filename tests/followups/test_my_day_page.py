"""My day (我的今天): overdue, today's calls by calling window (in window order, then what is
not in a window), the days ahead, with the customer's key facts, the script and one-tap result
entry back to the page; who opens it; a fixed number of queries however many tasks."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests
from __future__ import annotations

import datetime as dt
import re

import pytest

from apps.followups import services
from apps.followups.models import FollowUpTask
from apps.ownership.selectors import tenant_today
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the edu fixture
from tests.followups.test_task_pages import at, make_task, plan, shown, task_ids, text
from tests.query_budgets import measure
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db

URL = "/followups/my-day/"


def article(page: str, task) -> str:
    """The HTML of one task's card on the page."""
    match = re.search(rf'<article[^>]*data-task="{task.pk}".*?</article>', page, re.S)
    assert match, f"task {task.pk} is not on the page"
    return match.group(0)


def count(page: str, name: str) -> int:
    return int(re.search(rf'data-count="{name}">(\d+)<', page).group(1))


@pytest.fixture
def day(world_a):
    """world.sales's follow-ups around today (made in an order unlike the page's)."""
    w = world_a
    today = tenant_today(w.tenant)
    c = {name: CustomerFactory(tenant=w.tenant, actor=w.sales, name=name)
         for name in ("下午客户", "上午客户", "短信客户", "逾期客户", "明天客户", "远期客户", "已办客户")}
    tasks = {
        "afternoon": make_task(w, c["下午客户"], due=at(w, today, 1), purpose="after_sale"),
        "morning": make_task(w, c["上午客户"], due=at(w, today, 0), purpose="renewal"),
        "sms": make_task(w, c["短信客户"], due=at(w, today, 0).replace(hour=13), channel="sms",
                         purpose="birthday"),
        "overdue": make_task(w, c["逾期客户"], due=at(w, today - dt.timedelta(days=2), 1)),
        "tomorrow": make_task(w, c["明天客户"], due=at(w, today + dt.timedelta(days=1)),
                              channel="visit", purpose="repair"),
        "far": make_task(w, c["远期客户"], due=at(w, today + dt.timedelta(days=9))),
        "done": make_task(w, c["已办客户"], due=at(w, today, 0)),
    }
    services.task_complete(tenant=w.tenant, actor=w.sales, task=tasks["done"],
                           result="refused", notes="不需要")
    # A colleague's task today is not on sales's day.
    tasks["colleague"] = make_task(w, CustomerFactory(tenant=w.tenant, actor=w.sales2),
                                   due=at(w, today, 0))
    return w, tasks


def test_my_day_in_order_with_counts(day, client_for):
    w, t = day
    response = client_for(w.sales).get(URL)
    assert response.status_code == 200
    page = text(response)
    assert (count(page, "overdue"), count(page, "today"), count(page, "done")) == (1, 3, 1)
    # Overdue, then today's calls window by window, what is outside a window, the days ahead.
    assert task_ids(page) == [t["overdue"].pk, t["morning"].pk, t["afternoon"].pk, t["sms"].pk,
                              t["tomorrow"].pk]
    windows = re.findall(r'data-window="([^"]+)"', page)
    assert windows == ["0", "1", "other"]
    assert zh("Calls %(label)s", label="10:00–11:30") in page
    assert zh("Calls %(label)s", label="15:00–17:30") in page
    assert page.index('id="my-day-overdue"') < page.index('id="my-day-today"') < page.index(
        'id="my-day-upcoming"')
    # Each task: name, a tel: link, purpose, due time, script, a result form back to My day.
    card = article(page, t["afternoon"])
    customer = t["afternoon"].customer
    assert customer.name in card and f'href="tel:{customer.phone}"' in card
    assert zh("After-sale") in card and shown(w, t["afternoon"].due_at)[-5:] in card
    script = plan(w).script("after_sale")
    assert "{销售}" in script                      # the default script names the salesperson
    assert "<details" in card and script.replace("{销售}", w.sales.name) in card
    assert f'action="/followups/{t["afternoon"].pk}/result/"' in card
    assert 'name="next" value="/followups/my-day/"' in card
    for value in ("reached", "refused", "unreachable", "failed"):
        assert f'name="result" value="{value}"' in card
    for n in range(1, 6):
        assert f'name="satisfaction" value="{n}"' in card
    # The overdue and the upcoming tasks show their day too.
    assert shown(w, t["overdue"].due_at)[5:] in article(page, t["overdue"])
    assert shown(w, t["tomorrow"].due_at)[5:] in article(page, t["tomorrow"])


def test_facts_on_each_task(edu, client_for):
    w = edu.world
    deal = make_deal(edu, amount="12800.00")
    task = make_task(w, edu.customer, due=at(w, tenant_today(w.tenant)), assignee=w.sales)
    card = article(text(client_for(w.sales).get(URL)), task)
    assert zh("Last deal %(day)s · ¥%(amount)s", day=deal.signed_on.isoformat(),
              amount="12800.00") in card
    assert 'data-fact="tier"' in card
    assert 'data-fact="open-complaint"' not in card
    complaint = services.task_create(tenant=w.tenant, actor=w.cs, customer=edu.customer,
                                     purpose="complaint", channel="phone", assignee=w.cs)
    card = article(text(client_for(w.sales).get(URL)), task)
    assert 'data-fact="open-complaint"' in card
    # A customer without deals says so.
    other = make_task(w, CustomerFactory(tenant=w.tenant, actor=w.sales),
                      due=at(w, tenant_today(w.tenant), 1))
    card = article(text(client_for(w.sales).get(URL)), other)
    assert zh("No deal yet") in card and 'data-fact="tier"' not in card
    assert complaint.pk not in task_ids(text(client_for(w.sales).get(URL)))


def test_one_tap_result_back_to_my_day(day, client_for):
    w, t = day
    client = client_for(w.sales)
    response = client.post(f"/followups/{t['morning'].pk}/result/",
                           {"result": "unreachable", "notes": "", "next_step": "",
                            "next": URL}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    page = text(response)
    with w.context():
        retry = FollowUpTask.objects.get(parent=t["morning"])
    assert zh("Another try is scheduled at %(when)s (attempt %(n)s).",
              when=shown(w, retry.due_at), n=2) in page
    assert t["morning"].pk not in task_ids(page) and retry.pk in task_ids(page)
    assert count(page, "done") == 2
    # Reached without a satisfaction: refused on the result page, input kept, back link kept.
    response = client.post(f"/followups/{t['afternoon'].pk}/result/",
                           {"result": "reached", "notes": "很满意", "next": URL})
    assert response.status_code == 400
    page = text(response)
    assert zh("The customer was reached: give their satisfaction from 1 to 5.") in page
    assert "很满意" in page and f'value="{URL}"' in page
    with w.context():
        assert FollowUpTask.objects.get(pk=t["afternoon"].pk).status == "open"
    # With a satisfaction: done, back to My day.
    response = client.post(f"/followups/{t['afternoon'].pk}/result/",
                           {"result": "reached", "satisfaction": "5", "next": URL})
    assert response.status_code == 302 and response["Location"] == URL
    with w.context():
        task = FollowUpTask.objects.get(pk=t["afternoon"].pk)
    assert (task.status, task.result, task.satisfaction) == ("done", "reached", 5)


def test_who_opens_my_day(day, world_b, client_for):
    w, t = day
    for who in (w.admin, w.manager, w.cs, w.sales2):
        response = client_for(who).get(URL)
        assert response.status_code == 200
        assert t["morning"].pk not in task_ids(text(response))   # one's own day only
    assert task_ids(text(client_for(w.sales2).get(URL))) == [t["colleague"].pk]
    assert client_for(w.finance).get(URL).status_code == 403
    assert task_ids(text(client_for(world_b.sales).get(URL))) == []
    # Managers get the link to the team page.
    assert "/followups/team/" in text(client_for(w.manager).get(URL))
    assert "/followups/team/" not in text(client_for(w.sales).get(URL))


def test_my_day_query_budget(world_a, client_for, django_assert_max_num_queries):
    """A fixed number of queries with 24 tasks as with 12 (no query per task)."""
    w = world_a
    today = tenant_today(w.tenant)
    client = client_for(w.sales)

    def grow(n):
        for i in range(n):
            customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
            make_task(w, customer, due=at(w, today + dt.timedelta(days=i % 3 - 1), i),
                      purpose=("after_sale", "periodic", "complaint")[i % 3])

    grow(12)
    client.get(URL)
    _, small = measure(client, URL)
    grow(12)
    # The request's plumbing (savepoint, user, staff, the RLS settings, unread notifications:
    # 8); the plan; overdue, the days ahead, done today; tiers, last deals, open complaints
    # (myday.customer_facts).
    with django_assert_max_num_queries(15):
        response, large = measure(client, URL)
    assert len(small) == len(large)
    assert len(task_ids(text(response))) == 24


def test_a_day_longer_than_the_page_counts_all_and_links_to_the_list(world_a, client_for):
    """More of today's follow-ups than the page lists (LIST_LIMIT * 2): the count is all of
    them, the page says how many it shows and links to the full list of the day."""
    from apps.followups.myday import LIST_LIMIT

    w = world_a
    today = tenant_today(w.tenant)
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
    total = LIST_LIMIT * 2 + 3
    with w.context():
        FollowUpTask.objects.bulk_create([
            FollowUpTask(tenant=w.tenant, customer=customer, assignee=w.sales, team=w.team1,
                         channel="phone", purpose="periodic", due_at=at(w, today, i % 2))
            for i in range(total)])
    page = text(client_for(w.sales).get(URL))
    assert count(page, "today") == total
    assert len(task_ids(page)) == LIST_LIMIT * 2
    assert zh("The first %(shown)s of %(total)s are shown here; the list has them all.",
              shown=LIST_LIMIT * 2, total=total) in page
    assert f"status=open&due_from={today:%Y-%m-%d}&due_to={today:%Y-%m-%d}" in page
