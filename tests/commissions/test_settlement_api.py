"""The settlement API: reading by role (managers see their team's rows and lines), the steps in
order (a step out of order is a 400 with the reason, a wrong role a 403, nothing changes),
another tenant's ids (404), the lines' filters and sources, a query budget."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

import pytest

from apps.commissions.models import Settlement, TeamApproval
from tests.commissions.test_settlement_pages import last_month, make_month, status_of
from tests.deals.conftest import edu, make_contract, make_deal  # noqa: F401 - edu fixture
from tests.query_budgets import assert_flat
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db
API = "/api/v1/commissions/settlements/"


@pytest.fixture
def month(edu):  # noqa: F811
    return make_month(edu)


def test_read_by_role(month, api_client_for, world_b):
    w, pk = month.world, month.settlement.pk
    for who in (w.sales, w.cs):
        assert api_client_for(who).get(API).status_code == 403
        assert api_client_for(who).get(f"{API}{pk}/").status_code == 403
        assert api_client_for(who).get(f"{API}{pk}/commission-lines/").status_code == 403
    listed = api_client_for(w.finance).get(API).json()
    assert [s["id"] for s in listed["results"]] == [pk]
    assert listed["results"][0]["total"] == "550.00"
    assert listed["results"][0]["calculated_by"]["id"] == w.finance.pk

    detail = api_client_for(w.finance).get(f"{API}{pk}/").json()
    assert {r["staff_id"] for r in detail["summary"]} == {w.sales.pk, w.sales2.pk,
                                                         w.sales_other_team.pk}
    assert detail["totals"]["total"] == "550.00" and detail["actions"] == ["recalculate",
                                                                            "submit"]
    manager = api_client_for(w.manager).get(f"{API}{pk}/").json()
    assert {r["staff_id"] for r in manager["summary"]} == {w.sales.pk, w.sales2.pk}
    assert manager["totals"]["total"] == "350.00" and manager["actions"] == []
    lines = api_client_for(w.manager).get(f"{API}{pk}/commission-lines/").json()
    assert {line["staff"]["id"] for line in lines["results"]} == {w.sales.pk, w.sales2.pk}
    # Another tenant: 404 for every read and step.
    other = api_client_for(world_b.admin)
    assert other.get(f"{API}{pk}/").status_code == 404
    assert other.get(f"{API}{pk}/commission-lines/").status_code == 404
    for step in ("submit", "approve", "close", "mark-paid"):
        assert other.post(f"{API}{pk}/{step}/").status_code == 404
    assert api_client_for(world_b.finance).post(f"{API}{pk}/submit/").status_code == 404
    assert status_of(month) == "calculated"


def test_lines_filters_and_sources(month, api_client_for):
    w, m = month.world, month
    client = api_client_for(w.finance)
    url = f"{API}{m.settlement.pk}/commission-lines/"
    data = client.get(url, {"adjustments": "true"}).json()
    assert [line["id"] for line in data["results"]] == [m.lines["refund"].pk]
    refund = data["results"][0]
    assert refund["is_adjustment"] and refund["result"] == "-30.00"
    assert [(s["kind"], s["url"]) for s in refund["sources"]] == [
        ("refund", f"/deals/{m.deal.pk}/"), ("deal", f"/deals/{m.deal.pk}/")]
    referral = client.get(url, {"kind": "staff_referral"}).json()["results"]
    assert referral[0]["sources"][0]["url"] == "/referrals/77/"
    assert referral[0]["rate"] == "1.500000" and referral[0]["rule_version"] == 1
    bad = client.get(url, {"kind": "nonsense"})
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["fields"]


def test_steps_in_order(edu, api_client_for):  # noqa: F811
    e, w = edu, edu.world
    contract = make_contract(e, start=e.today - dt.timedelta(days=30))
    make_deal(e, kind="renewal", amount="100000.00", renews=contract,
              participants=[(e.consultant, "consultant", ""), (e.advisor, "advisor", "")])
    finance, admin = api_client_for(w.finance), api_client_for(w.admin)
    manager = api_client_for(w.manager)
    label = e.today.strftime("%Y-%m")
    # Wrong role for calculating: 403, nothing stored.
    assert manager.post(f"{API}calculate/", {"month": e.today.isoformat()},
                        format="json").status_code == 403
    with w.context():
        assert not Settlement.objects.exists()
    bad = finance.post(f"{API}calculate/", {"month": "soon"}, format="json")
    assert bad.status_code == 400 and "month" in bad.json()["error"]["fields"]
    done = finance.post(f"{API}calculate/", {"month": e.today.replace(day=1).isoformat()},
                        format="json")
    assert done.status_code == 200
    body = done.json()
    pk = body["id"]
    assert body["status"] == "calculated" and body["total"] == "1500.00"
    # Close before approval: 400 with the reason.
    early = finance.post(f"{API}{pk}/close/")
    assert early.status_code == 400
    assert early.json()["error"]["fields"]["non_field_errors"] == [zh(
        "Only an approved month can be closed (%(month)s is “%(status)s”).", month=label,
        status=zh("Calculated"))]
    assert manager.post(f"{API}{pk}/submit/").status_code == 403
    assert finance.post(f"{API}{pk}/submit/").json()["status"] == "submitted"
    early = admin.post(f"{API}{pk}/approve/", {}, format="json")
    assert early.status_code == 400
    # The manager approves their team; an unknown team id is a field error.
    assert manager.post(f"{API}{pk}/approve-team/", {"team": 999999},
                        format="json").status_code == 400
    approved = manager.post(f"{API}{pk}/approve-team/", {"team": w.team1.pk, "note": "核对无误"},
                            format="json")
    assert approved.status_code == 200
    assert approved.json()["teams"][0]["approved_by"]["id"] == w.manager.pk
    with w.context():
        assert TeamApproval.objects.get().note == "核对无误"
    assert admin.get(f"{API}{pk}/").json()["actions"] == ["approve"]
    assert admin.post(f"{API}{pk}/approve/", {"note": ""}, format="json").status_code == 200
    assert manager.post(f"{API}{pk}/close/").status_code == 403
    assert finance.post(f"{API}{pk}/close/").json()["status"] == "closed"
    paid = finance.post(f"{API}{pk}/mark-paid/").json()
    assert paid["status"] == "paid" and paid["paid_by"]["id"] == w.finance.pk
    again = finance.post(f"{API}{pk}/mark-paid/")
    assert again.status_code == 400


def test_submit_an_open_month_is_refused(edu, api_client_for):  # noqa: F811
    w = edu.world
    with w.context():
        settlement = Settlement.objects.create(tenant=w.tenant, month=last_month(edu.today))
    response = api_client_for(w.admin).post(f"{API}{settlement.pk}/submit/")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["non_field_errors"] == [zh(
        "Only a calculated month can be submitted (%(month)s is “%(status)s”).",
        month=settlement.month.strftime("%Y-%m"), status=zh("Open"))]
    with w.context():
        assert Settlement.objects.get(pk=settlement.pk).status == "open"


def test_lines_query_budget(month, api_client_for):
    m, w = month, month.world
    refs = count(1000)

    def grow(n):
        for _ in range(n):
            i = next(refs)
            m.add(f"r{i}", w.sales2, "rate", "10.00", deal=m.deal, ref=f"credit:{i}")

    assert_flat(api_client_for(w.manager), f"{API}{m.settlement.pk}/commission-lines/", grow,
                n=5)
    assert_flat(api_client_for(w.finance), f"{API}{m.settlement.pk}/", grow, n=5)
    assert Decimal(api_client_for(w.finance).get(f"{API}{m.settlement.pk}/").json()[
        "totals"]["total"]) == Decimal("750.00")  # 550 + 4 × 5 lines of 10
