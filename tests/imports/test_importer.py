"""The customer import service: reading, mapping, validation, duplicates, all or nothing."""

import datetime as dt
import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation
from openpyxl import Workbook, load_workbook

from apps.core.models import AuditEntry
from apps.customers.models import Customer, OwnershipChange
from apps.imports.importer import FileRefused, import_customers
from apps.imports.report import ReportWriter
from tests.customers.factories import CustomerFactory, make_id_number

ID_1990 = make_id_number(birth="19900131", seq="123")  # seq odd: a man
ID_1985 = make_id_number(birth="19850615", seq="124")


def zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


def csv_bytes(rows, encoding="gbk") -> bytes:
    return "\r\n".join(",".join(r) for r in rows).encode(encoding)


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def customers(world):
    with world.context():
        return {c.phone: c for c in Customer.objects.select_related("owner", "team")}


def test_gbk_csv_with_chinese_headers_imports(world_a):
    data = csv_bytes([["姓名", "手机", "身份证号", "性别", "来源", "等级", "负责人", "备注", "微信"],
                      ["张三", "+86 138 0013 8000", ID_1990, "男", "转介绍", "a", "tenant-a-sales2",
                       "老客户", "x"],
                      ["李四", "139-0000-9999", "", "女", "", "", "", "", ""]])
    summary = import_customers(tenant=world_a.tenant, actor=world_a.manager, data=data, name="客户.csv")
    assert summary.committed and (summary.created, summary.updated, summary.skipped) == (2, 0, 0)
    assert summary.mapping.unknown == ["微信"]
    rows = customers(world_a)
    zhang, li = rows["13800138000"], rows["13900009999"]
    assert (zhang.name, zhang.gender, zhang.birthday, zhang.source, zhang.grade, zhang.notes) == (
        "张三", "M", dt.date(1990, 1, 31), Customer.Source.REFERRAL, "A", "老客户")
    assert zhang.owner == world_a.sales2 and zhang.team == world_a.team1 and zhang.owned_since
    assert li.owner is None and li.team == world_a.team1 and li.released_at  # the manager's team
    with world_a.context():
        assert OwnershipChange.objects.filter(customer=zhang, reason="import").count() == 1
        audit = AuditEntry.objects.get(action="customer.import")
        assert audit.changes["created"] == 2 and audit.actor == world_a.manager


def test_utf8_bom_csv_and_sales_owner_default(world_a):
    data = "\ufeff姓名,手机号\n王五,13700001111\n".encode()
    summary = import_customers(tenant=world_a.tenant, actor=world_a.sales, data=data, name="a.CSV")
    assert summary.created == 1
    assert customers(world_a)["13700001111"].owner == world_a.sales


def test_xlsx_with_excel_serial_and_text_dates(world_a):
    data = xlsx_bytes([["姓名", "电话", "出生日期", "性别"],
                       ["甲", "13800000001", 32903, "女"],          # Excel serial: 1990-01-30
                       ["乙", "13800000002", "1985/6/15", ""],
                       ["丙", "13800000003", dt.datetime(2000, 2, 29), "男"]])
    summary = import_customers(tenant=world_a.tenant, actor=world_a.admin, data=data, name="x.xlsx")
    assert summary.created == 3, summary.errors
    rows = customers(world_a)
    assert rows["13800000001"].birthday == dt.date(1990, 1, 30)
    assert rows["13800000002"].birthday == dt.date(1985, 6, 15)
    assert rows["13800000003"].birthday == dt.date(2000, 2, 29)
    assert rows["13800000001"].gender == "F"


def test_bad_rows_import_nothing_and_are_all_reported(world_a):
    bad_id = ID_1990[:-1] + ("0" if ID_1990[-1] != "0" else "1")
    data = xlsx_bytes([["姓名", "手机", "身份证号", "负责人"],
                       ["好", "13800000001", "", ""],
                       ["坏一", "1234", "", ""],
                       ["好二", "13800000002", "", ""],
                       ["坏二", "13800000003", bad_id, "无此人"]])
    report = ReportWriter()
    summary = import_customers(tenant=world_a.tenant, actor=world_a.admin, data=data,
                               name="x.xlsx", report=report)
    assert not summary.committed
    found = {(e.row, e.column) for e in summary.errors}
    assert found == {(3, "手机"), (5, "身份证号"), (5, "负责人")}
    messages = {e.message for e in summary.errors}
    assert translation.gettext("The check digit of this ID number is wrong.") in messages
    assert customers(world_a) == {}
    with world_a.context():
        assert not AuditEntry.objects.filter(action="customer.import").exists()
    out = io.BytesIO()
    report.save(out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    lines = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert lines["3"][2:4] == ("坏一", "1234")
    results = {k: r[1] for k, r in lines.items()}
    failed, created = zh("Failed"), zh("Created")
    assert set(results) == {"2", "3", "4", "5"}
    assert results["3"] == results["5"] != results["2"] == results["4"]
    assert {results["3"], results["2"]} <= {failed, created, "Failed", "Created"}


@pytest.mark.parametrize("mode", ["skip", "update"])
def test_duplicates_in_file_and_tenant(world_a, world_b, mode):
    existing = CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="老王",
                               phone="13800000009", address="旧地址", notes="旧备注")
    other = CustomerFactory(tenant=world_b.tenant, actor=world_b.sales, name="乙客户",
                            phone="13800000001")
    data = csv_bytes([["姓名", "手机", "地址", "备注"],
                      ["新甲", "13800000001", "甲地", ""],     # only in the other tenant: created
                      ["新甲二", "138 0000 0001", "乙地", ""],  # same as row 2: skipped
                      ["王老五", "13800000009", "新地址", ""]])  # existing: skip or update
    summary = import_customers(tenant=world_a.tenant, actor=world_a.admin, data=data,
                               name="d.csv", duplicates=mode)
    assert summary.created == 1
    rows = customers(world_a)
    assert rows["13800000001"].name == "新甲" and rows["13800000001"].address == "甲地"
    old = rows["13800000009"]
    if mode == "skip":
        assert (summary.skipped, summary.updated) == (2, 0)
        assert (old.name, old.address) == ("老王", "旧地址")
    else:
        assert (summary.skipped, summary.updated) == (1, 1)
        assert (old.name, old.address) == ("王老五", "新地址")
    assert old.notes == "旧备注" and old.owner == world_a.sales and old.pk == existing.pk
    with world_b.context():
        again = Customer.objects.get(pk=other.pk)
        assert (again.name, Customer.objects.count()) == ("乙客户", 1)


def test_same_id_number_is_a_duplicate(world_a):
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, phone="13800000009",
                    id_number=ID_1985)
    data = csv_bytes([["姓名", "手机", "身份证号"], ["某", "13800000008", ID_1985]])
    summary = import_customers(tenant=world_a.tenant, actor=world_a.admin, data=data, name="d.csv")
    assert (summary.created, summary.skipped) == (0, 1)
    assert "13800000008" not in customers(world_a)


@pytest.mark.parametrize("name,data,message", [
    ("a.txt", b"x", "Only .xlsx and .csv files can be imported."),
    ("a.xlsx", b"name,phone\n", "This file is not a real .xlsx workbook."),
    ("a.csv", b"", "The file is empty."),
    ("a.xlsx", None, "This file is not a real .xlsx workbook."),  # a zip, not a workbook
    ("a.csv", None, "This file is not a CSV text file."),  # a workbook named .csv
])
def test_refused_files(world_a, name, data, message):
    if data is None and name.endswith(".xlsx"):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("word/document.xml", "<x/>")
        data = out.getvalue()
    elif data is None:
        data = xlsx_bytes([["姓名", "手机"]])
    with pytest.raises(FileRefused) as exc:
        import_customers(tenant=world_a.tenant, actor=world_a.admin, data=data, name=name)
    assert exc.value.message == translation.gettext(message)


def test_too_big_refused(world_a, settings):
    settings.IMPORT_MAX_BYTES = 100
    data = csv_bytes([["姓名", "手机"]] + [["某", "13800000001"]] * 20)
    with pytest.raises(FileRefused):
        import_customers(tenant=world_a.tenant, actor=world_a.admin, data=data, name="a.csv")
    assert customers(world_a) == {}


def test_finance_may_not_import(world_a):
    data = csv_bytes([["姓名", "手机"], ["某", "13800000001"]])
    with pytest.raises(PermissionDenied):
        import_customers(tenant=world_a.tenant, actor=world_a.finance, data=data, name="a.csv")
    assert customers(world_a) == {}


def test_sales_may_not_assign_to_others_and_cannot_update_others(world_a):
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales2, phone="13800000009", name="旧")
    data = csv_bytes([["姓名", "手机", "负责人"], ["某", "13800000009", ""]])
    summary = import_customers(tenant=world_a.tenant, actor=world_a.sales, data=data,
                               name="a.csv", duplicates="update")
    assert (summary.updated, summary.skipped) == (0, 1)
    assert customers(world_a)["13800000009"].name == "旧"
    data = csv_bytes([["姓名", "手机", "负责人"], ["某", "13800000001", "tenant-a-sales2"]])
    summary = import_customers(tenant=world_a.tenant, actor=world_a.sales, data=data, name="a.csv")
    assert [e.column for e in summary.errors] == ["负责人"]
    assert "13800000001" not in customers(world_a)


def test_update_keeps_the_existing_id_number_and_its_birthday(world_a):
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, phone="13800000009",
                    id_number=ID_1985, name="旧")
    data = csv_bytes([["姓名", "手机", "身份证号", "生日"], ["新", "13800000009", ID_1990, "1990-01-31"]])
    summary = import_customers(tenant=world_a.tenant, actor=world_a.admin, data=data,
                               name="d.csv", duplicates="update")
    assert summary.updated == 1
    row = customers(world_a)["13800000009"]
    assert (row.name, row.id_number, row.birthday) == ("新", ID_1985, dt.date(1985, 6, 15))
