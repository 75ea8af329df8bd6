"""The follow-up task API: the list (who sees what, each filter, bad filters), create (201, and
each refusal as a field error with nothing created), the result (missing fields, a complaint
after an unsatisfied after-sale visit, a retry inside a calling window after an unreachable
call, completing twice), cancel, roles and another tenant's task (404 whatever the method)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from apps.core.models import AuditEntry
from apps.followups import services, windows
from apps.followups.models import FollowUpTask
from apps.followups.plan_versions import plan_for
from apps.ownership.selectors import tenant_today
from tests.customers.factories import CustomerFactory
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db

API = "/api/v1/followups/"
WINDOWS = [(dt.time(10), dt.time(11, 30)), (dt.time(15), dt.time(17, 30))]  # the default
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")


def today(world) -> dt.date:
    return tenant_today(world.tenant)


def at(world, days: int, slot: int = 0) -> dt.datetime:
    """The start of calling window `slot` `days` days from today."""
    return windows.at_day(today(world) + dt.timedelta(days=days), WINDOWS, "Asia/Shanghai",
                          slot=slot)


def make_task(world, customer, assignee, due_at, *, purpose="periodic", channel="phone",
              title="") -> FollowUpTask:
    """A task made through the service (by another module: no actor), created an hour before
    it is due when that is in the past."""
    return services.task_create(tenant=world.tenant, actor=None, customer=customer,
                                purpose=purpose, channel=channel, due_at=due_at,
                                assignee=assignee, title=title,
                                now=min(timezone.now(), due_at - dt.timedelta(hours=1)))


def rows(world) -> list[tuple]:
    """Every task of the tenant as stored (to assert nothing changed)."""
    with world.context():
        return list(FollowUpTask.objects.order_by("id").values_list(
            "id", "status", "result", "satisfaction", "result_notes", "next_step",
            "completed_at", "cancel_reason", "due_at"))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [t["id"] for t in response.json()["results"]]


@pytest.fixture
def tasks(world_a, world_b):
    """Tasks of world_a: sales's (team1), sales2's (team1), sales3's (team2, overdue), and one
    of world_b."""
    w = world_a
    mine = CustomerFactory(tenant=w.tenant, actor=w.sales, name="赵一")
    theirs = CustomerFactory(tenant=w.tenant, actor=w.sales2, name="钱二")
    other_team = CustomerFactory(tenant=w.tenant, actor=w.sales_other_team, name="孙三")
    b_customer = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales, name="李四")
    return {
        "mine": make_task(w, mine, w.sales, at(w, 1), title="问候"),
        "theirs": make_task(w, theirs, w.sales2, at(w, 3, slot=1), purpose="birthday",
                            channel="sms"),
        "overdue": make_task(w, other_team, w.sales_other_team, at(w, -3),
                             purpose="after_sale"),
        "b": make_task(world_b, b_customer, world_b.sales, at(world_b, 1)),
        "customers": {"mine": mine, "theirs": theirs, "other_team": other_team,
                      "b": b_customer},
    }


# --------------------------------------------------------------------------- the list


def test_who_sees_what(world_a, world_b, tasks, api_client_for):
    w = world_a
    mine, theirs, overdue = tasks["mine"].pk, tasks["theirs"].pk, tasks["overdue"].pk
    url = f"{API}tasks/"
    # Soonest due first (as the page).
    for who, expected in ((w.sales, [mine]), (w.sales2, [theirs]),
                          (w.sales_other_team, [overdue]), (w.manager, [mine, theirs]),
                          (w.cs, [overdue, mine, theirs]), (w.admin, [overdue, mine, theirs]),
                          (world_b.cs, [tasks["b"].pk]), (world_b.sales, [tasks["b"].pk])):
        assert ids(api_client_for(who).get(url)) == expected, who
    # Finance has no follow-up access.
    assert api_client_for(w.finance).get(url).status_code == 403
    assert api_client_for(w.finance).get(f"{API}my-day/").status_code == 403

    # One task: visible → 200; not visible or another tenant's → 404; finance → 403.
    body = api_client_for(w.sales).get(f"{API}tasks/{mine}/").json()
    assert body["customer"] == {"id": tasks["customers"]["mine"].pk, "name": "赵一"}
    assert body["assignee"] == {"id": w.sales.pk, "name": w.sales.name}
    assert (body["team"], body["channel"], body["purpose"], body["status"], body["title"],
            body["attempt"], body["result"], body["completed_by"], body["parent"]) == (
        w.team1.pk, "phone", "periodic", "open", "问候", 1, "", None, None)
    assert (body["purpose_label"], body["channel_label"], body["status_label"]) == (
        zh("Periodic care"), zh("Phone"), zh("To do"))
    assert dt.datetime.fromisoformat(body["due_at"]) == at(w, 1)
    assert api_client_for(w.sales2).get(f"{API}tasks/{mine}/").status_code == 404
    assert api_client_for(w.manager).get(f"{API}tasks/{overdue}/").status_code == 404
    assert api_client_for(world_b.admin).get(f"{API}tasks/{mine}/").status_code == 404
    assert api_client_for(w.finance).get(f"{API}tasks/{mine}/").status_code == 403
    assert api_client_for(world_b.finance).get(f"{API}tasks/{mine}/").status_code == 404


def test_filters(world_a, tasks, api_client_for):
    w = world_a
    mine, theirs, overdue = tasks["mine"].pk, tasks["theirs"].pk, tasks["overdue"].pk
    # An SMS at 00:30 two days from now (Shanghai), 16:30 UTC the day before.
    late = make_task(w, tasks["customers"]["mine"], w.sales,
                     dt.datetime.combine(today(w) + dt.timedelta(days=2), dt.time(0, 30),
                                         ZONE), channel="sms").pk
    done = make_task(w, tasks["customers"]["mine"], w.sales, at(w, 2, slot=1))
    services.task_complete(tenant=w.tenant, actor=w.sales, task=done, result="refused",
                           notes="不需要")
    client = api_client_for(w.cs)

    def listed(**params):
        return ids(client.get(f"{API}tasks/", params))

    day = lambda n: (today(w) + dt.timedelta(days=n)).isoformat()  # noqa: E731
    assert listed() == [overdue, mine, late, done.pk, theirs]
    assert listed(status="open") == [overdue, mine, late, theirs]
    assert listed(status="done") == [done.pk]
    assert listed(purpose="birthday") == [theirs]
    assert listed(channel="sms") == [late, theirs]
    assert listed(assignee=w.sales2.pk) == [theirs]
    assert listed(team=w.team2.pk) == [overdue]
    assert listed(customer=tasks["customers"]["mine"].pk) == [mine, late, done.pk]
    assert listed(overdue="true") == [overdue]
    assert listed(overdue="false") == [overdue, mine, late, done.pk, theirs]
    # Dates are days of the company's time zone: due_to includes its whole day.
    assert listed(due_from=day(1), due_to=day(1)) == [mine]
    assert listed(due_from=day(2), due_to=day(2)) == [late, done.pk]
    assert listed(due_to=day(0)) == [overdue]
    # Date and time: due_from included, due_to excluded; without an offset: company time.
    three = f"{day(3)}T15:00"
    assert listed(due_from=three) == [theirs]
    assert listed(due_from=day(1), due_to=three) == [mine, late, done.pk]
    assert listed(due_from=f"{day(3)}T07:00:00Z") == [theirs]  # 15:00 in Shanghai
    assert listed(due_from=f"{day(3)}T07:00:01Z") == []
    # Combined with visibility: sales never sees another's through a filter.
    assert ids(api_client_for(w.sales).get(f"{API}tasks/", {"assignee": w.sales2.pk})) == []

    for params, field in (({"status": "nope"}, "status"), ({"purpose": "x"}, "purpose"),
                          ({"channel": "fax"}, "channel"), ({"team": "abc"}, "team"),
                          ({"due_from": "tomorrow"}, "due_from"),
                          ({"due_from": "2026-13-01"}, "due_from"),
                          ({"due_from": day(3), "due_to": day(1)}, "due_to"),
                          ({"overdue": "maybe"}, "overdue")):
        response = client.get(f"{API}tasks/", params)
        assert response.status_code == 400, params
        error = response.json()["error"]
        assert error["code"] == "invalid" and list(error["fields"]) == [field], params


def test_list_query_budget(world_a, api_client_for, django_assert_max_num_queries):
    w = world_a
    customers = [CustomerFactory(tenant=w.tenant, actor=w.sales) for _ in range(3)]
    for n in range(22):
        make_task(w, customers[n % 3], w.sales, at(w, 1 + n % 5, slot=n))
    client = api_client_for(w.manager)
    client.get(f"{API}tasks/")
    # Savepoint and release, user, staff, three set_config of the tenant context, the page
    # and its count: nothing per row.
    with django_assert_max_num_queries(9):
        response = client.get(f"{API}tasks/", {"page_size": 20})
    assert len(response.json()["results"]) == 20 and response.json()["count"] == 22


# --------------------------------------------------------------------------- create


def test_create(world_a, tasks, api_client_for):
    w = world_a
    customer = tasks["customers"]["mine"]
    client = api_client_for(w.sales)
    due = at(w, 2, slot=1)
    response = client.post(f"{API}tasks/", {
        "customer": customer.pk, "purpose": "referral_ask", "channel": "phone",
        "due_at": due.isoformat(), "title": "请客户介绍朋友"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["customer"]["id"], body["assignee"]["id"], body["team"], body["purpose"],
            body["channel"], body["status"], body["title"]) == (
        customer.pk, w.sales.pk, w.team1.pk, "referral_ask", "phone", "open", "请客户介绍朋友")
    assert dt.datetime.fromisoformat(body["due_at"]) == due
    assert body["id"] in ids(client.get(f"{API}tasks/"))

    # No due time: a phone call goes to the next calling window.
    response = client.post(f"{API}tasks/", {"customer": customer.pk, "purpose": "periodic",
                                            "channel": "phone"}, format="json")
    assert response.status_code == 201
    due = dt.datetime.fromisoformat(response.json()["due_at"])
    assert windows.is_inside(due, WINDOWS, "Asia/Shanghai")
    assert timezone.now() - dt.timedelta(minutes=1) <= due <= timezone.now() + dt.timedelta(
        days=1)

    # A manager assigns to a member of the team.
    response = api_client_for(w.manager).post(f"{API}tasks/", {
        "customer": tasks["customers"]["theirs"].pk, "purpose": "vip_care", "channel": "wechat",
        "assignee": w.sales2.pk}, format="json")
    assert response.status_code == 201 and response.json()["assignee"]["id"] == w.sales2.pk


def test_create_refusals_create_nothing(world_a, world_b, tasks, api_client_for):
    w = world_a
    customer = tasks["customers"]["mine"]
    client = api_client_for(w.sales)
    before = rows(w), rows(world_b)
    with w.context():
        audits = AuditEntry.objects.count()

    def refused(payload) -> dict:
        response = client.post(f"{API}tasks/", payload, format="json")
        assert response.status_code == 400, response.json()
        error = response.json()["error"]
        assert error["code"] == "invalid"
        return error["fields"]

    # A phone call outside the calling windows: the nearest allowed time is suggested.
    noon = dt.datetime.combine(today(w) + dt.timedelta(days=2), dt.time(12, 30), ZONE)
    suggested = f"{today(w) + dt.timedelta(days=2):%Y-%m-%d} 15:00"
    assert refused({"customer": customer.pk, "purpose": "periodic", "channel": "phone",
                    "due_at": noon.isoformat()}) == {"due_at": [zh(
        "Calls are made only inside the calling windows (%(windows)s). The nearest time is "
        "%(suggested)s.", windows="10:00–11:30、15:00–17:30", suggested=suggested)]}
    # A customer of another tenant looks exactly like an unknown one.
    unknown = refused({"customer": 999999, "purpose": "periodic", "channel": "phone"})
    assert unknown == {"customer": [zh("Choose one of your customers.")]}
    assert refused({"customer": tasks["customers"]["b"].pk, "purpose": "periodic",
                    "channel": "phone"}) == unknown
    # ... and so does another salesperson's customer.
    assert refused({"customer": tasks["customers"]["theirs"].pk, "purpose": "periodic",
                    "channel": "phone"}) == unknown
    assert refused({"customer": customer.pk, "purpose": "nope", "channel": "phone"}) == {
        "purpose": [zh("Choose the purpose.")]}
    assert refused({"customer": customer.pk, "purpose": "periodic", "channel": "phone",
                    "due_at": at(w, -1).isoformat()}) == {
        "due_at": [zh("The due time is in the past.")]}
    assert refused({"customer": customer.pk, "purpose": "periodic", "channel": "sms",
                    "assignee": w.sales2.pk}) == {"assignee": [zh(
        "You may assign follow-ups only to yourself or, as a manager, to your team.")]}
    assert set(refused({"customer": "abc", "purpose": "", "channel": ""})) == {"customer"}
    # Finance may not create.
    response = api_client_for(w.finance).post(f"{API}tasks/", {
        "customer": customer.pk, "purpose": "periodic", "channel": "sms"}, format="json")
    assert response.status_code == 403
    assert (rows(w), rows(world_b)) == before
    with w.context():
        assert AuditEntry.objects.count() == audits


# --------------------------------------------------------------------------- result


def test_result_needs_its_fields(world_a, tasks, api_client_for):
    w = world_a
    task = tasks["mine"]
    client = api_client_for(w.sales)
    url = f"{API}tasks/{task.pk}/result/"
    before = rows(w)
    for payload, fields in (
            ({"result": "reached"}, {"satisfaction": [zh(
                "The customer was reached: give their satisfaction from 1 to 5.")]}),
            ({"result": "reached", "satisfaction": 6}, {"satisfaction": [zh(
                "Give a satisfaction from 1 to 5.")]}),
            ({"result": "refused"}, {"notes": [zh("Say what happened.")]}),
            ({"result": "unreachable", "satisfaction": 3}, {"satisfaction": [zh(
                "Satisfaction is recorded only when the customer was reached.")]}),
            ({}, {"result": [zh("Choose the result.")]})):
        response = client.post(url, payload, format="json")
        assert response.status_code == 400, payload
        assert response.json()["error"]["fields"] == fields, payload
    assert rows(w) == before


def test_unsatisfied_after_sale_opens_a_complaint(world_a, tasks, api_client_for):
    w = world_a
    task = tasks["overdue"]  # an after-sale visit of sales3 (team2)
    client = api_client_for(w.cs)
    response = client.post(f"{API}tasks/{task.pk}/result/", {
        "result": "reached", "satisfaction": 2, "notes": "安装师傅迟到", "next_step": "主管致歉"},
        format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["result"], body["satisfaction"], body["result_notes"],
            body["next_step"], body["completed_by"]) == (
        "done", "reached", 2, "安装师傅迟到", "主管致歉", {"id": w.cs.pk, "name": w.cs.name})
    assert len(body["follow_ups"]) == 1
    complaint = client.get(f"{API}tasks/{body['follow_ups'][0]}/").json()
    assert (complaint["purpose"], complaint["parent"], complaint["assignee"]["id"],
            complaint["customer"]["id"], complaint["status"]) == (
        "complaint", task.pk, w.sales_other_team.pk, task.customer_id, "open")
    # Its assignee sees it too.
    assert complaint["id"] in ids(api_client_for(w.sales_other_team).get(
        f"{API}tasks/", {"purpose": "complaint"}))

    # A satisfied visit creates nothing.
    response = api_client_for(w.sales).post(f"{API}tasks/{tasks['mine'].pk}/result/", {
        "result": "reached", "satisfaction": 5}, format="json")
    assert response.status_code == 200 and response.json()["follow_ups"] == []


def test_unreachable_schedules_a_retry_in_a_calling_window(world_a, tasks, api_client_for):
    w = world_a
    task = tasks["mine"]
    client = api_client_for(w.sales)
    started = timezone.now()
    response = client.post(f"{API}tasks/{task.pk}/result/", {"result": "unreachable"},
                           format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["result"] == "unreachable"
    [retry_id] = response.json()["follow_ups"]
    retry = client.get(f"{API}tasks/{retry_id}/").json()
    due = dt.datetime.fromisoformat(retry["due_at"])
    with w.context():
        _version, plan = plan_for(w.tenant)
    assert (retry["attempt"], retry["parent"], retry["channel"], retry["purpose"]) == (
        2, task.pk, "phone", "periodic")
    assert windows.is_inside(due, plan.windows, "Asia/Shanghai")
    assert due >= started + dt.timedelta(hours=plan.retry_after_hours)


def test_completing_twice_changes_nothing(world_a, tasks, api_client_for):
    w = world_a
    task = tasks["mine"]
    url = f"{API}tasks/{task.pk}/result/"
    first = api_client_for(w.sales).post(url, {"result": "reached", "satisfaction": 4},
                                         format="json")
    assert first.status_code == 200
    before = rows(w)
    for who in (w.sales, w.manager):
        response = api_client_for(who).post(url, {"result": "failed", "notes": "再记一次"},
                                            format="json")
        assert response.status_code == 400
        when = timezone.localtime(dt.datetime.fromisoformat(first.json()["completed_at"]),
                                  ZONE)
        assert response.json()["error"]["fields"] == {"non_field_errors": [zh(
            "The result of this follow-up (%(result)s) was recorded at %(when)s by %(who)s: "
            "nothing was changed.", result=zh("Reached"), when=f"{when:%Y-%m-%d %H:%M}",
            who=w.sales.name)]}
    assert rows(w) == before


def test_result_roles_and_tenants(world_a, world_b, tasks, api_client_for):
    w = world_a
    task = tasks["mine"]
    url = f"{API}tasks/{task.pk}/result/"
    before = rows(w)
    payload = {"result": "reached", "satisfaction": 5}
    assert api_client_for(w.finance).post(url, payload, format="json").status_code == 403
    assert api_client_for(w.sales2).post(url, payload, format="json").status_code == 404
    assert api_client_for(w.sales_other_team).post(url, payload,
                                                   format="json").status_code == 404
    assert api_client_for(world_b.admin).post(url, payload, format="json").status_code == 404
    assert api_client_for(world_b.admin).post(f"{API}tasks/{task.pk}/cancel/", {
        "reason": "x"}, format="json").status_code == 404
    # No other method on a task, and 404 first for one not visible.
    assert api_client_for(w.sales).delete(f"{API}tasks/{task.pk}/").status_code == 405
    assert api_client_for(w.sales2).delete(f"{API}tasks/{task.pk}/").status_code == 404
    assert rows(w) == before
    # The team's manager may record it.
    response = api_client_for(w.manager).post(url, payload, format="json")
    assert response.status_code == 200 and response.json()["completed_by"]["id"] == \
        w.manager.pk


# --------------------------------------------------------------------------- cancel


def test_cancel(world_a, tasks, api_client_for):
    w = world_a
    task = tasks["mine"]
    url = f"{API}tasks/{task.pk}/cancel/"
    before = rows(w)
    manager = api_client_for(w.manager)
    response = manager.post(url, {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reason": [
        zh("Say why the follow-up is cancelled.")]}
    assert manager.post(url, {"reason": "   "}, format="json").status_code == 400
    # Sales may not cancel, even their own; the other team's manager does not see it.
    assert api_client_for(w.sales).post(url, {"reason": "x"}, format="json").status_code == 403
    assert rows(w) == before
    response = manager.post(url, {"reason": "客户已搬走"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cancel_reason"], body["result"],
            body["completed_by"]["id"]) == ("cancelled", "客户已搬走", "", w.manager.pk)
    after = rows(w)
    response = manager.post(url, {"reason": "再取消"}, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == [
        "non_field_errors"]
    response = api_client_for(w.sales).post(f"{API}tasks/{task.pk}/result/", {
        "result": "reached", "satisfaction": 5}, format="json")
    assert response.status_code == 400
    assert rows(w) == after
