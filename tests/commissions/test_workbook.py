"""The finance workbook (提成表): read back with openpyxl and reconciled with the database to
the cent; escaping; who may download it; the direct download and the background build."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone
from openpyxl import load_workbook

from apps.commissions import tasks_workbook, views_workbook
from apps.commissions import workbook as wb_module
from apps.commissions.models import CommissionLine, Settlement
from apps.core.xlsx import safe_text
from apps.notifications.models import Notification
from apps.tenancy.models import Staff

D = Decimal
MONTH = dt.date(2026, 10, 1)


def _line(world, settlement, staff, kind, result, position, *, team=None, **kw):
    return CommissionLine(tenant=world.tenant, settlement=settlement, staff=staff,
                          team=team if team is not None else getattr(staff, "team", None),
                          kind=kind, result=D(result), position=position, rule_version=1,
                          rule_name=kw.pop("rule_name", kind), **kw)


def make_month(world, *, status="calculated") -> Settlement:
    """A settlement of 2026-10 with lines of every kind for three people and a team prize."""
    with world.context():
        s = Settlement.objects.create(tenant=world.tenant, month=MONTH, status=status, runs=1,
                                      calculated_at=timezone.now())
        sales, sales2, other = world.sales, world.sales2, world.sales_other_team
        Staff.objects.filter(pk=sales2.pk).update(name="=SUM(A1)")
        Staff.objects.filter(pk=other.pk).update(name="@x")
        lines = [
            _line(world, s, sales, "rate", "180.00", 1, base=D("12000"), rate=D("1.5"),
                  share=D("100"), ref="deal:12", explanation="签单 12 000 × 1.5 %"),
            _line(world, s, sales, "fixed", "200.00", 2, base=D("30000"), fixed=D("200"),
                  explanation="+1"),
            _line(world, s, sales, "pool", "1050.00", 3, base=D("100000"), rate=D("1.5"),
                  share=D("70"), explanation="-1"),
            _line(world, s, sales, "count_bonus", "3000.00", 4, explanation="\tx"),
            _line(world, s, sales, "penalty", "-50.00", 5, ref="penalty:3"),
            _line(world, s, sales, "cap", "-100.01", 6),
            _line(world, s, sales, "rate", "-33.33", 7, is_adjustment=True,
                  adjusts="refund:7 of deal:12, closed 2026-09", ref="refund:7"),
            _line(world, s, sales2, "staff_referral", "150.55", 8, rate=D("1.5"),
                  explanation="=HYPERLINK(\"http://evil\")"),
            _line(world, s, sales2, "ranking", "5000.00", 9),
            _line(world, s, other, "rate", "0.01", 10),
            _line(world, s, other, "retention", "20.02", 11, rule_name="@rule"),
            _line(world, s, None, "ranking", "10000.00", 12, team=world.team2),
        ]
        CommissionLine.objects.bulk_create(lines)
    return s


def read_back(response):
    content = b"".join(response.streaming_content)
    return load_workbook(io.BytesIO(content))


def cents(value) -> Decimal:
    return D(str(value)).quantize(D("0.01"))


def db_sum(world, settlement, condition=None) -> Decimal:
    with world.context():
        return (CommissionLine.objects.filter(condition or Q(), settlement=settlement)
                .aggregate(s=Sum("result"))["s"] or D("0")).quantize(D("0.01"))


def test_safe_text_escapes_formula_prefixes():
    assert safe_text("=SUM(A1)") == "'=SUM(A1)"
    assert safe_text("+1") == "'+1"
    assert safe_text("-1") == "'-1"
    assert safe_text("@x") == "'@x"
    assert safe_text("\tx") == "'\tx"
    assert safe_text("\x00x") == "'x"  # escaped, then the NUL XML cannot hold is dropped
    assert safe_text("王五 = 1") == "王五 = 1"
    assert safe_text(None) == ""


@pytest.mark.django_db
def test_direct_download_reconciles_to_the_cent(world_a, client_for):
    s = make_month(world_a)
    response = client_for(world_a.finance).get(f"/commissions/settlements/{s.pk}/workbook/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="commissions-2026-10.xlsx"')
    assert f"filename*=UTF-8''{quote(wb_module.workbook_filename(s), safe='')}" in disposition
    assert response["Cache-Control"] == "private, no-store"
    book = read_back(response)
    summary, detail = book.worksheets

    # Summary: Chinese headers, one row per person (and the team prize), then the totals.
    headers = [c.value for c in summary[1]]
    assert headers[:3] == ["姓名", "团队", "底薪"]
    assert "按金额档比例提成" in headers and "员工转介绍提成" in headers
    assert headers[-1] == "合计"
    rows = list(summary.iter_rows(min_row=2, values_only=True))
    body, totals = rows[:-1], rows[-1]
    assert len(body) == 4
    names = [r[0] for r in body]
    assert set(names[:2]) == {world_a.sales.name, "'=SUM(A1)"}  # team 一组 first
    assert names[-1] == "Team prize" or names[-1] == "团队奖"  # no person: last
    assert "'=SUM(A1)" in names and "'@x" in names
    assert totals[0] == "合计"
    col = {h: i for i, h in enumerate(headers)}
    assert cents(totals[col["合计"]]) == db_sum(world_a, s) == D("19417.24")
    sales_row = next(r for r in body if r[0] == world_a.sales.name)
    assert cents(sales_row[col["底薪"]]) == D("5000.00")
    assert cents(sales_row[col["按金额档比例提成"]]) == D("180.00")  # adjustment left out
    assert cents(sales_row[col["合计"]]) == db_sum(world_a, s, Q(staff=world_a.sales))
    assert cents(sales_row[-2]) == D("-100.01")  # cap applied
    assert cents(sales_row[-3]) == D("-33.33")  # adjustments
    assert cents(sales_row[-4]) == D("-50.00")  # penalties
    assert cents(sales_row[-5]) == D("3000.00")  # bonuses
    assert cents(sales_row[-6]) == D("1430.00")  # commissions
    for i in range(2, len(headers)):
        column_sum = sum((cents(r[i]) for r in body if r[i] is not None), D("0"))
        assert cents(totals[i]) == column_sum
    assert cents(totals[-2]) == db_sum(world_a, s, Q(kind="cap"))
    assert cents(totals[-3]) == db_sum(world_a, s, Q(is_adjustment=True))
    # Numbers are numbers with two decimals; the header is frozen.
    cell = summary.cell(row=2, column=col["合计"] + 1)
    assert cell.data_type == "n" and cell.number_format == "0.00"
    assert summary.freeze_panes == "A2"
    assert summary.column_dimensions["A"].width >= 10

    # Detail: one row per line, escaped text, totals equal to the database.
    assert detail.freeze_panes == "A2"
    headers = [c.value for c in detail[1]]
    assert headers[:2] == ["姓名", "团队"] and "金额" in headers and "来源" in headers
    rows = list(detail.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 12 + 1
    amount = headers.index("金额")
    assert cents(rows[-1][amount]) == db_sum(world_a, s)
    assert sum(cents(r[amount]) for r in rows[:-1]) == db_sum(world_a, s)
    texts = {v for r in rows for v in r if isinstance(v, str)}
    for escaped in ("'+1", "'-1", "'\tx", "'=HYPERLINK(\"http://evil\")", "'=SUM(A1)",
                    "v1 @rule"):
        assert escaped in texts, escaped
    assert not any(t.startswith(("=", "+", "-", "@", "\t")) for t in texts)
    assert all(c.data_type != "f" for row in detail.iter_rows() for c in row)
    first = list(detail.iter_rows(min_row=2, max_row=2))[0]
    assert first[amount].data_type == "n" and first[amount].number_format == "0.00"
    assert first[headers.index("比率（%）")].value == 1.5


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "sales", "cs"])
def test_other_roles_are_refused(world_a, client_for, api_client_for, role):
    s = make_month(world_a)
    staff = getattr(world_a, role)
    assert client_for(staff).get(f"/commissions/settlements/{s.pk}/workbook/").status_code == 403
    assert client_for(staff).get(
        f"/commissions/settlements/{s.pk}/workbook/progress/").status_code == 403
    assert api_client_for(staff).get(
        f"/api/v1/commissions/settlements/{s.pk}/workbook/").status_code == 403


@pytest.mark.django_db
def test_admin_downloads_and_another_tenant_gets_404(world_a, world_b, client_for,
                                                     api_client_for):
    s = make_month(world_a)
    assert client_for(world_a.admin).get(
        f"/commissions/settlements/{s.pk}/workbook/").status_code == 200
    for staff in (world_b.finance, world_b.admin, world_b.sales):
        assert client_for(staff).get(
            f"/commissions/settlements/{s.pk}/workbook/").status_code == 404
        assert api_client_for(staff).get(
            f"/api/v1/commissions/settlements/{s.pk}/workbook/").status_code == 404


@pytest.mark.django_db
def test_api_sends_the_file(world_a, api_client_for):
    s = make_month(world_a)
    response = api_client_for(world_a.finance).get(
        f"/api/v1/commissions/settlements/{s.pk}/workbook/")
    assert response.status_code == 200
    summary, detail = read_back(response).worksheets
    assert detail.max_row == 12 + 2


def _public_files() -> set[Path]:
    roots = [Path(settings.STATIC_ROOT), *map(Path, settings.STATICFILES_DIRS)]
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


@pytest.mark.django_db
def test_large_month_is_built_by_the_task(world_a, client_for, api_client_for, monkeypatch):
    monkeypatch.setattr(views_workbook, "WORKBOOK_DIRECT_MAX_LINES", 5)
    monkeypatch.setattr(wb_module, "CHUNK", 4)
    s = make_month(world_a)
    queued = []
    monkeypatch.setattr(tasks_workbook, "enqueue_on_commit", lambda _name, *a: queued.append(a))
    public_before = _public_files()
    client = client_for(world_a.finance)
    url = f"/commissions/settlements/{s.pk}/workbook/"

    page = client.get(url)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert 'hx-get="' + url + 'progress/"' in text and 'role="progressbar"' in text
    assert queued == [(world_a.tenant.pk, s.pk, world_a.finance.pk)]
    # A second visit (or another finance member) joins the build instead of starting another.
    assert client_for(world_a.admin).get(url).status_code == 200
    assert api_client_for(world_a.finance).get(
        f"/api/v1/commissions/settlements/{s.pk}/workbook/").status_code == 202
    assert len(queued) == 1

    states = []
    real_state = tasks_workbook._state

    def spy(state, fingerprint, current=0, total=0):
        states.append((state, current, total))
        return real_state(state, fingerprint, current, total)

    monkeypatch.setattr(tasks_workbook, "_state", spy)
    path = Path(tasks_workbook.build_workbook(*queued[0]))  # what the worker runs
    assert ("running", 4, 12) in states and ("running", 8, 12) in states
    assert states[-1] == ("done", 12, 12)
    assert path.is_file() and Path(settings.MEDIA_ROOT) in path.parents
    assert "private" in path.parts
    assert _public_files() == public_before

    fragment = client.get(url + "progress/")
    assert fragment.status_code == 200
    assert 'id="workbook-download"' in fragment.content.decode()
    assert "hx-trigger" not in fragment.content.decode()  # the poll stops
    with world_a.context():
        note = Notification.objects.get(recipient=world_a.finance)
    assert "2026-10" in note.title and note.url == url

    download = client.get(url)
    assert download.status_code == 200
    summary, detail = read_back(download).worksheets
    assert detail.max_row == 12 + 2
    assert cents(list(detail.iter_rows(values_only=True))[-1][8]) == db_sum(world_a, s)
    api = api_client_for(world_a.finance).get(f"/api/v1/commissions/settlements/{s.pk}/workbook/")
    assert api.status_code == 200
    assert len(queued) == 1  # the built file is served, nothing started again


@pytest.mark.django_db
def test_recalculated_month_gets_a_new_build(world_a, client_for, monkeypatch):
    monkeypatch.setattr(views_workbook, "WORKBOOK_DIRECT_MAX_LINES", 5)
    s = make_month(world_a)
    queued = []
    monkeypatch.setattr(tasks_workbook, "enqueue_on_commit", lambda _name, *a: queued.append(a))
    client = client_for(world_a.finance)
    url = f"/commissions/settlements/{s.pk}/workbook/"
    client.get(url)
    tasks_workbook.build_workbook(*queued[0])
    assert client.get(url)["Content-Type"].startswith("application/vnd.openxmlformats")
    with world_a.context():
        Settlement.objects.filter(pk=s.pk).update(runs=2, calculated_at=timezone.now())
    page = client.get(url)
    assert page["Content-Type"].startswith("text/html") and len(queued) == 2


@pytest.mark.django_db
def test_failed_build_is_reported_and_can_start_again(world_a, client_for, monkeypatch):
    monkeypatch.setattr(views_workbook, "WORKBOOK_DIRECT_MAX_LINES", 5)
    s = make_month(world_a)
    queued = []
    monkeypatch.setattr(tasks_workbook, "enqueue_on_commit", lambda _name, *a: queued.append(a))
    client = client_for(world_a.finance)
    url = f"/commissions/settlements/{s.pk}/workbook/"
    client.get(url)

    def broken(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(tasks_workbook, "workbook_write", broken)
    with pytest.raises(OSError):
        tasks_workbook.build_workbook(*queued[0])
    assert not list(wb_module.workbook_dir(world_a.tenant.pk).glob("*"))  # no partial file
    fragment = client.get(url + "progress/").content.decode()
    assert "hx-trigger" not in fragment and url in fragment
    client.get(url)
    assert len(queued) == 2
