"""The customer list as .xlsx: the same rows as the list page for the same viewer and filters,
Chinese headers, typed cells, formula escaping, masked ID numbers, isolation (tenant B's
customer with the same name and phone never appears), permissions."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import load_workbook

from apps.customers.models import Customer
from tests.referrals.lifecycle_helpers import zh

from .factories import CustomerFactory, make_id_number

pytestmark = pytest.mark.django_db

URL = "/customers/export.xlsx"
HEADERS = ["Name", "Mobile phone", "Resident ID number", "Gender", "Birthday", "Address",
           "Source", "Grade", "Owner", "Team", "Tags", "Notes", "Registered at"]


def xlsx_rows(response) -> tuple[list[list], object]:
    """The first sheet of a downloaded workbook: (rows of values, the sheet)."""
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)], sheet


@pytest.fixture
def shelf(world_a, world_b):
    t, w = world_a.tenant, world_a
    rows = {
        "alice": CustomerFactory(tenant=t, actor=w.sales, name="Alice 王", phone="13811112222",
                                 source="referral", grade="A", tags=["VIP", "新房"],
                                 id_number=make_id_number(), birthday=dt.date(1990, 1, 1)),
        "bob": CustomerFactory(tenant=t, actor=w.sales, name="Bob 李", phone="13933332222",
                               source="online", grade="B"),
        "carol": CustomerFactory(tenant=t, actor=w.sales2, name="Carol 王", phone="13755556666",
                                 source="referral", grade="B"),
        "dave": CustomerFactory(tenant=t, actor=w.sales_other_team, name="Dave",
                                phone="13677778888", source="referral"),
    }
    # Another company's customer with the same phone and name: never in tenant A's files.
    CustomerFactory(tenant=world_b.tenant, actor=world_b.sales, name="Alice 王",
                    phone="13811112222", source="referral")
    return rows


def list_phones(client, params) -> list[str]:
    response = client.get("/customers/", params)
    assert response.status_code == 200
    return [c.phone for c in response.context["customers"]]


@pytest.mark.parametrize(("who", "params", "expected"), [
    ("sales", {}, ["bob", "alice"]),                       # their own, newest first
    ("sales", {"source": "referral"}, ["alice"]),
    ("manager", {"search": "王"}, ["carol", "alice"]),       # team1
    ("admin", {"source": "referral", "ordering": "name"}, ["alice", "carol", "dave"]),
    ("admin", {"search": "2222"}, ["bob", "alice"]),
    ("finance", {"team": "team2"}, ["dave"]),
])
def test_the_file_has_exactly_the_rows_of_the_list(world_a, shelf, client_for, who, params,
                                                   expected):
    staff = getattr(world_a, who)
    if params.get("team") == "team2":
        params = {**params, "team": world_a.team2.pk}
    client = client_for(staff)
    rows, _sheet = xlsx_rows(client.get(URL, params))
    assert rows[0] == [zh(h) for h in HEADERS]
    phones = [r[1] for r in rows[1:]]
    assert phones == [shelf[k].phone for k in expected]
    assert phones == list_phones(client, params)       # what the page shows, in its order
    with world_a.context():                            # and the database's rows
        assert sorted(phones) == sorted(Customer.objects.filter(
            pk__in=[shelf[k].pk for k in expected]).values_list("phone", flat=True))


def test_cells_are_typed_and_text_is_escaped(world_a, shelf, client_for):
    w = world_a
    with w.context():
        Customer.objects.filter(pk=shelf["alice"].pk).update(
            name="=1+1", address="@SUM(A1:A9)", notes="-2+3")
    rows, sheet = xlsx_rows(client_for(w.admin).get(URL, {"search": "13811112222"}))
    assert len(rows) == 2
    row = dict(zip(HEADERS, rows[1], strict=True))
    assert row["Name"] == "'=1+1" and row["Address"] == "'@SUM(A1:A9)" and row["Notes"] == "'-2+3"
    assert sheet["A2"].data_type == "s"                # text, never a formula
    assert row["Birthday"] == dt.datetime(1990, 1, 1) and sheet["E2"].number_format == "yyyy-mm-dd"
    assert isinstance(row["Registered at"], dt.datetime)
    with w.context():
        created = Customer.objects.get(pk=shelf["alice"].pk).created_at
    local = created.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    assert abs(row["Registered at"] - local) < dt.timedelta(seconds=1)   # Shanghai time
    assert row["Source"] == zh("Referral (old brings new)")
    assert row["Owner"] == w.sales.name and row["Team"] == w.team1.name
    assert row["Tags"] == "VIP、新房" and row["Grade"] == "A"
    assert row["Resident ID number"] == make_id_number()   # the administrator: in full


def test_id_numbers_are_masked_for_everyone_but_administrators(world_a, shelf, client_for):
    full = make_id_number()
    for who in (world_a.sales, world_a.manager, world_a.cs, world_a.finance):
        rows, _sheet = xlsx_rows(client_for(who).get(URL, {"search": "13811112222"}))
        assert rows[1][2] == full[:6] + "********" + full[-4:], who
        assert rows[1][1] == "13811112222"   # the phone in full, as on the list


def test_refusals(world_a, shelf, client_for, client):
    # Signed out: to the login page; invalid filters: back to the list, which says why.
    assert client.get(URL).status_code == 302
    response = client_for(world_a.admin).get(URL, {"source": "nonsense"})
    assert response.status_code == 302 and response["Location"] == "/customers/?source=nonsense"
    # Every role sees some customers; a signed-in user who is no member of a company: 403.
    outsider = get_user_model().objects.create_user(username="outsider", password="pw-123-xyz")
    outside = Client()
    outside.force_login(outsider)
    assert outside.get(URL).status_code == 403


def test_the_list_links_to_the_export_with_its_filters(world_a, shelf, client_for):
    response = client_for(world_a.sales).get("/customers/", {"source": "referral", "page": "1"})
    assert 'href="/customers/export.xlsx?source=referral"' in response.content.decode()
