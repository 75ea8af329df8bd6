"""The membership-card list as .xlsx: the rows of the card list for the same viewer and
filters, tier names, dates as dates, formula escaping, another tenant's cards never present,
permissions."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.customers.models import Customer
from apps.vip import cards as svc
from apps.vip.models import VipCard
from tests.customers.factories import CustomerFactory
from tests.customers.test_export import xlsx_rows
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the edu fixture
from tests.referrals.lifecycle_helpers import zh
from tests.vip.test_cards import buyer, issue

pytestmark = pytest.mark.django_db

URL = "/vip/vip-cards/export.xlsx"
HEADERS = ["Card number", "Customer", "Mobile phone", "Tier", "Kind", "Status", "Team",
           "Issued on", "Issued by", "Why void", "Void since"]


@pytest.fixture
def deck(edu, world_b):
    e, w = edu, edu.world
    own = buyer(e, name="张三")                                     # sales, team1
    other = buyer(e, owner=w.sales_other_team, name="李四")        # team2
    colleague = buyer(e, owner=w.sales2, name="王五")              # team1
    first = issue(w, own, "VIP000001")
    issue(w, other, "VIP000002")
    lost = issue(w, colleague, "VIP000003")
    svc.card_reissue(tenant=w.tenant, actor=w.cs, card=lost, number="VIP000004", note="丢了")
    # Tenant B's card with the same number: never in tenant A's files.
    b = world_b
    with b.context():
        customer = CustomerFactory(tenant=b.tenant, actor=b.sales, name="张三")
        VipCard.objects.create(tenant=b.tenant, customer=customer, number="VIP000001",
                               tier=first.tier, kind=VipCard.Kind.FIRST, issued_on=e.today)
    return {"own": own, "other": other, "colleague": colleague, "first": first}


def list_numbers(client, params) -> list[str]:
    response = client.get("/vip/vip-cards/", params)
    assert response.status_code == 200
    return [c.number for c in response.context["page_obj"].object_list]


@pytest.mark.parametrize(("who", "params", "expected"), [
    ("sales", {}, ["VIP000001"]),
    ("sales_other_team", {}, ["VIP000002"]),
    ("manager", {}, ["VIP000004", "VIP000003", "VIP000001"]),
    ("cs", {}, ["VIP000004", "VIP000003", "VIP000002", "VIP000001"]),
    ("finance", {"status": "void"}, ["VIP000003"]),
    ("admin", {"kind": "reissue"}, ["VIP000004"]),
    ("admin", {"search": "王五"}, ["VIP000004", "VIP000003"]),
])
def test_the_file_has_exactly_the_rows_of_the_list(edu, deck, client_for, who, params,
                                                   expected):
    client = client_for(getattr(edu.world, who))
    rows, _sheet = xlsx_rows(client.get(URL, params))
    assert rows[0] == [zh(h) for h in HEADERS]
    assert [r[0] for r in rows[1:]] == expected == list_numbers(client, params)
    with edu.world.context():
        phones = dict(VipCard.objects.filter(number__in=expected)
                      .values_list("number", "customer__phone"))
    assert [r[2] for r in rows[1:]] == [phones[n] for n in expected]


def test_cells(edu, deck, client_for):
    w = edu.world
    with w.context():
        Customer.objects.filter(pk=deck["colleague"].pk).update(name="=1+1")
        void = VipCard.objects.get(number="VIP000003")
    rows, sheet = xlsx_rows(client_for(w.admin).get(URL, {"status": "void"}))
    assert len(rows) == 2
    row = dict(zip(HEADERS, rows[1], strict=True))
    assert row["Customer"] == "'=1+1" and sheet["B2"].data_type == "s"
    assert row["Tier"] == svc.tier_names(w.tenant)[void.tier]
    assert row["Kind"] == zh("first card") and row["Why void"] == zh("lost")
    assert row["Team"] == w.team1.name and row["Issued by"] == w.cs.name
    assert row["Issued on"] == dt.datetime.combine(void.issued_on, dt.time())
    assert sheet["H2"].number_format == "yyyy-mm-dd"
    local = void.voided_at.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    assert abs(row["Void since"] - local) < dt.timedelta(seconds=1)


def test_refusals_and_the_link(edu, deck, client_for, client):
    w = edu.world
    assert client.get(URL).status_code == 302                      # signed out
    response = client_for(w.cs).get(URL, {"team": "x"})
    assert response.status_code == 302 and response["Location"] == "/vip/vip-cards/?team=x"
    outsider = get_user_model().objects.create_user(username="outsider", password="pw-123-xyz")
    outside = Client()
    outside.force_login(outsider)
    assert outside.get(URL).status_code == 403
    page = client_for(w.cs).get("/vip/vip-cards/", {"status": "void", "page": "1"})
    assert 'href="/vip/vip-cards/export.xlsx?status=void"' in page.content.decode()
