"""Bad input (issue 9): too many rows, merged header cells, formulas, header-only files, and
the customer export re-imported."""

import io

import pytest
from django.utils import translation
from openpyxl import Workbook

from apps.customers.exports import customers_xlsx
from apps.customers.models import Customer
from apps.customers.selectors import customer_list
from apps.imports import importer
from apps.imports.importer import FileRefused, import_customers
from tests.customers.factories import CustomerFactory, make_id_number
from tests.imports.test_importer import csv_bytes, customers, xlsx_bytes


def book_bytes(build) -> bytes:
    book = Workbook()
    build(book.active)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(world, data, name, **kwargs):
    return import_customers(tenant=world.tenant, actor=world.admin, data=data, name=name,
                            **kwargs)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_more_rows_than_the_limit_is_refused_naming_it(world_a, settings, kind):
    settings.IMPORT_MAX_ROWS = 3
    rows = [["姓名", "手机"]] + [["某", f"1380000000{i}"] for i in range(4)]
    data = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    with pytest.raises(FileRefused) as exc:
        run(world_a, data, f"a.{kind}")
    assert exc.value.message == translation.gettext(
        "The file has more than %(limit)s rows: split it into files of at most %(limit)s rows."
    ) % {"limit": "3"}
    assert customers(world_a) == {}
    summary = run(world_a, (csv_bytes if kind == "csv" else xlsx_bytes)(rows[:4]), f"a.{kind}")
    assert summary.created == 3  # exactly the limit is fine


def test_merged_title_row_above_the_header_is_skipped(world_a):
    def build(sheet):
        sheet.append(["客户名单（2026年12月）"])
        sheet.merge_cells("A1:C1")
        sheet.append(["姓名", "手机", "备注"])
        sheet.append(["张三", "13800000001", "甲"])
    summary = run(world_a, book_bytes(build), "a.xlsx")
    assert (summary.created, summary.rows, summary.failed_rows) == (1, 1, 0)
    assert customers(world_a)["13800000001"].notes == "甲"


def test_merged_header_cell_maps_to_its_first_column(world_a):
    def build(sheet):
        sheet.append(["姓名", None, "手机"])  # 姓名 merged over A1:B1, the name in column A
        sheet.merge_cells("A1:B1")
        sheet.append(["李四", "（拼音）", "13800000002"])
    summary = run(world_a, book_bytes(build), "a.xlsx")
    assert summary.created == 1 and customers(world_a)["13800000002"].name == "李四"


def test_merged_header_without_the_columns_is_a_file_message(world_a):
    def build(sheet):
        sheet.append(["联系方式"])
        sheet.merge_cells("A1:B1")
        sheet.append(["王五", "13800000003"])
    with pytest.raises(FileRefused) as exc:
        run(world_a, book_bytes(build), "a.xlsx")
    gettext = translation.gettext
    assert exc.value.message == gettext("Columns missing: %(columns)s.") % {
        "columns": gettext("Name") + "、" + gettext("Mobile phone")}
    assert customers(world_a) == {}


def test_formulas_are_refused_per_row_never_imported_as_text(world_a):
    def build(sheet):
        sheet.append(["姓名", "手机", "备注"])
        sheet.append(["张三", "13800000001", "好"])
        sheet.append(["=A2", "13800000002", ""])           # no cached value (openpyxl)
        sheet.append(["赵六", "=TEXT(13800000004,\"0\")", ""])
    summary = run(world_a, book_bytes(build), "a.xlsx")
    assert not summary.committed and customers(world_a) == {}
    assert [(e.row, e.column) for e in summary.errors] == [(3, "姓名"), (4, "手机")]
    assert summary.errors[0].message == translation.gettext(
        "A formula is not imported (%(formula)s): enter the value itself.") % {"formula": "=A2"}


def test_formula_with_a_cached_value_is_refused_too(world_a):
    """An Excel-saved formula keeps its last value in <v>: still refused, not guessed."""
    import zipfile
    data = xlsx_bytes([["姓名", "手机"], ["张三", "13800000001"]])
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                start = text.index('<c r="A2"')
                end = text.index("</c>", start) + 4
                content = (text[:start] + '<c r="A2" t="str"><f>B9&amp;"三"</f><v>张三</v></c>'
                           + text[end:]).encode()
            target.writestr(item, content)
    summary = run(world_a, out.getvalue(), "a.xlsx")
    assert [(e.row, e.column) for e in summary.errors] == [(2, "姓名")]
    assert customers(world_a) == {}


def test_csv_cell_starting_with_equals_is_refused(world_a):
    summary = run(world_a, csv_bytes([["姓名", "手机"], ["=1+1", "13800000001"],
                                      ["张三", "13800000002"]]), "a.csv")
    assert [(e.row, e.column) for e in summary.errors] == [(2, "姓名")]
    assert customers(world_a) == {}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_header_only_is_refused(world_a, kind):
    rows = [["姓名", "手机"]]
    with pytest.raises(FileRefused) as exc:
        run(world_a, csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows), f"a.{kind}")
    assert exc.value.message == translation.gettext(
        "The file has a header but no rows of customers.")


@pytest.mark.parametrize("viewer", ["admin", "manager"])
def test_the_customer_export_imports_back_everything_skipped(world_a, viewer):
    staff = getattr(world_a, viewer)
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales, name="甲", phone="13800000001",
                    id_number=make_id_number(birth="19900131", seq="123"), address="某路1号")
    CustomerFactory(tenant=world_a.tenant, actor=world_a.sales2, name="乙", phone="13800000002",
                    notes="老客户")
    out = io.BytesIO()
    with world_a.context():
        written = customers_xlsx(staff, customer_list(staff), out)
    assert written == 2
    with world_a.context():
        before = list(Customer.objects.order_by("pk").values())
    with translation.override("zh-hans"):
        table = importer.read(out.getvalue(), "export.xlsx")
        mapping = importer.map_headers(table.headers)
    assert {"姓名", "手机号", "身份证号", "归属人"} <= {table.headers[i] for i in mapping.columns}
    summary = run(world_a, out.getvalue(), "export.xlsx", duplicates="skip")
    assert (summary.rows, summary.skipped, summary.created, summary.failed_rows) == (2, 2, 0, 0)
    with world_a.context():
        assert list(Customer.objects.order_by("pk").values()) == before
