"""Follow-up pages: the list (who sees what, filters, pagination), creating one (a call outside
the calling windows refused with the nearest time and the input kept, another tenant's
customer refused, a complaint's default deadline), the detail page, result entry (what each
result needs, what follows, completing twice), cancelling (a reason), roles and another
tenant (404 whatever the method, nothing changed), the customer page's section."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from apps.core.workdays import add_working_days
from apps.followups import services, windows
from apps.followups.models import FollowUpTask
from apps.followups.plan_versions import plan_for
from apps.ownership.selectors import tenant_today
from tests.customers.factories import CustomerFactory
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- helpers


def text(response) -> str:
    return html.unescape(response.content.decode())


def plan(world):
    with world.context():
        return plan_for(world.tenant)[1]


def at(world, day: dt.date, slot: int = 0) -> dt.datetime:
    """The start of calling window `slot` on `day` (the tenant's windows)."""
    return windows.at_day(day, plan(world).windows, world.tenant.time_zone, slot=slot)


def local(world, day: dt.date, clock: str) -> dt.datetime:
    """`clock` (HH:MM) on `day` in the tenant's time zone."""
    return dt.datetime.combine(day, dt.time.fromisoformat(clock),
                               zoneinfo.ZoneInfo(world.tenant.time_zone))


def shown(world, moment: dt.datetime) -> str:
    """A time as the pages and messages show it (the tenant's local time)."""
    return date_format(timezone.localtime(moment, zoneinfo.ZoneInfo(world.tenant.time_zone)),
                       "Y-m-d H:i")


def make_task(world, customer, *, due: dt.datetime, purpose="periodic", channel="phone",
              assignee=None, title="") -> FollowUpTask:
    """A follow-up made through the service (its `now` an hour before it is due, so a due
    time earlier today or in the past is accepted)."""
    return services.task_create(tenant=world.tenant, actor=world.admin, customer=customer,
                                purpose=purpose, channel=channel, due_at=due,
                                assignee=assignee or customer.owner, title=title,
                                now=due - dt.timedelta(hours=1))


def rows(world) -> list[tuple]:
    with world.context():
        return list(FollowUpTask.objects.order_by("id").values_list(
            "id", "status", "result", "satisfaction", "parent_id", "purpose"))


def task_ids(page: str) -> list[int]:
    return [int(m) for m in re.findall(r'data-task="(\d+)"', page)]


@pytest.fixture
def tasks(world_a):
    """world_a with follow-ups: sales's customer (team1, due tomorrow 10:00, a call),
    sales3's customer (team2, an SMS the day after), sales2's (team1, a visit yesterday,
    overdue)."""
    w = world_a
    today = tenant_today(w.tenant)
    mine = CustomerFactory(tenant=w.tenant, actor=w.sales, name="赵一")
    other_team = CustomerFactory(tenant=w.tenant, actor=w.sales_other_team, name="钱二")
    teammate = CustomerFactory(tenant=w.tenant, actor=w.sales2, name="孙三")
    t_mine = make_task(w, mine, due=at(w, today + dt.timedelta(days=1)), title="问问使用情况")
    t_other = make_task(w, other_team, due=at(w, today + dt.timedelta(days=2), 1),
                        channel="sms", purpose="birthday")
    t_team = make_task(w, teammate, due=at(w, today - dt.timedelta(days=1), 1),
                       channel="visit", purpose="after_sale")
    return w, {"mine": t_mine, "other_team": t_other, "teammate": t_team,
               "customers": (mine, other_team, teammate)}


# --------------------------------------------------------------------------- list


def test_the_list_shows_what_each_role_sees(tasks, client_for):
    w, t = tasks
    expected = {
        w.sales: {t["mine"].pk},
        w.sales2: {t["teammate"].pk},
        w.manager: {t["mine"].pk, t["teammate"].pk},
        w.cs: {t["mine"].pk, t["teammate"].pk, t["other_team"].pk},
        w.admin: {t["mine"].pk, t["teammate"].pk, t["other_team"].pk},
    }
    for who, ids in expected.items():
        response = client_for(who).get("/followups/")
        assert response.status_code == 200
        assert set(task_ids(text(response))) == ids, who
    page = text(client_for(w.admin).get("/followups/"))
    # Ordered by due time; the columns a user reads.
    assert task_ids(page) == [t["teammate"].pk, t["mine"].pk, t["other_team"].pk]
    assert shown(w, t["mine"].due_at) in page and "赵一" in page and "wsales" not in page
    assert w.sales.name in page and zh("Overdue") in page
    # Filters only narrow: sales asking for a colleague's tasks finds nothing.
    page = text(client_for(w.sales).get("/followups/", {"assignee": w.sales2.pk}))
    assert task_ids(page) == []


def test_list_filters(tasks, client_for):
    w, t = tasks
    client = client_for(w.admin)
    today = tenant_today(w.tenant)

    def ids(**params):
        response = client.get("/followups/", params)
        assert response.status_code == 200, text(response)
        return set(task_ids(text(response)))

    assert ids(channel="sms") == {t["other_team"].pk}
    assert ids(purpose="after_sale") == {t["teammate"].pk}
    assert ids(assignee=w.sales.pk) == {t["mine"].pk}
    assert ids(team=w.team2.pk) == {t["other_team"].pk}
    assert ids(customer=t["customers"][0].pk) == {t["mine"].pk}
    assert ids(overdue="1") == {t["teammate"].pk}
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert ids(due_from=tomorrow, due_to=tomorrow) == {t["mine"].pk}
    assert ids(due_from=tomorrow) == {t["mine"].pk, t["other_team"].pk}
    assert ids(due_to=today.isoformat()) == {t["teammate"].pk}
    services.task_complete(tenant=w.tenant, actor=w.sales, task=t["mine"], result="unreachable")
    assert t["mine"].pk in ids(status="done")
    assert t["mine"].pk not in ids(status="open")
    # The customer filter names the customer; a bad filter is refused with the reason.
    page = text(client.get("/followups/", {"customer": t["customers"][0].pk}))
    assert zh("Customer: %(name)s", name="赵一") in page
    response = client.get("/followups/", {"due_from": "2026-13-40", "status": "bogus"})
    assert response.status_code == 400
    page = text(response)
    assert zh("Some filters are not valid:") in page and task_ids(page) == []


def test_list_pagination(world_a, client_for):
    w = world_a
    today = tenant_today(w.tenant)
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
    with w.context():
        FollowUpTask.objects.bulk_create([
            FollowUpTask(tenant=w.tenant, customer=customer, assignee=w.sales, team=w.team1,
                         channel="phone", purpose="periodic",
                         due_at=at(w, today + dt.timedelta(days=i // 2), i), created_at=timezone.now())
            for i in range(30)])
        ordered = list(FollowUpTask.objects.order_by("due_at", "id").values_list("pk", flat=True))
    client = client_for(w.sales)
    first = text(client.get("/followups/"))
    assert task_ids(first) == ordered[:25]
    assert zh("Page %(number)s of %(total)s", number=1, total=2) in first
    assert task_ids(text(client.get("/followups/", {"page": 2}))) == ordered[25:]


def test_list_query_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    today = tenant_today(w.tenant)
    client = client_for(w.manager)
    for i in range(22):
        customer = CustomerFactory(tenant=w.tenant, actor=w.sales if i % 2 else w.sales2)
        make_task(w, customer, due=at(w, today + dt.timedelta(days=1 + i % 5), i))
    client.get("/followups/")
    # The request's plumbing (savepoint, user, staff, the RLS settings, unread notifications:
    # 8); the filter's people and teams (one UNION); count; the page (customer and assignee
    # joined).
    with django_assert_max_num_queries(11):
        response = client.get("/followups/")
    assert len(task_ids(text(response))) == 22


# --------------------------------------------------------------------------- create


def test_create_a_follow_up(world_a, client_for):
    w = world_a
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales, name="周五")
    client = client_for(w.sales)
    page = text(client.get("/followups/new/", {"customer": customer.pk}))
    assert "周五" in page and f'name="customer" value="{customer.pk}"' in page
    tomorrow = tenant_today(w.tenant) + dt.timedelta(days=1)
    response = client.post("/followups/new/", {
        "customer": customer.pk, "purpose": "referral_ask", "channel": "phone",
        "due_at": f"{tomorrow.isoformat()}T10:30", "title": "问问有没有朋友要装修"})
    with w.context():
        task = FollowUpTask.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/followups/{task.pk}/"
    assert (task.customer_id, task.assignee_id, task.team_id, task.purpose, task.channel) == (
        customer.pk, w.sales.pk, w.team1.pk, "referral_ask", "phone")
    assert task.due_at == local(w, tomorrow, "10:30")
    page = text(client.get(response["Location"]))
    assert zh("The follow-up was created: due %(when)s, assigned to %(who)s.",
              when=f"{tomorrow.isoformat()} 10:30", who=w.sales.name) in page
    assert "问问有没有朋友要装修" in page
    # By the mobile number (no id): the same customer.
    response = client.post("/followups/new/", {
        "customer_phone": customer.phone, "purpose": "periodic", "channel": "sms",
        "due_at": f"{tomorrow.isoformat()}T13:00"})
    assert response.status_code == 302
    with w.context():
        assert FollowUpTask.objects.filter(customer=customer).count() == 2


def test_a_call_outside_the_windows_is_refused_with_the_nearest_time(world_a, client_for):
    w = world_a
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
    tomorrow = tenant_today(w.tenant) + dt.timedelta(days=1)
    response = client_for(w.sales).post("/followups/new/", {
        "customer": customer.pk, "purpose": "periodic", "channel": "phone",
        "due_at": f"{tomorrow.isoformat()}T13:00", "title": "午休时间别打"})
    assert response.status_code == 400
    page = text(response)
    assert zh("Calls are made only inside the calling windows (%(windows)s). The nearest time "
              "is %(suggested)s.", windows="10:00–11:30、15:00–17:30",
              suggested=f"{tomorrow.isoformat()} 15:00") in page
    # What was typed is kept.
    assert f'value="{tomorrow.isoformat()}T13:00"' in page and 'value="午休时间别打"' in page
    assert f'name="customer" value="{customer.pk}"' in page
    assert rows(w) == []


def test_a_customer_of_another_tenant_or_of_a_colleague_is_refused(world_a, world_b,
                                                                   client_for):
    w = world_a
    theirs = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales)
    colleague = CustomerFactory(tenant=w.tenant, actor=w.sales_other_team)
    client = client_for(w.sales)
    tomorrow = tenant_today(w.tenant) + dt.timedelta(days=1)
    for customer in (theirs, colleague):
        response = client.post("/followups/new/", {
            "customer": customer.pk, "purpose": "periodic", "channel": "phone",
            "due_at": f"{tomorrow.isoformat()}T10:00"})
        assert response.status_code == 400
        page = text(response)
        assert zh("Choose one of your customers.") in page
        assert customer.name not in page            # nothing about them is shown
        # ?customer= does not pick them either.
        page = text(client.get("/followups/new/", {"customer": customer.pk}))
        assert customer.name not in page and 'name="customer_phone"' in page
        response = client.post("/followups/new/", {
            "customer_phone": customer.phone, "purpose": "periodic", "channel": "sms"})
        assert response.status_code == 400
        assert zh("None of your customers has this number.") in text(response)
    assert rows(w) == [] and rows(world_b) == []


def test_a_complaint_without_a_due_time_gets_the_deadline(world_a, client_for):
    w = world_a
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
    response = client_for(w.cs).post("/followups/new/", {
        "customer": customer.pk, "purpose": "complaint", "channel": "phone", "due_at": "",
        "title": "送货晚了两天"})
    assert response.status_code == 302
    with w.context():
        task = FollowUpTask.objects.get()
    deadline_day = add_working_days(tenant_today(w.tenant), 3)
    assert task.due_at == local(w, deadline_day, "10:00")
    assert task.assignee_id == w.cs.pk          # the default: whoever typed it in


def test_the_form_refuses_missing_fields_with_the_services_words(world_a, client_for):
    w = world_a
    response = client_for(w.sales).post("/followups/new/", {"due_at": "not a time"})
    assert response.status_code == 400
    page = text(response)
    assert rows(w) == []
    response = client_for(w.sales).post("/followups/new/", {"customer_phone": "",
                                                              "purpose": "", "channel": ""})
    page = text(response)
    assert response.status_code == 400
    for message in ("Choose one of your customers.", "Choose the purpose.",
                    "Choose the channel."):
        assert zh(message) in page
    assert rows(w) == []


# --------------------------------------------------------------------------- detail


def test_the_detail_page(tasks, client_for):
    w, t = tasks
    task = t["mine"]
    page = text(client_for(w.sales).get(f"/followups/{task.pk}/"))
    assert "赵一" in page and "问问使用情况" in page and shown(w, task.due_at) in page
    assert plan(w).script("periodic") in page                 # the script (话术)
    assert f'action="/followups/{task.pk}/result/"' in page    # the result form
    assert 'id="task-cancel-link"' not in page                 # sales may not cancel
    page = text(client_for(w.manager).get(f"/followups/{task.pk}/"))
    assert 'id="task-cancel-link"' in page
    # Once done: the result, no form; the retry it created and, on the retry, its parent.
    services.task_complete(tenant=w.tenant, actor=w.sales, task=task, result="unreachable",
                           notes="关机")
    with w.context():
        retry = FollowUpTask.objects.get(parent=task)
    page = text(client_for(w.sales).get(f"/followups/{task.pk}/"))
    assert 'id="task-result-form"' not in page and "关机" in page
    assert f'data-child="{retry.pk}"' in page
    page = text(client_for(w.sales).get(f"/followups/{retry.pk}/"))
    assert 'id="task-parent"' in page and f"/followups/{task.pk}/" in page


# --------------------------------------------------------------------------- result


def test_reached_without_satisfaction_is_refused_and_nothing_changes(tasks, client_for):
    w, t = tasks
    task = t["mine"]
    before = rows(w)
    response = client_for(w.sales).post(f"/followups/{task.pk}/result/", {
        "result": "reached", "notes": "客户说挺好", "next": "/followups/my-day/"})
    assert response.status_code == 400
    page = text(response)
    assert zh("The customer was reached: give their satisfaction from 1 to 5.") in page
    assert "客户说挺好" in page and 'value="/followups/my-day/"' in page
    assert 'value="reached" class="form-check-input" id="id_result_0" checked' in page
    assert rows(w) == before
    # Refused and failed need what happened; satisfaction out of range is refused too.
    for data, message in (({"result": "refused"}, "Say what happened."),
                          ({"result": "reached", "satisfaction": "9"},
                           "Give a satisfaction from 1 to 5."),
                          ({"result": "maybe"}, "Choose the result.")):
        response = client_for(w.sales).post(f"/followups/{task.pk}/result/", data)
        assert response.status_code == 400 and zh(message) in text(response)
    assert rows(w) == before


def test_an_unsatisfied_after_sale_visit_opens_a_complaint(world_a, client_for):
    w = world_a
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales, name="吴六")
    task = make_task(w, customer, due=at(w, tenant_today(w.tenant)), purpose="after_sale")
    response = client_for(w.sales).post(f"/followups/{task.pk}/result/", {
        "result": "reached", "satisfaction": "2", "notes": "安装师傅迟到",
        "next": "/followups/my-day/"}, follow=True)
    assert response.redirect_chain[0] == ("/followups/my-day/", 302)
    with w.context():
        task.refresh_from_db()
        complaint = FollowUpTask.objects.get(parent=task)
    assert (task.status, task.result, task.satisfaction) == ("done", "reached", 2)
    assert complaint.purpose == "complaint" and complaint.assignee_id == w.sales.pk
    page = text(response)
    assert zh("A complaint follow-up was opened, due %(when)s.",
              when=shown(w, complaint.due_at)) in page
    assert zh("The result was recorded: %(result)s.", result=zh("Reached")) in page


def test_unreachable_schedules_a_retry_and_twice_is_refused(tasks, client_for):
    w, t = tasks
    task = t["mine"]
    client = client_for(w.sales)
    response = client.post(f"/followups/{task.pk}/result/", {"result": "unreachable"})
    assert response.status_code == 302 and response["Location"] == f"/followups/{task.pk}/"
    with w.context():
        retry = FollowUpTask.objects.get(parent=task)
    assert retry.attempt == 2 and retry.channel == "phone" and retry.status == "open"
    assert windows.is_inside(retry.due_at, plan(w).windows, w.tenant.time_zone)
    page = text(client.get(response["Location"]))
    assert zh("Another try is scheduled at %(when)s (attempt %(n)s).",
              when=shown(w, retry.due_at), n=2) in page
    # Completing twice: the service's refusal, nothing changed.
    before = rows(w)
    response = client.post(f"/followups/{task.pk}/result/", {"result": "reached",
                                                             "satisfaction": "5"})
    assert response.status_code == 400
    with w.context():
        task.refresh_from_db()
    assert zh("The result of this follow-up (%(result)s) was recorded at %(when)s by "
              "%(who)s: nothing was changed.", result=zh("Unreachable"),
              when=shown(w, task.completed_at), who=w.sales.name) in text(response)
    assert rows(w) == before
    # The result page of a closed task says so (no form).
    page = text(client.get(f"/followups/{task.pk}/result/"))
    assert 'id="task-closed"' in page and 'id="task-result-form"' not in page


def test_next_must_be_a_local_url(tasks, client_for):
    w, t = tasks
    response = client_for(w.sales).post(f"/followups/{t['mine'].pk}/result/", {
        "result": "unreachable", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == f"/followups/{t['mine'].pk}/"


# --------------------------------------------------------------------------- cancel


def test_cancel_needs_a_reason(tasks, client_for):
    w, t = tasks
    task = t["mine"]
    client = client_for(w.manager)
    assert client.get(f"/followups/{task.pk}/cancel/").status_code == 200
    response = client.post(f"/followups/{task.pk}/cancel/", {"reason": "  "})
    assert response.status_code == 400
    assert zh("Say why the follow-up is cancelled.") in text(response)
    with w.context():
        assert FollowUpTask.objects.get(pk=task.pk).status == "open"
    response = client.post(f"/followups/{task.pk}/cancel/", {"reason": "客户已搬走"})
    assert response.status_code == 302 and response["Location"] == f"/followups/{task.pk}/"
    with w.context():
        task.refresh_from_db()
    assert (task.status, task.cancel_reason, task.completed_by_id) == (
        "cancelled", "客户已搬走", w.manager.pk)
    page = text(client.get(f"/followups/{task.pk}/"))
    assert "客户已搬走" in page and 'id="task-cancel-link"' not in page
    # Sales may not cancel (403), even their own task; nothing changes.
    other = t["teammate"]
    for method in ("get", "post"):
        response = getattr(client_for(w.sales2), method)(f"/followups/{other.pk}/cancel/",
                                                         {"reason": "不想打"})
        assert response.status_code == 403
    with w.context():
        assert FollowUpTask.objects.get(pk=other.pk).status == "open"


# --------------------------------------------------------------------------- permissions


def test_roles_and_another_tenant(tasks, world_b, client_for):
    w, t = tasks
    task = t["mine"]
    before = rows(w)
    finance = client_for(w.finance)
    for url in ("/followups/", "/followups/new/", "/followups/my-day/",
                f"/followups/{task.pk}/", f"/followups/{task.pk}/result/"):
        assert finance.get(url).status_code == 403, url
    assert finance.post(f"/followups/{task.pk}/result/",
                        {"result": "unreachable"}).status_code == 403
    # A colleague of another team (or of the same team: sales see their own only): 404.
    for who in (w.sales_other_team, w.sales2):
        client = client_for(who)
        for url in (f"/followups/{task.pk}/", f"/followups/{task.pk}/result/"):
            assert client.get(url).status_code == 404
        assert client.post(f"/followups/{task.pk}/result/",
                           {"result": "unreachable"}).status_code == 404
    # Another tenant, any role, any method: 404.
    for who in (world_b.admin, world_b.cs, world_b.finance):
        client = client_for(who)
        for suffix in ("", "result/", "cancel/"):
            assert client.get(f"/followups/{task.pk}/{suffix}").status_code == 404
            assert client.post(f"/followups/{task.pk}/{suffix}",
                               {"result": "unreachable", "reason": "x"}).status_code == 404
        assert task_ids(text(client_for(world_b.admin).get("/followups/"))) == []
    assert rows(w) == before


# --------------------------------------------------------------------------- customer page


def test_the_customer_page_lists_follow_ups(tasks, client_for):
    w, t = tasks
    customer = t["customers"][0]
    page = text(client_for(w.sales).get(f"/customers/{customer.pk}/"))
    assert 'id="followups"' in page and f'data-task="{t["mine"].pk}"' in page
    assert f"/followups/new/?customer={customer.pk}" in page
    assert 'id="followups"' not in text(client_for(w.finance).get(f"/customers/{customer.pk}/"))
