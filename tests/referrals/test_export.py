"""The referral list as .xlsx: the rows of the list page for the same viewer, filters and status
tab; names and phones masked exactly as on the list; the reward a number; formula escaping;
another tenant's referrals never present; permissions."""

# ruff: noqa: F811 - the imported `ref` fixture is an argument of the tests
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.referrals import referrers as svc
from apps.referrals.models import Referral
from tests.customers.test_export import xlsx_rows
from tests.query_budgets import assert_flat
from tests.referrals.cards_helpers import customer_referrer
from tests.referrals.lifecycle_helpers import zh
from tests.referrals.test_referral_pages import convert, link_referral, log, ref  # noqa: F401

pytestmark = pytest.mark.django_db

URL = "/referrals/export.xlsx"
HEADERS = ["Referred person", "Mobile phone", "Referrer", "Channel", "Referral card", "Status",
           "Reward", "Flagged", "Logged at", "Logged by"]


@pytest.fixture
def lot(world_a, world_b, ref):
    w = world_a
    mine = log(w, ref, name="李四", phone="13900130001")
    other_ref = svc.referrer_register_staff(tenant=w.tenant, actor=w.admin,
                                            staff=w.sales_other_team)
    theirs = log(w, other_ref, actor=w.sales_other_team, name="周八", phone="13900130002")
    link = link_referral(w, ref, name="=1+1", phone="13900130003")
    # Tenant B logs the same person: never in tenant A's files.
    b_ref = customer_referrer(world_b)
    log(world_b, b_ref, actor=world_b.sales, name="李四", phone="13900130001")
    return {"mine": mine, "theirs": theirs, "link": link}


def list_rows(client, params) -> list[tuple[str, str]]:
    response = client.get("/referrals/", params)
    assert response.status_code == 200
    return [(r.display_name, r.display_phone) for r in response.context["referrals"]]


@pytest.mark.parametrize(("who", "params", "expected"), [
    ("sales", {}, [("'=1+1", "13900130003"), ("李四", "13900130001")]),
    ("manager", {}, [("'=1+1", "13900130003"), ("周*", "139****0002"),
                     ("李四", "13900130001")]),
    ("manager", {"status": "verified"}, [("周*", "139****0002"), ("李四", "13900130001")]),
    ("admin", {"channel": "link"}, [("'=1+1", "13900130003")]),
    ("finance", {"search": "周八"}, [("周八", "13900130002")]),
    ("sales_other_team", {}, [("周八", "13900130002")]),
])
def test_the_file_has_exactly_the_rows_of_the_list(world_a, lot, client_for, who, params,
                                                   expected):
    client = client_for(getattr(world_a, who))
    rows, sheet = xlsx_rows(client.get(URL, params))
    assert rows[0] == [zh(h) for h in HEADERS]
    assert [(r[0], r[1]) for r in rows[1:]] == expected
    # The same people, masked the same way, as the page shows ("=1+1" escaped in the file).
    assert [(n.replace("'=", "="), p) for n, p in expected] == list_rows(client, params)
    if expected[0][0] == "'=1+1":
        assert sheet["A2"].data_type == "s"


def test_cells(world_a, lot, client_for):
    w = world_a
    pending = convert(w, lot["mine"], days_ago=10)
    rows, sheet = xlsx_rows(client_for(w.admin).get(URL, {"search": "13900130001"}))
    assert len(rows) == 2
    row = dict(zip(HEADERS, rows[1], strict=True))
    assert row["Status"] == zh("Reward pending")
    assert row["Reward"] == float(pending.reward_total) and pending.reward_total > 0
    assert sheet["G2"].data_type == "n" and sheet["G2"].number_format == "0.00"
    assert row["Channel"] == zh("Logged by staff") and row["Logged by"] == w.sales.name
    assert row["Referrer"] == "王五" and row["Referral card"] is None   # logged without a card
    local = pending.created_at.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    assert abs(row["Logged at"] - local) < dt.timedelta(seconds=1)
    with w.context():
        assert Referral.objects.filter(phone="13900130001").count() == 1


def test_refusals_and_the_link(world_a, lot, client_for, client):
    assert client.get(URL).status_code == 302                        # signed out
    response = client_for(world_a.manager).get(URL, {"status": "nonsense"})
    assert response.status_code == 302
    assert response["Location"] == "/referrals/?status=nonsense"     # the list says why
    outsider = get_user_model().objects.create_user(username="outsider", password="pw-123-xyz")
    outside = Client()
    outside.force_login(outsider)
    assert outside.get(URL).status_code == 403
    page = client_for(world_a.manager).get("/referrals/", {"status": "verified", "page": "1"})
    assert 'href="/referrals/export.xlsx?status=verified"' in page.content.decode()


def test_the_queries_do_not_grow_with_the_rows(world_a, ref, client_for):
    w = world_a
    other_ref = svc.referrer_register_staff(tenant=w.tenant, actor=w.admin,
                                            staff=w.sales_other_team)

    def grow(n):
        for _ in range(n):   # one the manager sees in full, one masked
            log(w, ref)
            log(w, other_ref, actor=w.sales_other_team)

    assert_flat(client_for(w.manager), URL, grow, n=3)
