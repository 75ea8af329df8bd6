"""The dispute pages: queue, detail, the steps with their confirmation, role refusals."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.disputes import services
from apps.disputes.models import Dispute

from .conftest import credit, fresh, make_in_status, snapshot

pytestmark = pytest.mark.django_db


def url(name, dispute, *args):
    return reverse(f"disputes:{name}", args=[dispute.pk, *args])


# --------------------------------------------------------------------------- queue


def test_manager_queue_defaults_to_waiting_for_me(world_a, customer, dispute, client_for):
    w = world_a
    closed = services.dispute_open(tenant=w.tenant, actor=None, customer=customer,
                                   claimant=w.sales_other_team)
    services.dispute_withdraw(tenant=w.tenant, actor=w.sales_other_team, dispute=closed)
    page = client_for(w.manager).get(reverse("disputes:list"))
    assert page.status_code == 200
    rows = list(page.context["disputes"])
    assert rows == [fresh(w, dispute)]
    html = page.content.decode()
    assert "待我处理" in html and "张三" in html
    everything = client_for(w.manager).get(reverse("disputes:list"), {"status": ""})
    assert {d.pk for d in everything.context["disputes"]} == {dispute.pk, closed.pk}


def test_admin_queue_defaults_to_escalated(world_a, dispute, client_for):
    w = world_a
    page = client_for(w.admin).get(reverse("disputes:list"))
    assert list(page.context["disputes"]) == []
    make_in_status(w, dispute, "escalated")
    page = client_for(w.admin).get(reverse("disputes:list"))
    assert [d.pk for d in page.context["disputes"]] == [dispute.pk]


def test_sales_see_only_their_disputes(world_a, dispute, client_for):
    w = world_a
    assert [d.pk for d in client_for(w.sales2).get(reverse("disputes:list"))
            .context["disputes"]] == [dispute.pk]
    assert list(client_for(w.sales_other_team).get(reverse("disputes:list"))
                .context["disputes"]) == []
    assert client_for(w.sales_other_team).get(url("detail", dispute)).status_code == 404


def test_queue_filters_and_paginates(world_a, client_for):
    from tests.customers.factories import CustomerFactory

    w = world_a
    for _i in range(27):
        c = CustomerFactory(tenant=w.tenant, actor=w.sales)
        services.dispute_open(tenant=w.tenant, actor=None, customer=c, claimant=w.sales2)
    client = client_for(w.sales2)
    first = client.get(reverse("disputes:list"), {"scope": "mine"})
    assert first.context["page"].paginator.count == 27
    assert len(first.context["disputes"]) == 25
    second = client.get(reverse("disputes:list"), {"scope": "mine", "page": 2})
    assert len(second.context["disputes"]) == 2
    none = client.get(reverse("disputes:list"), {"status": "decided"})
    assert none.context["page"].paginator.count == 0
    assert "没有找到撞单。" in none.content.decode()


# --------------------------------------------------------------------------- detail


def test_detail_shows_timeline_and_actions_for_the_viewer(world_a, dispute, client_for):
    w = world_a
    manager = client_for(w.manager).get(url("detail", dispute))
    assert manager.status_code == 200
    assert manager.context["actions"] == {"decide", "escalate", "evidence"}
    html = manager.content.decode()
    assert "已发起撞单申诉" in html and "客户说先联系的我" in html
    claimant = client_for(w.sales2).get(url("detail", dispute))
    assert claimant.context["actions"] == {"propose", "escalate", "withdraw", "evidence"}
    assert "裁决" not in [a for a in claimant.context["actions"]]


# --------------------------------------------------------------------------- propose


def test_propose_form_keeps_input_after_errors(world_a, dispute, client_for):
    w = world_a
    before = snapshot(w, dispute)
    response = client_for(w.sales).post(url("propose", dispute), {
        "owner_percent": "70", "claimant_percent": "40", "note": "七三开"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "各方比例之和必须正好是 100%（现在是 110%）。" in html
    assert 'value="70"' in html and 'value="40"' in html and "七三开" in html
    assert snapshot(w, dispute) == before
    response = client_for(w.sales).post(url("propose", dispute), {
        "owner_percent": "70", "claimant_percent": "30", "note": "七三开"})
    assert response.status_code == 302
    assert fresh(w, dispute).status == "proposed"


# --------------------------------------------------------------------------- confirmation steps


@pytest.mark.parametrize(("step", "actor", "data", "status"), [
    ("withdraw", "sales2", {"note": "算了"}, "withdrawn"),
    ("escalate", "sales", {"reason": "不接受"}, "escalated"),
])
def test_irreversible_steps_confirm_first(world_a, dispute, client_for, step, actor, data,
                                          status):
    client = client_for(getattr(world_a, actor))
    page = client.get(url(step, dispute))
    assert page.status_code == 200
    assert "此操作不可撤销。" in page.content.decode()
    assert fresh(world_a, dispute).status == "open"  # GET changes nothing
    assert client.post(url(step, dispute), data).status_code == 302
    assert fresh(world_a, dispute).status == status


def test_escalate_without_reason_keeps_the_page(world_a, dispute, client_for):
    response = client_for(world_a.sales).post(url("escalate", dispute), {"reason": ""})
    assert response.status_code == 400
    assert "请说明上报公司的原因。" in response.content.decode()
    assert fresh(world_a, dispute).status == "open"


def test_approve_page(world_a, dispute, client_for):
    w = world_a
    make_in_status(w, dispute, "proposed")
    client = client_for(w.manager)
    page = client.get(url("approve", dispute))
    assert "批准分配提议？" in page.content.decode()
    assert client.post(url("approve", dispute), {"note": "同意"}).status_code == 302
    assert fresh(w, dispute).status == "approved"


def test_reject_page(world_a, dispute, client_for):
    w = world_a
    make_in_status(w, dispute, "proposed")
    assert client_for(w.sales2).post(url("reject", dispute), {"note": "不同意"}).status_code == 302
    assert fresh(w, dispute).status == "open"


# --------------------------------------------------------------------------- decide


def test_decide_confirms_then_decides(world_a, customer, dispute, client_for):
    w = world_a
    client = client_for(w.manager)
    data = {"outcome": "split", "owner_percent": "20", "claimant_percent": "80",
            "decided_owner": "claimant", "note": "客户投诉后换人"}
    confirm = client.post(url("decide", dispute), data)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "确认裁决" in html and "按比例分配" in html
    assert fresh(w, dispute).status == "open"  # not yet
    done = client.post(url("decide", dispute), {**data, "confirmed": "1"})
    assert done.status_code == 302
    d = fresh(w, dispute)
    assert (d.status, d.outcome, d.decided_owner_id) == ("decided", "split", w.sales2.pk)
    assert credit(w, customer) == sorted([(w.sales.pk, 20, False), (w.sales2.pk, 80, False)])
    detail = client.get(url("detail", dispute)).content.decode()
    assert "撞单已裁决，已通知双方。" in detail


def test_change_the_decision_goes_back_with_the_input(world_a, dispute, client_for):
    response = client_for(world_a.manager).post(url("decide", dispute), {
        "rule": "group_purchase", "units": "7", "note": "七套团购", "edit": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="units" value="7"' in html and "七套团购" in html
    assert "invalid-feedback" not in html
    assert fresh(world_a, dispute).status == "open"


def test_decide_errors_keep_the_input(world_a, dispute, client_for):
    w = world_a
    response = client_for(w.manager).post(url("decide", dispute), {
        "outcome": "split", "owner_percent": "-10", "claimant_percent": "110", "note": "理由"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "比例不能为负数。" in html
    assert 'value="-10"' in html and 'value="110"' in html and "理由" in html
    assert fresh(w, dispute).status == "open"


@pytest.mark.parametrize(("code", "outcome", "owner", "claimant"), [
    ("relatives_first_visit", "award_owner", "100", "0"),
    ("relatives_after_deal", "split", "50", "50"),
    ("contact_evidence", "split", "50", "50"),
    ("complaint_reassigned", "split", "20", "80"),
    ("group_purchase", "split", "50", "50"),
    ("earlier_old_customer_deal", None, None, None),
    ("named_salesperson", None, None, None),
    ("revisit_30_days", None, None, None),
])
def test_picking_a_rule_prefills_the_decision(world_a, dispute, client_for, code, outcome, owner,
                                              claimant):
    from apps.disputes.rules import DEFAULT_RULES

    response = client_for(world_a.manager).get(url("decide", dispute), {"rule": code},
                                               HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["rule"] == code
    assert form.initial.get("outcome") == outcome
    if owner is not None:
        assert form.initial["owner_percent"] == Decimal(owner)
        assert form.initial["claimant_percent"] == Decimal(claimant)
        assert f'name="owner_percent" value="{owner}"' in response.content.decode()
    rule = DEFAULT_RULES[code]
    html = response.content.decode()
    assert str(form.initial["note"]) == f"按默认规则：{rule.label}"
    if rule.param:
        assert rule.param in form.fields  # the one thing the manager still enters
    assert 'id="decision"' in html


def test_rule_decision_through_the_page_is_recorded(world_a, customer, dispute, client_for):
    w = world_a
    client = client_for(w.manager)
    data = {"rule": "earlier_old_customer_deal", "winner": "claimant", "note": "李四的老客户先成交"}
    confirm = client.post(url("decide", dispute), data)
    assert confirm.status_code == 200
    assert "归申诉人" in confirm.content.decode()
    client.post(url("decide", dispute), {**data, "confirmed": "1"})
    d = fresh(w, dispute)
    assert (d.rule, d.outcome) == ("earlier_old_customer_deal", "award_claimant")
    html = client.get(url("detail", dispute)).content.decode()
    assert "两组老客户带新客户：老客户成交早者得" in html


def test_deciding_a_decided_dispute_on_the_page(world_a, dispute, client_for):
    w = world_a
    make_in_status(w, dispute, "decided")
    response = client_for(w.manager).get(url("decide", dispute), follow=True)
    assert "此撞单已处理（已裁决），不能再次裁决。" in response.content.decode()
    response = client_for(w.manager).post(url("decide", dispute), {
        "outcome": "award_claimant", "note": "改判", "confirmed": "1"}, follow=True)
    assert "此撞单已处理（已裁决），不能再次裁决。" in response.content.decode()
    assert fresh(w, dispute).outcome == "award_owner"


@pytest.mark.parametrize("step", ["decide", "approve"])
def test_sales_cannot_decide_or_approve(world_a, dispute, client_for, step):
    w = world_a
    if step == "approve":
        make_in_status(w, dispute, "proposed")
    before = snapshot(w, dispute)
    for staff in (w.sales, w.sales2):
        client = client_for(staff)
        assert client.get(url(step, dispute)).status_code == 403
        assert client.post(url(step, dispute), {"outcome": "award_claimant", "note": "x",
                                                "confirmed": "1"}).status_code == 403
    assert snapshot(w, dispute) == before


def test_manager_cannot_decide_escalated_on_the_page(world_a, dispute, client_for):
    w = world_a
    make_in_status(w, dispute, "escalated")
    response = client_for(w.manager).get(url("decide", dispute))
    assert response.status_code == 403
    assert "此撞单已上报公司，只有管理员可以裁决。" in response.content.decode()
    assert client_for(w.admin).get(url("decide", dispute)).status_code == 200


def test_other_team_manager_sees_404(world_a, dispute, client_for):
    w = world_a
    other = w.make_staff("manager_t2", ["manager"], w.team2)
    for name in ("detail", "decide", "approve", "escalate", "withdraw", "propose"):
        assert client_for(other).get(url(name, dispute)).status_code == 404


def test_anonymous_is_sent_to_login(dispute, client):
    response = client.get(reverse("disputes:detail", args=[dispute.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_dispute_count_unchanged_by_pages(world_a, dispute, client_for):
    for staff in (world_a.manager, world_a.sales, world_a.admin):
        client_for(staff).get(url("detail", dispute))
    with world_a.context():
        assert Dispute.objects.count() == 1
