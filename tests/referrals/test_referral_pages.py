"""The referral pages: list, log (referrer search, registration check, collision step),
detail, verify, reject, approve, pay, reward lines — roles, refusals, other tenants, budgets."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest

from apps.deals import services as deals
from apps.disputes.models import Dispute
from apps.ownership.registration import customer_register
from apps.ownership.selectors import tenant_today
from apps.referrals import lifecycle
from apps.referrals import referrers as svc
from apps.referrals.models import Referral, RewardLine
from tests.query_budgets import assert_flat
from tests.referrals.cards_helpers import card_for, customer_referrer

pytestmark = pytest.mark.django_db

_phones = itertools.count(13900139001)
_contracts = itertools.count(1)


# ----------------------------------------------------------------------------- builders

def log(w, referrer, *, actor=None, name="李四", phone=None) -> Referral:
    """A referral logged through the service (verified: a new person)."""
    return lifecycle.referral_log(tenant=w.tenant, actor=actor or w.sales, referrer=referrer,
                                  name=name, phone=phone or str(next(_phones))).referral


def link_referral(w, referrer, *, name="孙小美", phone=None) -> Referral:
    """A referral left on the public link (registered, no customer yet)."""
    with w.context():
        return Referral.objects.create(tenant=w.tenant, referrer=referrer, name=name,
                                       phone=phone or str(next(_phones)),
                                       channel=Referral.Channel.LINK)


def convert(w, referral, *, days_ago=10, amount="10000") -> Referral:
    """The referred customer's first deal (signed `days_ago` days ago): reward_pending."""
    with w.context():
        customer = Referral.objects.select_related("customer__owner").get(
            pk=referral.pk).customer
    deals.deal_create(tenant=w.tenant, actor=w.admin, customer=customer, kind="new",
                      amount=Decimal(amount),
                      signed_on=tenant_today(w.tenant) - dt.timedelta(days=days_ago),
                      contract_number=f"HT-P{next(_contracts)}",
                      participants=[(customer.owner, "consultant", "")])
    return fresh(w, referral)


def fresh(w, referral) -> Referral:
    with w.context():
        return Referral.objects.get(pk=referral.pk)


def approved(w, referral) -> Referral:
    return lifecycle.referral_approve(tenant=w.tenant, actor=w.manager, referral=referral)


def protected_customer(w, *, phone="13700137001", name="赵六"):
    """A customer of sales2, inside their protection (a collision for anyone else)."""
    return customer_register(tenant=w.tenant, actor=w.sales2, name=name, phone=phone).customer


@pytest.fixture
def ref(world_a):
    """A customer referrer of world_a's salesperson (王五, with a card)."""
    referrer = customer_referrer(world_a)
    card_for(world_a, referrer)
    return referrer


def html(response) -> str:
    return response.content.decode()


def errors_in(response) -> list[str]:
    """The error texts a page shows (for assertion messages)."""
    return re.findall(r'(?:invalid-feedback[^>]*|alert-danger[^>]*|alert-warning[^>]*)>(.*?)</div>',
                      html(response), re.S)


# ----------------------------------------------------------------------------- list

def test_list_shows_what_the_viewer_may_see(world_a, ref, client_for):
    w = world_a
    mine = log(w, ref, name="李四", phone="13900130001")
    other_ref = svc.referrer_register_staff(tenant=w.tenant, actor=w.admin,
                                            staff=w.sales_other_team)
    theirs = log(w, other_ref, actor=w.sales_other_team, name="周八", phone="13900130002")
    page = client_for(w.sales).get("/referrals/")
    assert page.status_code == 200
    text = html(page)
    assert "转介绍" in text and "李四" in text and "13900130001" in text and "王五" in text
    assert "已核实" in text  # the status badge
    assert [r.pk for r in page.context["referrals"]] == [mine.pk]
    # A manager sees every referral; the other team's customer masked.
    text = html(client_for(w.manager).get("/referrals/"))
    assert "李四" in text and "周*" in text and "139****0002" in text and "周八" not in text
    assert theirs.pk in [r.pk for r in client_for(w.admin).get("/referrals/").context["referrals"]]
    # Customer service and finance read the list; status counts as tabs.
    page = client_for(w.finance).get("/referrals/")
    counts = {row["status"]: row["count"] for row in page.context["counts"]}
    assert counts[""] == 2 and counts["verified"] == 2 and counts["paid"] == 0
    assert client_for(w.cs).get("/referrals/").status_code == 200


def test_list_filters(world_a, ref, client_for):
    w = world_a
    verified = log(w, ref, name="李四")
    pending = convert(w, log(w, ref, name="钱二"), days_ago=10)
    held = convert(w, log(w, ref, name="吴三"), days_ago=0)
    link = link_referral(w, ref, name="孙小美")
    with w.context():
        Referral.objects.filter(pk=link.pk).update(flagged=True, flag_reason="已是客户")
        Referral.objects.filter(pk=verified.pk).update(
            created_at=dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC))
    client = client_for(w.manager)

    def pks(**params):
        response = client.get("/referrals/", params)
        assert response.status_code == 200, html(response)
        return {r.pk for r in response.context["referrals"]}

    assert pks(status="reward_pending") == {pending.pk, held.pk}
    assert pks(ready="1") == {pending.pk}
    assert pks(channel="link") == {link.pk}
    assert pks(flagged="true") == {link.pk}
    assert pks(date_from="2026-01-01", date_to="2026-01-31") == {verified.pk}
    assert pks(search="王五") == {verified.pk, pending.pk, held.pk, link.pk}
    assert pks(search="吴三") == {held.pk}
    with w.context():
        code = ref.cards.get().code
    assert pks(search=code.lower()) == {verified.pk, pending.pk, held.pk, link.pk}
    assert pks(search="没有这个人") == set()
    # As the search box types (htmx): only the results part, filtered.
    part = client.get("/referrals/", {"search": "吴三"}, HTTP_HX_REQUEST="true")
    assert "<html" not in html(part) and "吴三" in html(part) and "钱二" not in html(part)
    # The counts follow the other filters.
    counts = {r["status"]: r["count"] for r in client.get(
        "/referrals/", {"channel": "staff"}).context["counts"]}
    assert counts[""] == 3 and counts["reward_pending"] == 2 and counts["registered"] == 0
    # A bad filter says why (400), listing nothing.
    response = client.get("/referrals/", {"status": "nonsense", "date_from": "x"})
    assert response.status_code == 400 and "nonsense" in html(response)
    assert list(response.context["referrals"]) == []


def test_list_query_budget(world_a, ref, client_for):
    w = world_a

    def grow(n):
        for _ in range(n):
            log(w, ref)

    response = assert_flat(client_for(w.sales), "/referrals/", grow, n=5)
    assert len(response.context["referrals"]) == 10


# ----------------------------------------------------------------------------- log

def test_log_page_referrer_search_and_preselect(world_a, ref, client_for):
    w = world_a
    inactive = customer_referrer(w, phone="13800138009", name="王老九", seq=13)
    svc.referrer_deactivate(tenant=w.tenant, actor=w.manager, referrer=inactive)
    client = client_for(w.sales)
    page = client.get("/referrals/log/")
    assert page.status_code == 200
    text = html(page)
    assert "hx-get=\"/ownership/register/check/\"" in text and 'id="referrer-q"' in text
    results = client.get("/referrals/referrer-search/", {"q": "王"}, HTTP_HX_REQUEST="true")
    text = html(results)
    assert f'data-referrer="{ref.pk}"' in text and f'data-referrer="{inactive.pk}"' not in text
    assert "王五" in text
    with w.context():
        code = ref.cards.get().code
    assert f'data-referrer="{ref.pk}"' in html(client.get("/referrals/referrer-search/",
                                                          {"q": code}))
    picked = html(client.get("/referrals/referrer-search/", {"pick": ref.pk}))
    assert f'name="referrer" value="{ref.pk}"' in picked and "王五" in picked
    # Another salesperson's referrer is not offered, nor picked.
    other = client_for(w.sales_other_team)
    assert f'data-referrer="{ref.pk}"' not in html(other.get("/referrals/referrer-search/",
                                                             {"q": "王五"}))
    assert f'value="{ref.pk}"' not in html(other.get("/referrals/referrer-search/",
                                                     {"pick": ref.pk}))
    # ?referrer= preselects; the referrer page links to the log page.
    page = html(client.get("/referrals/log/", {"referrer": ref.pk}))
    assert f'name="referrer" value="{ref.pk}"' in page and 'id="referrer-chosen"' in page
    detail = html(client.get(f"/referrals/referrers/{ref.pk}/"))
    assert f"/referrals/log/?referrer={ref.pk}" in detail


def test_log_a_referral(world_a, ref, client_for):
    w = world_a
    client = client_for(w.sales)
    response = client.post("/referrals/log/", {"referrer": ref.pk, "name": "李四",
                                               "phone": "139 0013 9555", "gender": "F",
                                               "notes": "同事介绍"}, follow=True)
    assert response.status_code == 200, errors_in(response)
    with w.context():
        referral = Referral.objects.get()
        assert referral.status == "verified" and referral.customer.owner_id == w.sales.pk
        assert referral.note == "同事介绍" and referral.created_by_id == w.sales.pk
    assert response.redirect_chain[-1][0] == f"/referrals/{referral.pk}/"
    text = html(response)
    assert "李四的转介绍已登记并核实" in text and "已核实" in text


def test_log_errors_keep_the_input(world_a, ref, client_for):
    w = world_a
    client = client_for(w.sales)
    response = client.post("/referrals/log/", {"referrer": ref.pk, "name": "李四",
                                               "phone": "12345", "notes": "老客户带来"})
    assert response.status_code == 400
    text = html(response)
    assert 'value="12345"' in text and "老客户带来" in text and 'value="李四"' in text
    assert 'id="referrer-chosen"' in text  # the referrer stays picked
    # No referrer picked: said next to the picker, the person kept.
    response = client.post("/referrals/log/", {"referrer": "", "name": "李四",
                                               "phone": "13900139555"})
    assert response.status_code == 400 and 'id="referrer-error"' in html(response)
    assert 'value="13900139555"' in html(response)
    # The referrer themselves: refused.
    response = client.post("/referrals/log/", {"referrer": ref.pk, "name": "王五",
                                               "phone": "13800138001"})
    assert response.status_code == 400
    with w.context():
        assert not Referral.objects.exists()


def test_log_collision_asks_then_opens_the_dispute(world_a, ref, client_for):
    w = world_a
    protected_customer(w, phone="13700137001", name="赵六")
    client = client_for(w.sales)
    data = {"referrer": ref.pk, "name": "赵六", "phone": "13700137001"}
    step = client.post("/referrals/log/", data)
    assert step.status_code == 200
    text = html(step)
    assert "发起撞单申诉？" in text and "赵*" in text and w.sales2.name in text
    assert 'name="confirm" value="1"' in text and f'name="referrer" value="{ref.pk}"' in text
    with w.context():
        assert not Dispute.objects.exists() and not Referral.objects.exists()
    # Confirmed without an account: still the confirmation step, nothing written.
    step = client.post("/referrals/log/", {**data, "confirm": "1", "claim_note": " "})
    assert step.status_code == 200 and "发起撞单申诉？" in html(step)
    assert "请写明情况：由经理据此裁决。" in html(step)
    with w.context():
        assert not Dispute.objects.exists() and not Referral.objects.exists()
    response = client.post("/referrals/log/", {**data, "confirm": "1",
                                               "claim_note": "上周在门店接待过"}, follow=True)
    assert response.status_code == 200
    with w.context():
        dispute = Dispute.objects.get()
        referral = Referral.objects.get()
        assert referral.status == "registered" and referral.flagged
        assert dispute.claimant_id == w.sales.pk
    assert f"#{dispute.pk}" in html(response)


def test_log_refused_by_role(world_a, ref, client_for):
    w = world_a
    for who in (w.cs, w.finance):
        client = client_for(who)
        assert client.get("/referrals/log/").status_code == 403
        assert client.get("/referrals/referrer-search/", {"q": "王"}).status_code == 403
        response = client.post("/referrals/log/", {"referrer": ref.pk, "name": "李四",
                                                   "phone": "13900139555"})
        assert response.status_code == 403
    with w.context():
        assert not Referral.objects.exists()
    nav = html(client_for(w.cs).get("/referrals/"))
    assert "/referrals/log/" not in nav and "/referrals/reward-lines/" not in nav
    nav = html(client_for(w.sales).get("/referrals/"))
    assert "/referrals/log/" in nav


# ----------------------------------------------------------------------------- detail

def test_detail_shows_steps_reward_and_history(world_a, ref, client_for):
    w = world_a
    referral = convert(w, log(w, ref, name="李四"), days_ago=10)
    page = client_for(w.manager).get(f"/referrals/{referral.pk}/")
    assert page.status_code == 200
    text = html(page)
    assert "李四" in text and "王五" in text and "奖励待发" in text
    assert f"/deals/{referral.deal_id}/" in text
    assert 'id="reward-total">500.00<' in text
    steps = [s["step"] for s in page.context["timeline"]]
    assert steps == ["registered", "verified", "converted", "reward_pending"]
    assert f"/referrals/{referral.pk}/approve/" in text  # ready: the hold has passed
    assert f"/referrals/{referral.pk}/pay/" not in text
    assert len(page.context["history"]) >= 3
    # Sales see it without the decision buttons; finance sees no approve button either.
    text = html(client_for(w.sales).get(f"/referrals/{referral.pk}/"))
    assert "/approve/" not in text and "/reject/" not in text
    assert "/approve/" not in html(client_for(w.finance).get(f"/referrals/{referral.pk}/"))


def test_detail_not_visible_or_other_tenant_is_404(world_a, world_b, ref, client_for):
    w = world_a
    referral = log(w, ref)
    assert client_for(w.sales_other_team).get(f"/referrals/{referral.pk}/").status_code == 404
    for url in ("", "verify/", "reject/", "approve/", "pay/"):
        assert client_for(world_b.admin).get(f"/referrals/{referral.pk}/{url}").status_code \
            == 404
        assert client_for(world_b.admin).post(f"/referrals/{referral.pk}/{url}",
                                              {"reason": "duplicate"}).status_code == 404
    with w.context():
        assert Referral.objects.get(pk=referral.pk).status == "verified"


# ----------------------------------------------------------------------------- verify

def test_verify_a_link_referral(world_a, ref, client_for):
    w = world_a
    referral = link_referral(w, ref, name="孙小美", phone="13900139777")
    client = client_for(w.sales)
    page = client.get(f"/referrals/{referral.pk}/verify/")
    assert page.status_code == 200 and 'name="id_number"' in html(page)
    response = client.post(f"/referrals/{referral.pk}/verify/", {"id_number": "123"})
    assert response.status_code == 400 and 'value="123"' in html(response)
    response = client.post(f"/referrals/{referral.pk}/verify/", {"id_number": ""}, follow=True)
    assert response.status_code == 200 and "孙小美的转介绍已核实" in html(response)
    referral = fresh(w, referral)
    with w.context():
        assert referral.status == "verified" and referral.customer.owner_id == w.sales.pk
    # A verified referral is not verified again.
    page = client.get(f"/referrals/{referral.pk}/verify/")
    assert "/verify/\" novalidate" not in html(page)
    assert client.post(f"/referrals/{referral.pk}/verify/").status_code == 400


def test_verify_collision_asks_then_opens_the_dispute(world_a, ref, client_for):
    w = world_a
    protected_customer(w, phone="13700137002", name="赵七")
    referral = link_referral(w, ref, name="赵七", phone="13700137002")
    client = client_for(w.sales)
    step = client.post(f"/referrals/{referral.pk}/verify/", {})
    assert step.status_code == 200 and "赵*" in html(step) and 'name="confirm"' in html(step)
    with w.context():
        assert not Dispute.objects.exists()
    client.post(f"/referrals/{referral.pk}/verify/", {"confirm": "1", "claim_note": "她先来过"})
    referral = fresh(w, referral)
    with w.context():
        assert Dispute.objects.count() == 1
        assert referral.status == "registered" and referral.flagged and referral.customer_id


def test_verify_refused_by_role(world_a, ref, client_for):
    w = world_a
    referral = link_referral(w, ref)
    for who in (w.cs, w.finance):
        assert client_for(who).post(f"/referrals/{referral.pk}/verify/").status_code == 403
    assert fresh(w, referral).status == "registered"


# ----------------------------------------------------------------------------- reject

def test_reject(world_a, ref, client_for):
    w = world_a
    referral = log(w, ref, name="李四")
    client = client_for(w.sales)
    page = client.get(f"/referrals/{referral.pk}/reject/")
    assert page.status_code == 200 and "虚假信息" in html(page)
    # False information needs a note; the input is kept.
    response = client.post(f"/referrals/{referral.pk}/reject/", {"reason": "false_info"})
    assert response.status_code == 400 and 'value="false_info" selected' in html(response)
    assert fresh(w, referral).status == "verified"
    response = client.post(f"/referrals/{referral.pk}/reject/",
                           {"reason": "duplicate", "note": "重复登记"}, follow=True)
    assert response.status_code == 200 and "李四的转介绍已拒绝" in html(response)
    referral = fresh(w, referral)
    assert referral.status == "rejected" and referral.rejection_reason == "duplicate"
    assert referral.rejected_by_id == w.sales.pk
    # Rejected: the page says it cannot be rejected again; the service refuses a POST.
    assert client.post(f"/referrals/{referral.pk}/reject/",
                       {"reason": "duplicate"}).status_code == 400


def test_reject_refused_by_role(world_a, ref, client_for):
    w = world_a
    pending = convert(w, log(w, ref), days_ago=10)
    # A salesperson rejects only open referrals; finance and customer service none.
    for who in (w.sales, w.finance, w.cs):
        assert client_for(who).get(f"/referrals/{pending.pk}/reject/").status_code == 403
        assert client_for(who).post(f"/referrals/{pending.pk}/reject/",
                                    {"reason": "duplicate"}).status_code == 403
    assert fresh(w, pending).status == "reward_pending"
    assert client_for(w.manager).post(f"/referrals/{pending.pk}/reject/",
                                      {"reason": "relative"}).status_code == 302
    assert fresh(w, pending).status == "rejected"


# ----------------------------------------------------------------------------- approve, pay

def test_approve_refused_before_the_hold_passed(world_a, ref, client_for):
    w = world_a
    held = convert(w, log(w, ref), days_ago=0)
    client = client_for(w.manager)
    page = client.get(f"/referrals/{held.pk}/approve/")
    day = held.hold_until.isoformat()
    assert page.status_code == 200 and day in html(page)
    assert "退款期未过" in html(page)
    response = client.post(f"/referrals/{held.pk}/approve/", {"note": "可以"})
    assert response.status_code == 400 and day in html(response) and 'value="可以"' in html(response)
    assert fresh(w, held).status == "reward_pending"


def test_approve_then_pay(world_a, ref, client_for):
    w = world_a
    pending = convert(w, log(w, ref, name="李四"), days_ago=10)
    # Only managers and admins approve.
    for who in (w.sales, w.finance, w.cs):
        assert client_for(who).post(f"/referrals/{pending.pk}/approve/").status_code == 403
    assert fresh(w, pending).status == "reward_pending"
    page = client_for(w.manager).get(f"/referrals/{pending.pk}/approve/")
    assert 'id="decision-amount">500.00<' in html(page)
    response = client_for(w.manager).post(f"/referrals/{pending.pk}/approve/", {"note": "ok"},
                                          follow=True)
    assert "李四的转介绍奖励已批准" in html(response)
    referral = fresh(w, pending)
    assert referral.status == "approved" and referral.approved_by_id == w.manager.pk
    # Only finance and admins pay; nothing written by a refusal.
    for who in (w.manager, w.sales, w.cs):
        assert client_for(who).post(f"/referrals/{referral.pk}/pay/").status_code == 403
    with w.context():
        assert not RewardLine.objects.exists()
    page = client_for(w.finance).get(f"/referrals/{referral.pk}/")
    assert f"/referrals/{referral.pk}/pay/" in html(page)
    page = client_for(w.finance).get(f"/referrals/{referral.pk}/pay/")
    assert page.status_code == 200 and 'id="decision-amount">500.00<' in html(page)
    response = client_for(w.finance).post(f"/referrals/{referral.pk}/pay/", follow=True)
    assert "500.00" in html(response)
    with w.context():
        line = RewardLine.objects.get()
        assert (line.kind, line.amount, line.referral_id) == ("reward", Decimal("500.00"),
                                                              referral.pk)
    assert fresh(w, referral).status == "paid"
    # Paid twice? Refused, still one line.
    assert client_for(w.finance).post(f"/referrals/{referral.pk}/pay/").status_code == 400
    with w.context():
        assert RewardLine.objects.count() == 1


# ----------------------------------------------------------------------------- reward lines

def paid(w, referrer, **kw) -> Referral:
    referral = approved(w, convert(w, log(w, referrer, **kw), days_ago=10))
    return lifecycle.referral_pay(tenant=w.tenant, actor=w.finance, referral=referral)


def test_reward_lines_page(world_a, ref, client_for):
    w = world_a
    first = paid(w, ref, name="李四")
    other_ref = svc.referrer_register_staff(tenant=w.tenant, actor=w.admin,
                                            staff=w.sales_other_team)
    paid(w, other_ref, actor=w.sales_other_team, name="周八")
    page = client_for(w.finance).get("/referrals/reward-lines/")
    assert page.status_code == 200
    text = html(page)
    assert "王五" in text and "已付奖励" in text
    assert page.context["totals"]["total"] == Decimal("1000.00")
    assert f"/referrals/{first.pk}/" in text and f"/deals/{first.deal_id}/" in text
    # Filters: kind, month, referrer.
    month = tenant_today(w.tenant).strftime("%Y-%m")
    assert len(client_for(w.finance).get("/referrals/reward-lines/", {
        "month": month, "kind": "reward"}).context["lines"]) == 2
    assert client_for(w.finance).get("/referrals/reward-lines/", {
        "month": "2001-01"}).context["lines"] == []
    page = client_for(w.finance).get("/referrals/reward-lines/", {"search": "王五"})
    assert [line.referral_id for line in page.context["lines"]] == [first.pk]
    assert page.context["totals"]["total"] == Decimal("500.00")
    assert client_for(w.finance).get("/referrals/reward-lines/",
                                     {"month": "May"}).status_code == 400
    # Sales: only the lines of referrals they see; customer service: 403.
    page = client_for(w.sales).get("/referrals/reward-lines/")
    assert [line.referral_id for line in page.context["lines"]] == [first.pk]
    assert client_for(w.cs).get("/referrals/reward-lines/").status_code == 403


def test_reward_lines_query_budget(world_a, ref, client_for):
    w = world_a
    assert_flat(client_for(w.finance), "/referrals/reward-lines/",
                lambda n: [paid(w, ref) for _ in range(n)], n=3)
