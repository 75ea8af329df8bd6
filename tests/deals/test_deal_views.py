"""The deal pages: list (filters, who sees what, query budget), entry form (phone-friendly,
keeps what was typed, add a row), detail (who gets what and why), notes, and the refund with
its confirmation step."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.deals.models import Contract, Deal, DealCredit, DealParticipant, Refund
from apps.disputes import services as disputes
from tests.customers.factories import CustomerFactory
from tests.query_budgets import assert_flat

from .conftest import counts, make_contract, make_deal

D = Decimal
LIST = reverse("deals:list")
CREATE = reverse("deals:create")


def ids(response) -> list[int]:
    return [d.pk for d in response.context["deals"]]


# --------------------------------------------------------------------------- list


@pytest.fixture
def three(edu):
    """A: edu.customer (sales's, team1) closed by the consultant; B: the same customer with
    sales2 as number obtainer; C: the other team's customer, closed by sales3 (kind renewal)."""
    e = edu
    w = e.world
    a = make_deal(e, contract_number="HT-A", participants=[(e.consultant, "consultant", "")])
    b = make_deal(e, contract_number="HT-B", amount="500", signed_on=e.today - dt.timedelta(days=3),
                  participants=[(w.sales2, "number_obtainer", ""), (e.teacher1, "teacher", "")])
    c = make_deal(e, contract_number="HT-C", customer=e.other_customer, kind="renewal",
                  renews=make_contract(e, customer=e.other_customer),
                  participants=[(w.sales_other_team, "teacher", "")])
    return a, b, c


def test_who_sees_which_deals(edu, three, client_for):
    a, b, c = three
    w = edu.world
    assert ids(client_for(w.admin).get(LIST)) == [c.pk, a.pk, b.pk]
    assert ids(client_for(w.finance).get(LIST)) == [c.pk, a.pk, b.pk]
    assert ids(client_for(w.manager).get(LIST)) == [a.pk, b.pk]            # team1
    assert ids(client_for(w.sales).get(LIST)) == [a.pk, b.pk]              # their customer
    assert ids(client_for(w.sales2).get(LIST)) == [b.pk]                   # took part
    assert ids(client_for(w.sales_other_team).get(LIST)) == [c.pk]
    assert client_for(w.cs).get(LIST).status_code == 403


@pytest.mark.parametrize(("params", "expected"), [
    ({"kind": "renewal"}, ["HT-C"]),
    ({"search": "HT-B"}, ["HT-B"]),
    ({"search": "王同学"}, ["HT-C"]),
    ({"search": "phone"}, ["HT-A", "HT-B"]),
    ({"search": "last4"}, ["HT-A", "HT-B"]),
    ({"team": "team2"}, ["HT-C"]),
    ({"participant": "sales2"}, ["HT-B"]),
    ({"date_to": "3 days ago"}, ["HT-B"]),
    ({"date_from": "today"}, ["HT-C", "HT-A"]),
])
def test_list_filters(edu, three, client_for, params, expected):
    e = edu
    w = e.world
    values = {"phone": e.customer.phone, "last4": e.customer.phone[-4:], "team2": w.team2.pk,
              "sales2": w.sales2.pk, "3 days ago": (e.today - dt.timedelta(days=3)).isoformat(),
              "today": e.today.isoformat()}
    query = {k: values.get(v, v) for k, v in params.items()}
    response = client_for(w.admin).get(LIST, query)
    assert response.status_code == 200
    assert [d.contract_number for d in response.context["deals"]] == expected


def test_bad_filters_are_shown_not_ignored(edu, three, client_for):
    response = client_for(edu.world.admin).get(LIST, {"kind": "gift", "date_from": "2025-02-01",
                                                      "date_to": "2025-01-01"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "部分筛选条件无效" in body and "结束日期不能早于开始日期。" in body
    assert list(response.context["deals"]) == []


def test_htmx_search_answers_the_results_only(edu, three, client_for):
    response = client_for(edu.world.admin).get(LIST, {"search": "HT-A"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and "HT-A" in body
    assert "HT-B" not in body
    assert "HX-Request" in response["Vary"]


def test_sales_sees_no_team_or_participant_filter(edu, client_for):
    body = client_for(edu.world.sales).get(LIST).content.decode()
    assert 'name="team"' not in body and 'name="participant"' not in body
    body = client_for(edu.world.admin).get(LIST).content.decode()
    assert 'name="team"' in body and 'name="participant"' in body


def test_list_query_budget(edu, client_for, django_assert_max_num_queries):
    e = edu
    w = e.world
    customers = [e.customer, CustomerFactory(tenant=w.tenant, actor=w.sales2)]

    def grow(n):
        for i in range(n):
            make_deal(e, customer=customers[i % 2], participants=[
                (e.consultant, "consultant", ""), (e.teacher1, "teacher", "数学"),
                (e.teacher2, "teacher", "英语")])

    client = client_for(w.admin)
    response = assert_flat(client, LIST, grow, n=10)
    assert len(response.context["deals"]) == 20
    grow(10)  # 30: a full page and a second one
    # 7 of plumbing (savepoint, user, app.user_id, membership, app.tenant_id set and reset,
    # release) + the filter options (one UNION) + count + the page (customer, team, owner
    # joined) + the participants (staff and role joined) + the unread badge.
    with django_assert_max_num_queries(12):
        response = client.get(LIST)
    assert len(response.context["deals"]) == 25
    body = response.content.decode()
    assert f"{e.teacher2.name}（任课老师）" in body


# --------------------------------------------------------------------------- entry


def form_data(edu, **overrides):
    e = edu
    data = {
        "customer_phone": e.customer.phone, "kind": "new", "amount": "12800.50",
        "signed_on": e.today.isoformat(), "contract_number": "HT-WEB-1", "units": "1",
        "teacher_raised": "on", "renews": "", "term_start": "", "term_end": "",
        "hours_bought": "", "notes": "周末班",
        "participants-TOTAL_FORMS": "3", "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "0", "participants-MAX_NUM_FORMS": "30",
        "participants-0-staff": str(e.world.sales.pk), "participants-0-role": "number_obtainer",
        "participants-0-subject": "",
        "participants-1-staff": str(e.teacher1.pk), "participants-1-role": "teacher",
        "participants-1-subject": "数学",
        "participants-2-staff": "", "participants-2-role": "", "participants-2-subject": "",
    }
    data.update(overrides)
    return data


def test_the_form_is_phone_friendly_and_starts_with_the_salesperson(edu, client_for):
    e = edu
    response = client_for(e.world.sales).get(CREATE, {"customer": e.customer.pk})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'inputmode="tel"' in body and 'inputmode="decimal"' in body
    assert f'value="{e.customer.phone}"' in body
    assert re.search(rf'<option value="{e.world.sales.pk}" selected>', body)
    assert '<option value="closer" selected>' in body
    assert 'name="viewport"' in body
    assert "添加一行" in body


def test_sales_enters_a_deal_through_the_form(edu, client_for):
    e = edu
    response = client_for(e.world.sales).post(CREATE, form_data(e))
    with e.world.context():
        deal = Deal.objects.get(contract_number="HT-WEB-1")
        people = list(DealParticipant.objects.filter(deal=deal).order_by("id")
                      .values_list("staff_id", "role__code", "subject"))
        credit = sorted(DealCredit.objects.filter(deal=deal).values_list("staff_id", "amount"))
    assert response.status_code == 302
    assert response["Location"] == reverse("deals:detail", args=[deal.pk])
    assert (deal.amount, deal.customer_id, deal.notes) == (D("12800.50"), e.customer.pk, "周末班")
    assert people == [(e.world.sales.pk, "number_obtainer", ""), (e.teacher1.pk, "teacher", "数学")]
    assert credit == sorted([(e.world.sales.pk, D("6400.25")), (e.teacher1.pk, D("6400.25"))])


def test_the_form_keeps_what_was_typed_after_errors(edu, client_for, world_b):
    e = edu
    make_deal(e, contract_number="HT-WEB-1")
    before = counts(e.world)
    response = client_for(e.world.sales).post(CREATE, form_data(
        e, amount="0", notes="保留我", **{"participants-2-staff": str(world_b.sales.pk),
                                         "participants-2-role": "consultant"}))
    body = response.content.decode()
    assert response.status_code == 400
    assert counts(e.world) == before
    # Another tenant's staff member is no option: the row says so, nobody is named.
    assert "找不到该员工。" in body and world_b.sales.name not in body
    assert 'value="HT-WEB-1"' in body and "保留我" in body and 'value="0"' in body
    assert re.search(rf'<option value="{e.teacher1.pk}" selected>', body)
    assert 'value="数学"' in body


def test_service_errors_land_on_their_fields(edu, client_for):
    e = edu
    make_deal(e, contract_number="HT-WEB-1")
    before = counts(e.world)
    response = client_for(e.world.sales).post(CREATE, form_data(e, amount="-5"))
    errors = response.context["form"].errors
    assert response.status_code == 400
    assert errors["amount"] == ["请输入大于 0 的金额。"]
    assert errors["contract_number"] == ["合同编号 HT-WEB-1 已被使用。"]
    assert counts(e.world) == before
    assert re.search(r'<input[^>]*name="amount"[^>]*is-invalid', response.content.decode())


def test_a_salesperson_picks_only_their_own_customers(edu, client_for):
    e = edu
    response = client_for(e.world.sales).post(CREATE, form_data(
        e, customer_phone=e.other_customer.phone))
    assert response.status_code == 400
    assert response.context["form"].errors["customer_phone"] == ["你的客户中没有使用该手机号的。"]
    assert e.other_customer.name not in response.content.decode()


def test_participant_errors_are_shown_above_the_rows(edu, client_for):
    e = edu
    response = client_for(e.world.sales).post(CREATE, form_data(
        e, **{"participants-0-staff": "", "participants-0-role": "",
              "participants-1-staff": "", "participants-1-role": ""}))
    assert response.status_code == 400
    assert "请至少添加一位参与人。" in response.content.decode()


def test_add_a_row_keeps_everything_and_shows_no_errors(edu, client_for):
    e = edu
    before = counts(e.world)
    response = client_for(e.world.sales).post(CREATE, {**form_data(e, amount=""), "add_row": "1"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="participants-TOTAL_FORMS" value="4"' in body
    assert 'name="participants-3-staff"' in body
    assert "invalid-feedback" not in body
    assert 'value="数学"' in body
    assert counts(e.world) == before


def test_renewal_through_the_form_with_the_contract_number(edu, client_for):
    e = edu
    old = make_contract(e, number="OLD-1", start=e.today - dt.timedelta(days=45))
    theirs = make_contract(e, number="THEIRS-1", customer=e.other_customer)
    data = form_data(e, kind="renewal", renews="THEIRS-1", **{
        "participants-0-staff": str(e.consultant.pk), "participants-0-role": "consultant"})
    client = client_for(e.world.admin)
    response = client.post(CREATE, data)
    assert response.status_code == 400 and "renews" in response.context["form"].errors
    with e.world.context():
        assert Contract.objects.get(pk=theirs.pk).renewed_by_id is None
    data.update(renews="OLD-1", term_start=e.today.isoformat(),
                term_end=(e.today + dt.timedelta(days=180)).isoformat(), hours_bought="40")
    response = client.post(CREATE, data)
    assert response.status_code == 302
    with e.world.context():
        deal = Deal.objects.select_related("contract").get(contract_number="HT-WEB-1")
        assert deal.days_since_contract_start == 45 and deal.renews_id == old.pk
        assert deal.contract.hours_bought == D("40.0")
    detail = client.get(response["Location"]).content.decode()
    assert "于合同开始后第 45 天签约" in detail and "OLD-1" in detail


def test_customer_lookup_fragment(edu, client_for):
    e = edu
    make_contract(e, number="MINE-1")
    url = reverse("deals:customer_lookup")
    client = client_for(e.world.sales)
    body = client.get(url, {"customer_phone": e.customer.phone}).content.decode()
    assert e.customer.name in body and '<option value="MINE-1">' in body
    body = client.get(url, {"customer_phone": e.other_customer.phone}).content.decode()
    assert "你的客户中没有使用该手机号的。" in body and e.other_customer.name not in body
    assert client_for(e.world.cs).get(url).status_code == 403


@pytest.mark.parametrize("role", ["cs", "finance"])
def test_customer_service_and_finance_get_no_form(edu, client_for, role):
    e = edu
    client = client_for(getattr(e.world, role))
    assert client.get(CREATE).status_code == 403
    before = counts(e.world)
    assert client.post(CREATE, form_data(e)).status_code == 403
    assert counts(e.world) == before


# --------------------------------------------------------------------------- detail


def test_detail_shows_who_gets_what_and_why(edu, client_for):
    e = edu
    deal = make_deal(e, kind="renewal", amount="10000", renews=make_contract(e), participants=[
        (e.consultant, "consultant", ""), (e.teacher1, "teacher", "数学"),
        (e.teacher2, "teacher", "英语"), (e.teacher3, "teacher", "物理")])
    response = client_for(e.world.manager).get(reverse("deals:detail", args=[deal.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "业绩规则第 1 版" in body
    assert reverse("deals:rule_set_detail", args=[e.rule_set.pk]) in body
    assert "1666.67" in body and "1666.66" in body and "5000.00" in body
    credit_table = body[body.index('id="credit-lines"'):body.index("</table>",
                                                                   body.index('id="credit-lines"'))]
    assert "咨询师" in credit_table and "任课老师" in credit_table
    with e.world.context():
        explanation = DealCredit.objects.filter(deal=deal, staff=e.consultant).get().explanation
    assert explanation and explanation in body
    assert "每人净业绩" in body and reverse("deals:refund", args=[deal.pk]) in body


def test_detail_of_a_dispute_split_links_the_decision(edu, client_for):
    e = edu
    w = e.world
    dispute = disputes.dispute_open(tenant=w.tenant, actor=w.sales2, customer=e.customer,
                                    claimant=w.sales2)
    disputes.dispute_decide(tenant=w.tenant, actor=w.manager, dispute=dispute, outcome="split",
                            shares={w.sales: 50, w.sales2: 50}, note="五五开")
    deal = make_deal(e)
    body = client_for(w.manager).get(reverse("deals:detail", args=[deal.pk])).content.decode()
    assert reverse("disputes:detail", args=[dispute.pk]) in body
    assert f"撞单裁决（#{dispute.pk}）" in body
    # Finance sees the deal but not the dispute: the decision is named without a link.
    body = client_for(w.finance).get(reverse("deals:detail", args=[deal.pk])).content.decode()
    assert reverse("disputes:detail", args=[dispute.pk]) not in body
    assert "按撞单裁决分配" in body


def test_detail_is_404_for_who_may_not_see_it_and_for_another_tenant(edu, world_b, client_for):
    e = edu
    deal = make_deal(e)
    url = reverse("deals:detail", args=[deal.pk])
    assert client_for(e.world.sales_other_team).get(url).status_code == 404
    assert client_for(world_b.admin).get(url).status_code == 404
    assert client_for(e.world.sales).get(url).status_code == 200       # their customer
    assert client_for(e.consultant).get(url).status_code == 200        # took part
    body = client_for(e.world.sales).get(url).content.decode()
    assert reverse("deals:refund", args=[deal.pk]) not in body        # sales cannot refund


def test_notes_can_be_changed_on_the_page(edu, client_for):
    e = edu
    deal = make_deal(e)
    url = reverse("deals:notes", args=[deal.pk])
    response = client_for(e.world.sales).post(url, {"notes": "已开发票"})
    assert response.status_code == 302
    with e.world.context():
        assert Deal.objects.get(pk=deal.pk).notes == "已开发票"
    assert client_for(e.world.finance).post(url, {"notes": "x"}).status_code == 403
    assert client_for(e.world.sales_other_team).post(url, {"notes": "x"}).status_code == 404


# --------------------------------------------------------------------------- refund


@pytest.fixture
def deal(edu):
    e = edu
    return make_deal(e, amount="9000", participants=[
        (e.consultant, "consultant", ""), (e.teacher1, "teacher", "数学"),
        (e.teacher2, "teacher", "英语")], kind="expansion")


def test_refund_with_a_confirmation_step(edu, deal, client_for):
    e = edu
    url = reverse("deals:refund", args=[deal.pk])
    client = client_for(e.world.admin)
    page = client.get(url)
    assert page.status_code == 200 and 'value="9000.00"' in page.content.decode()
    data = {"amount": "900", "refunded_on": e.today.isoformat(), "reason": "家长退课"}
    before = counts(e.world)
    confirm = client.post(url, data)
    body = confirm.content.decode()
    assert confirm.status_code == 200 and "确认退款" in body
    assert "-450.00" in body and "-225.00" in body and "8100.00" in body
    assert counts(e.world) == before  # nothing written before the confirmation
    done = client.post(url, {**data, "confirmed": "1"})
    assert done.status_code == 302 and done["Location"] == reverse("deals:detail", args=[deal.pk])
    with e.world.context():
        assert Refund.objects.get(deal=deal).amount == D("900.00")
    detail = client.get(done["Location"]).content.decode()
    assert "已记录退款 900.00，业绩已按比例冲减。" in detail and "家长退课" in detail
    assert "4050.00" in detail  # the consultant's net credit


def test_refund_errors_keep_the_form(edu, deal, client_for):
    e = edu
    url = reverse("deals:refund", args=[deal.pk])
    before = counts(e.world)
    response = client_for(e.world.manager).post(url, {
        "amount": "9000.01", "refunded_on": e.today.isoformat(), "reason": "", "confirmed": "1"})
    errors = response.context["form"].errors
    assert response.status_code == 400
    assert errors["amount"] == ["最多还可退 9000.00。"] and errors["reason"] == ["请填写退款原因。"]
    assert 'value="9000.01"' in response.content.decode()
    assert counts(e.world) == before


def test_change_the_refund_goes_back_to_the_form(edu, deal, client_for):
    e = edu
    url = reverse("deals:refund", args=[deal.pk])
    response = client_for(e.world.admin).post(url, {
        "amount": "100", "refunded_on": e.today.isoformat(), "reason": "改一下", "edit": "1"})
    assert response.status_code == 200 and 'value="100"' in response.content.decode()
    with e.world.context():
        assert not Refund.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("sales", 403), ("cs", 403),
                                              ("sales_other_team", 403)])
def test_who_may_not_refund_gets_403_and_nothing_changes(edu, deal, client_for, role, status):
    e = edu
    url = reverse("deals:refund", args=[deal.pk])
    client = client_for(getattr(e.world, role))
    before = counts(e.world)
    assert client.get(url).status_code == status
    assert client.post(url, {"amount": "1", "refunded_on": e.today.isoformat(), "reason": "x",
                             "confirmed": "1"}).status_code == status
    assert counts(e.world) == before


def test_another_tenants_deal_is_404_on_every_deal_page(edu, deal, world_b, client_for):
    before = counts(edu.world)
    for role in ("admin", "finance", "manager", "sales", "cs"):
        client = client_for(getattr(world_b, role))
        for name in ("detail", "refund", "notes"):
            url = reverse(f"deals:{name}", args=[deal.pk])
            assert client.get(url).status_code == 404, (role, name)
            assert client.post(url, {"amount": "1", "reason": "x", "notes": "x",
                                     "confirmed": "1"}).status_code == 404, (role, name)
    assert counts(edu.world) == before


def test_detail_query_count_does_not_grow_with_lines_and_refunds(edu, client_for):
    from tests.query_budgets import measure

    e = edu
    small = make_deal(e, amount="1000", participants=[(e.consultant, "consultant", "")])
    big = make_deal(e, kind="expansion", amount="9000", participants=[
        (e.consultant, "consultant", ""), (e.teacher1, "teacher", "数学"),
        (e.teacher2, "teacher", "英语"), (e.teacher3, "teacher", "物理")])
    for deal, amounts in ((small, ["100"]), (big, ["100", "200", "300"])):
        for amount in amounts:
            services_refund(e, deal, amount)
    client = client_for(e.world.admin)
    client.get(reverse("deals:detail", args=[small.pk]))  # warm the session
    _, few = measure(client, reverse("deals:detail", args=[small.pk]))
    _, many = measure(client, reverse("deals:detail", args=[big.pk]))
    assert len(few) == len(many), "\n".join(many)


def services_refund(edu, deal, amount):
    from apps.deals import services

    return services.deal_refund(tenant=edu.tenant, actor=edu.world.admin, deal=deal,
                                amount=D(amount), refunded_on=edu.today, reason="退课")
