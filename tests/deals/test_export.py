"""The deal list as .xlsx: the rows of the list page for the same viewer and filters, money as
numbers with a totals row equal to the database, dates as dates, formula escaping, another
tenant's deals never present, customer service refused."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from apps.customers.models import Customer
from apps.deals import services
from apps.deals.models import Deal
from apps.deals.rulesets import deal_roles_ensure
from tests.customers.factories import CustomerFactory
from tests.customers.test_export import xlsx_rows
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the edu fixture
from tests.query_budgets import assert_flat
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db

URL = "/deals/export.xlsx"
HEADERS = ["Contract number", "Customer", "Kind", "Amount", "Refunded", "Net", "Signed on",
           "Units", "Participants", "Team", "Owner"]


@pytest.fixture
def book(edu, world_b):
    e, w = edu, edu.world
    first = make_deal(e, amount="10000.00", contract_number="HT-A1",
                      signed_on=e.today - dt.timedelta(days=9))
    other = make_deal(e, customer=e.other_customer, amount="20000.50", contract_number="HT-A2",
                      signed_on=e.today - dt.timedelta(days=5),
                      participants=[(w.sales_other_team, "consultant", "")])
    later = make_deal(e, amount="3000.25", contract_number="HT-A3", kind="expansion",
                      signed_on=e.today - dt.timedelta(days=2))
    services.deal_refund(tenant=w.tenant, actor=w.admin, deal=first, amount=Decimal("1000.10"),
                         refunded_on=e.today, reason="退课")
    # Tenant B's deal with the same contract number: never in tenant A's files.
    b = world_b
    deal_roles_ensure(b.tenant)
    services.deal_create(tenant=b.tenant, actor=b.admin,
                         customer=CustomerFactory(tenant=b.tenant, actor=b.sales, name="张同学"),
                         kind="new", amount=Decimal("99999.00"), signed_on=e.today,
                         contract_number="HT-A1", participants=[(b.sales, "consultant", "")])
    return {"first": first, "other": other, "later": later}


def list_numbers(client, params) -> list[str]:
    response = client.get("/deals/", params)
    assert response.status_code == 200
    return [d.contract_number for d in response.context["deals"]]


@pytest.mark.parametrize(("who", "params", "expected"), [
    ("sales", {}, ["HT-A3", "HT-A1"]),                 # the deals of their customer
    ("sales_other_team", {}, ["HT-A2"]),
    ("manager", {}, ["HT-A3", "HT-A1"]),               # team1's
    ("admin", {}, ["HT-A3", "HT-A2", "HT-A1"]),
    ("finance", {"kind": "new"}, ["HT-A2", "HT-A1"]),
    ("admin", {"date_from": "-6", "date_to": "-3"}, ["HT-A2"]),
])
def test_the_file_has_exactly_the_rows_of_the_list_and_their_total(edu, book, client_for, who,
                                                                   params, expected):
    w = edu.world
    for key in ("date_from", "date_to"):
        if key in params:
            params = {**params, key: (edu.today + dt.timedelta(days=int(params[key]))).isoformat()}
    client = client_for(getattr(w, who))
    rows, sheet = xlsx_rows(client.get(URL, params))
    assert rows[0] == [zh(h) for h in HEADERS]
    body, total = rows[1:-1], rows[-1]
    assert [r[0] for r in body] == expected == list_numbers(client, params)
    with w.context():
        deals = Deal.objects.filter(contract_number__in=expected)
        amounts = dict(deals.values_list("contract_number", "amount"))
        sums = deals.aggregate(a=Sum("amount"), r=Sum("refunded_amount"))
    assert [Decimal(str(r[3])) for r in body] == [amounts[n] for n in expected]
    assert total[0] == zh("Total")
    assert Decimal(str(total[3])).quantize(Decimal("0.01")) == sums["a"]
    assert Decimal(str(total[4])).quantize(Decimal("0.01")) == sums["r"]
    assert sheet.cell(row=len(rows), column=4).font.b            # the totals row is bold


def test_cells(edu, book, client_for):
    w = edu.world
    with w.context():
        Customer.objects.filter(pk=edu.customer.pk).update(name="=1+1")
    rows, sheet = xlsx_rows(client_for(w.finance).get(URL, {"search": "HT-A1"}))
    assert len(rows) == 3                                          # the deal and the total
    row = dict(zip(HEADERS, rows[1], strict=True))
    assert row["Customer"] == "'=1+1" and sheet["B2"].data_type == "s"
    assert row["Kind"] == zh("New deal")
    assert (row["Amount"], row["Refunded"], row["Net"]) == (10000, 1000.1, 8999.9)
    assert sheet["D2"].number_format == "0.00"
    assert row["Signed on"] == dt.datetime.combine(edu.today - dt.timedelta(days=9), dt.time())
    assert sheet["G2"].number_format == "yyyy-mm-dd"
    assert row["Units"] == 1
    assert edu.consultant.name in row["Participants"]
    assert row["Team"] == w.team1.name


def test_refusals_and_the_link(edu, book, client_for, client):
    w = edu.world
    assert client.get(URL).status_code == 302                      # signed out
    assert client_for(w.cs).get(URL).status_code == 403            # customer service reads none
    response = client_for(w.admin).get(URL, {"kind": "nonsense"})
    assert response.status_code == 302 and response["Location"] == "/deals/?kind=nonsense"
    page = client_for(w.admin).get("/deals/", {"kind": "new", "page": "1"})
    assert 'href="/deals/export.xlsx?kind=new"' in page.content.decode()


def test_the_queries_do_not_grow_with_the_rows(edu, client_for):
    w = edu.world
    assert_flat(client_for(w.admin), URL, lambda n: [make_deal(edu) for _ in range(n)], n=3)
