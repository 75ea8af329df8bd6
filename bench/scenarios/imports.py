"""Customer import (issue 9): a 100 000-row .xlsx against 1 000 000 existing customers, and
django-import-export on a 5 000-row slice of the same rows.

* Data (its own tenant, slug TENANT_SLUG, independent of the base bench data): TEAMS teams,
  SALES salespeople named 导入销售01… (the file names its owners by these names) and one
  administrator (the importing actor: may assign any owner, may change every customer),
  created through the services once; CUSTOMERS customers loaded set-based once (INSERT …
  SELECT generate_series in one transaction of the tenant, as followups.py) and reused: phone
  139 + the index i on 8 digits, a valid resident ID for every fifth customer (region 110105,
  birth date and sequence derived from i, check digit computed in SQL), owner uniform over
  the salespeople. The tenant must hold exactly CUSTOMERS customers before each run.
* The file (FILE_ROWS rows, Chinese headers 姓名 手机 身份证号 性别 生日 地址 来源 等级 负责人
  备注) is generated deterministically (random.Random(SEED)) once and cached under
  var/bench/: phones plain, "138 1234 5678", "+86 138…" and "+86138…"; a valid ID number for
  ~30 % of the rows; birthdays as text in five formats, as Excel serial numbers and as date
  cells; owners by name (blank for some); ~7 % rows with the phone of an existing customer,
  ~0.7 % with the ID number of an existing customer (and a new phone), 0.2 % repeating an
  earlier row's phone in the file. The generator counts what the importer must do
  (expected created / skipped) and the run asserts exactly that.
* **import_100k_s** and **import_100k_peak_mb**: the import runs in a child Python process
  (this module run as a script: Django set up there as in a worker) — read the file from
  disk, `importer.read` + `importer.run(commit=True, duplicates="skip")` with the .xlsx
  report written (to a temporary file) as the Celery task does — inside an outer transaction
  that is rolled back after the timing (`transaction.set_rollback`), so the tenant is left as
  it was and the bench can run again: the COMMIT is not in the figure (the ROLLBACK neither).
  The peak is the child's RSS high-water mark (VmHWM of /proc/self/status, read by the child
  at the end; the parent's `getrusage(RUSAGE_CHILDREN).ru_maxrss` is reported as a check).
  The counts must be exactly the generator's (created, skipped, no failed row) and the tenant
  must hold CUSTOMERS customers again afterwards. Diagnostics: `import_100k_db_s`, the time
  of the main thread's database round trips (the duplicate lookups; the INSERTs/UPDATEs run
  in the importer's writer thread, overlapped, and are not in it), and the same file with
  duplicates "update" in another child (`import_100k_update_s`, `_update_peak_mb`).
* **import_vs_iexport_ratio**: the first IEXPORT_ROWS rows of the file that are new customers
  (no duplicate: a default django-import-export resource has no duplicate rule and would hit
  the unique constraint) are imported in this process twice, each inside tenant_context and
  rolled back: by a plain `resources.ModelResource` for Customer with the same columns
  (`import_data(dataset, dry_run=False)`, default options; the only addition is setting the
  tenant, which is not a column) from a tablib Dataset already in memory with the values
  already normalised (phone digits, ISO dates, codes, the owner's id) — i.e. favourable to
  django-import-export; the one other change: its closing id-sequence reset (refused to the
  application's database role, as the admin CustomerResource knows) is skipped — and by our
  importer from the .xlsx bytes of the same rows with
  Chinese headers (read + validate + duplicate lookup against the million + write + report).
  ratio = iexport seconds / ours. Diagnostics: the project's admin CustomerResource (through
  the services, row by row) on ADMIN_ROWS rows, the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":  # the child process: set Django up as bench/run.py does
    ROOT = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_crm.settings")
    os.environ["DEBUG"] = "false"
    import django

    django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from apps.customers.models import Customer  # noqa: E402
from apps.tenancy.context import tenant_context  # noqa: E402
from apps.tenancy.models import Staff, Tenant  # noqa: E402
from apps.tenancy.roles import Role  # noqa: E402
from bench.data import ensure_sales_tenant  # noqa: E402

NAME = "import"
DESCRIPTION = ("import of a 100 000-row .xlsx (validation, duplicates against 1 000 000 "
               "customers) in a child process; django-import-export on 5 000 rows")
TARGETS = {"import_100k_s": ("<=", 30.0), "import_100k_peak_mb": ("<=", 500.0),
           "import_vs_iexport_ratio": (">=", 10.0)}

TENANT_SLUG = "bench-import"
CUSTOMERS = 1_000_000
TEAMS = 5
SALES = 50
FILE_ROWS = 100_000
IEXPORT_ROWS = 5_000
ADMIN_ROWS = 500
SEED = 20261207
FILE_VERSION = 1
DUPLICATES = "skip"
HEADERS = ["姓名", "手机", "身份证号", "性别", "生日", "地址", "来源", "等级", "负责人", "备注"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国志文博浩然子涵欣怡梓萱宇轩思远雨桐佳"
SOURCES = ["转介绍", "到店", "电话", "网络", "老带新", "", "其他"]
STREETS = ["漕溪北路", "衡山路", "天钥桥路", "肇嘉浜路", "宜山路", "虹桥路", "田林路", "龙华中路"]
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def sales_name(n: int) -> str:
    return f"导入销售{n:02d}"


# --------------------------------------------------------------------------- the tenant

def _existing_id(i: int) -> str:
    """The ID number of existing customer i (every fifth has one): as the SQL below."""
    from apps.core.identity import make_resident_id
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=i % 20000)
    return make_resident_id("110105", birth, (i // 20000) % 500)


def _id_sql(i: str) -> str:
    first17 = (f"('110105' || to_char(date '1950-01-01' + mod({i}, 20000), 'YYYYMMDD') "
               f"|| lpad(mod({i} / 20000, 500)::text, 3, '0'))")
    total = " + ".join(f"substr(b, {k + 1}, 1)::int * {w}" for k, w in enumerate(ID_WEIGHTS))
    return (f"(SELECT b || substr('10X98765432', 1 + mod({total}, 11), 1) "
            f"FROM (SELECT {first17} AS b) x)")


def _ensure_org(log) -> tuple[Tenant, Staff, list[int]]:
    return ensure_sales_tenant(TENANT_SLUG, "压测导入", teams=TEAMS, sales=SALES, log=log,
                               admin_name="导入管理员", team_name=lambda t: f"导入{t}组",
                               sales_name=sales_name)


def _load_customers(tenant: Tenant, sales: list[int], log) -> None:
    from bench.scenarios.referrals import _exec, _name, _u
    t0 = time.perf_counter()
    owner = f"(%(sales)s::bigint[])[1 + floor({_u('i', ':owner')} * {len(sales)})::int]"
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("DELETE FROM customers_ownershipchange")
        cur.execute("DELETE FROM customers_customer")
        cur.execute("CREATE TEMP TABLE bi_staff ON COMMIT DROP AS "
                    "SELECT id, team_id FROM tenancy_staff WHERE id = ANY(%s)", [sales])
        n = _exec(cur, Customer, {
            "tenant_id": "%(t)s", "name": _name("f.i"),
            "phone": "'139' || lpad(f.i::text, 8, '0')",
            "id_number": f"CASE WHEN mod(f.i, 5) = 0 THEN {_id_sql('f.i')} ELSE '' END",
            "owner_id": "f.owner", "team_id": "s.team_id", "created_by_id": "f.owner",
            "source": "'walk_in'", "created_at": "now() - interval '400 days'",
            "updated_at": "now() - interval '400 days'",
            "owned_since": "now() - interval '400 days'",
            "last_contact_at": "now() - interval '10 days'",
        }, f"FROM (SELECT i, {owner} AS owner FROM generate_series(1, {CUSTOMERS}) i) f "
           "JOIN bi_staff s ON s.id = f.owner ORDER BY f.i",
            {"t": tenant.pk, "sales": "{" + ",".join(map(str, sales)) + "}"})
    t1 = time.perf_counter()
    with connections["owner"].cursor() as cur:
        cur.execute("VACUUM (ANALYZE) customers_customer")
    log(f"  {n} customers loaded in {t1 - t0:.1f}s, vacuumed in {time.perf_counter() - t1:.1f}s")


def ensure(log) -> tuple[Tenant, Staff]:
    tenant, admin, sales = _ensure_org(log)
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE id_number <> '') "
                    "FROM customers_customer")
        customers, with_id = cur.fetchone()
    if (customers, with_id) != (CUSTOMERS, CUSTOMERS // 5):
        log(f"  {TENANT_SLUG}: {customers} -> {CUSTOMERS} customers")
        _load_customers(tenant, sales, log)
    else:
        log(f"  {TENANT_SLUG}: reusing {customers} customers")
    with tenant_context(tenant):
        assert Customer.objects.filter(phone="13900000005",
                                       id_number=_existing_id(5)).exists(), "ID SQL drift"
    return tenant, admin


# --------------------------------------------------------------------------- the file

def _rows(rng: random.Random):
    """(file row values, normalised values or None for a duplicate, kind) for every row."""
    new_phones: list[str] = []
    for i in range(FILE_ROWS):
        name = (SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
                + (GIVEN[rng.randrange(len(GIVEN))] if rng.random() < 0.7 else ""))
        gender = rng.choice(["男", "女", ""])
        source = rng.choice(SOURCES)
        grade = rng.choice(["A", "B", "C", "D", ""])
        owner_no = rng.randrange(1, SALES + 1) if rng.random() < 0.8 else None
        address = f"上海市徐汇区{rng.choice(STREETS)}{rng.randrange(1, 999)}号"
        notes = "老客户介绍，关注套餐" if rng.random() < 0.1 else ""
        id_number, birthday = "", None
        roll = rng.random()
        if i % 500 == 499 and new_phones:  # a repeat of an earlier row of the file
            kind, phone = "infile", new_phones[rng.randrange(len(new_phones))]
        elif i % 14 == 3:  # the phone of an existing customer
            kind, phone = "existing", f"139{rng.randrange(1, CUSTOMERS + 1):08d}"
        elif i % 140 == 10:  # the ID number of an existing customer (every fifth has one)
            kind, phone = "existing", f"137{i:08d}"
            id_number = _existing_id(5 * rng.randrange(1, CUSTOMERS // 5 + 1))
        else:
            kind, phone = "new", f"138{i:08d}"
            new_phones.append(phone)
            if roll < 0.3:
                birth = dt.date(1955, 1, 1) + dt.timedelta(days=i % 18000)
                from apps.core.identity import make_resident_id
                id_number = make_resident_id("310104", birth, 500 + i // 18000)
                birthday = birth if rng.random() < 0.5 else None
            elif roll < 0.8:
                birthday = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
        digits = phone
        shown = [digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"+86 {digits}",
                 f"+86{digits}"][i % 4]
        if birthday is None:
            birthday_cell = ""
        else:
            birthday_cell = [birthday.isoformat(), f"{birthday.year}/{birthday.month}/{birthday.day}",
                             f"{birthday.year}年{birthday.month}月{birthday.day}日",
                             birthday.strftime("%Y%m%d"),
                             (birthday - dt.date(1899, 12, 30)).days, birthday][i % 6]
        owner = sales_name(owner_no) if owner_no else ""
        values = [name, shown, id_number, gender, birthday_cell, address, source, grade, owner,
                  notes]
        yield values, (name, digits, id_number, gender, birthday, address, source, grade,
                       owner_no, notes), kind


def ensure_file(log) -> tuple[Path, dict]:
    """The cached 100 000-row file and its 5 000-row slice; the expected counts."""
    from openpyxl import Workbook
    directory = Path(settings.BASE_DIR) / "var" / "bench"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"import-{FILE_ROWS}-v{FILE_VERSION}.xlsx"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text())
    t0 = time.perf_counter()
    book, small = Workbook(write_only=True), Workbook(write_only=True)
    sheet, small_sheet = book.create_sheet("客户"), small.create_sheet("客户")
    sheet.append(HEADERS)
    small_sheet.append(HEADERS)
    counts = {"new": 0, "existing": 0, "infile": 0}
    slice_rows = []
    for values, normal, kind in _rows(random.Random(SEED)):
        sheet.append(values)
        counts[kind] += 1
        if kind == "new" and len(slice_rows) < IEXPORT_ROWS:
            small_sheet.append(values)
            slice_rows.append([*normal[:4], normal[4].isoformat() if normal[4] else "",
                               *normal[5:]])
    tmp = path.with_suffix(".tmp")
    book.save(tmp)
    small.save(path.with_suffix(".slice.xlsx"))
    meta = {"rows": FILE_ROWS, "created": counts["new"],
            "skipped": counts["existing"] + counts["infile"], **counts,
            "slice": slice_rows}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False))
    tmp.rename(path)
    log(f"  file written: {path.name}, {path.stat().st_size / 1e6:.1f} MB in "
        f"{time.perf_counter() - t0:.1f}s")
    return path, meta


# --------------------------------------------------------------------------- timings

def _import_rolled_back(tenant, actor, data: bytes, name: str, duplicates: str = DUPLICATES):
    """Our importer, end to end (read, validate, duplicates, write, report), rolled back."""
    from apps.imports import importer
    from apps.imports.report import ReportWriter
    t0 = time.perf_counter()
    with transaction.atomic():
        report = ReportWriter()
        table = importer.read(data, name)
        summary = importer.run(tenant=tenant, actor=actor, table=table, duplicates=duplicates,
                               commit=True, report=report)
        with tempfile.TemporaryFile() as handle:
            report.save(handle)
        elapsed = time.perf_counter() - t0
        transaction.set_rollback(True)
    return elapsed, summary


def child(path: str, tenant_id: int, actor_id: int, duplicates: str) -> None:
    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_context(tenant):
        actor = Staff.objects.select_related("team", "user").get(pk=actor_id)
    from bench.util import DatabaseTimer
    db = DatabaseTimer()
    t0 = time.perf_counter()
    data = Path(path).read_bytes()
    with connection.execute_wrapper(db):
        _elapsed, summary = _import_rolled_back(tenant, actor, data, Path(path).name,
                                                duplicates)
    total = time.perf_counter() - t0
    hwm = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    print(json.dumps({"seconds": total, "rows": summary.rows, "created": summary.created,
                      "updated": summary.updated, "skipped": summary.skipped,
                      "errors": [[e.row, e.column, e.message] for e in summary.errors[:5]],
                      "failed_rows": summary.failed_rows, "committed": summary.committed,
                      "vmhwm_kb": hwm, "db_seconds": db.total}))


def _iexport_seconds(tenant, rows, sales_ids) -> float:
    import tablib
    from import_export import resources

    class PlainCustomerResource(resources.ModelResource):
        class Meta:
            model = Customer
            # "id": the default import_id_fields, empty in every row (all new)
            fields = ("id", "name", "phone", "id_number", "gender", "birthday", "address",
                      "source", "grade", "owner", "notes")

        def before_save_instance(self, instance, row, **kwargs):
            instance.tenant_id = tenant.pk  # not a column; RLS demands it

        def after_import(self, dataset, result, **kwargs):
            # The default then resets the id sequence from MAX(id): refused to the
            # application's role (as in the admin CustomerResource), and not needed.
            pass

    genders = {"男": "M", "女": "F", "": ""}
    sources = {"转介绍": "referral", "老带新": "referral", "到店": "walk_in", "电话": "phone",
               "网络": "online", "其他": "other", "": "walk_in"}
    dataset = tablib.Dataset(headers=list(PlainCustomerResource.Meta.fields))
    for name, phone, id_number, gender, birthday, address, source, grade, owner_no, notes in rows:
        dataset.append(["", name, phone, id_number, genders[gender], birthday, address,
                        sources[source], grade, sales_ids[owner_no - 1] if owner_no else "",
                        notes])
    t0 = time.perf_counter()
    with tenant_context(tenant):
        result = PlainCustomerResource().import_data(dataset, dry_run=False)
        elapsed = time.perf_counter() - t0
        assert not result.has_errors() and not result.has_validation_errors(), (
            [e.error for row in result.row_errors()[:3] for e in row[1]],
            [(r.number, r.error_dict) for r in result.invalid_rows[:3]],
            [e.error for e in result.base_errors[:3]])
        assert result.totals["new"] == len(rows), result.totals
        transaction.set_rollback(True)
    return elapsed


def _admin_resource_seconds(tenant, admin, rows) -> float:
    import tablib

    from apps.customers.admin import CustomerResource
    sales = {n: sales_name(n) for n in range(1, SALES + 1)}
    genders = {"男": "M", "女": "F", "": ""}
    dataset = tablib.Dataset(headers=["name", "phone", "id_number", "gender", "birthday",
                                      "address", "grade", "owner", "notes"])
    for name, phone, id_number, gender, birthday, address, _s, grade, owner_no, notes in rows:
        dataset.append([name, phone, id_number, genders[gender], birthday, address, grade,
                        sales[owner_no] if owner_no else "", notes])
    t0 = time.perf_counter()
    with tenant_context(tenant):
        result = CustomerResource(staff=admin).import_data(dataset, dry_run=False)
        elapsed = time.perf_counter() - t0
        assert not result.has_errors() and not result.has_validation_errors(), (
            [e.error for row in result.row_errors()[:3] for e in row[1]],
            [(r.number, r.error_dict) for r in result.invalid_rows[:3]],
            [e.error for e in result.base_errors[:3]])
        transaction.set_rollback(True)
    return elapsed


def _child(path, tenant, admin, duplicates) -> dict:
    proc = subprocess.run([sys.executable, __file__, "child", str(path), str(tenant.pk),
                           str(admin.pk), duplicates], capture_output=True, text=True,
                          env=os.environ.copy(), check=False)
    if proc.returncode:
        raise RuntimeError(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _count(tenant) -> int:
    with tenant_context(tenant):
        return Customer.objects.count()


def run(ctx) -> dict[str, float]:
    log = ctx.log
    tenant, admin = ensure(log)
    path, meta = ensure_file(log)
    log(f"  file: {meta['rows']} rows = {meta['new']} new, {meta['existing']} existing "
        f"customers, {meta['infile']} repeats within the file ({path.stat().st_size / 1e6:.1f} MB)")
    with tenant_context(tenant):
        sales_ids = list(Staff.objects.filter(roles=[Role.SALES]).order_by("id")
                         .values_list("id", flat=True))
        by_name = dict(Staff.objects.filter(roles=[Role.SALES]).values_list("name", "id"))
    sales_ids = [by_name[sales_name(n)] for n in range(1, SALES + 1)]
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    log(f"  load average {' '.join(loadavg)}")

    # 1. the 100 000 rows in a child process
    t0 = time.perf_counter()
    out = _child(path, tenant, admin, DUPLICATES)
    wall = time.perf_counter() - t0
    maxrss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    log(f"  100k: {out['seconds']:.1f}s in the child ({wall:.1f}s with Python and Django start), "
        f"{out['db_seconds']:.1f}s of it in the main thread's database round trips; "
        f"rows {out['rows']}, created {out['created']}, skipped {out['skipped']}, "
        f"failed rows {out['failed_rows']} {out['errors']}; VmHWM {out['vmhwm_kb'] / 1024:.0f} MB,"
        f" ru_maxrss {maxrss_mb:.0f} MB")
    assert out["failed_rows"] == 0, out["errors"]
    assert (out["rows"], out["created"], out["skipped"], out["updated"]) == (
        meta["rows"], meta["created"], meta["skipped"], 0), (out, meta)
    assert out["committed"]
    assert _count(tenant) == CUSTOMERS, "the rollback left customers behind"
    # diagnostics: the same file with duplicates "update" (the existing customers' fields
    # written back: bulk_update of ~7 800 rows)
    update = _child(path, tenant, admin, "update")
    assert update["failed_rows"] == 0 and update["created"] == meta["created"], update
    assert update["updated"] + update["skipped"] == meta["skipped"] and update["updated"], update
    log(f"  100k, duplicates update: {update['seconds']:.1f}s, created {update['created']}, "
        f"updated {update['updated']}, skipped {update['skipped']}; "
        f"VmHWM {update['vmhwm_kb'] / 1024:.0f} MB")
    assert _count(tenant) == CUSTOMERS, "the rollback left customers behind"

    # 2. the 5 000-row slice: django-import-export against ours
    slice_data = path.with_suffix(".slice.xlsx").read_bytes()
    ours_times = []
    for _ in range(2):
        seconds, summary = _import_rolled_back(tenant, admin, slice_data, "slice.xlsx")
        assert (summary.created, summary.skipped, summary.failed_rows) == (IEXPORT_ROWS, 0, 0), (
            summary.as_dict())
        ours_times.append(seconds)
    ours = min(ours_times)
    iexport = _iexport_seconds(tenant, meta["slice"], sales_ids)
    log(f"  {IEXPORT_ROWS} rows: django-import-export {iexport:.2f}s, ours {ours:.2f}s "
        f"(best of {len(ours_times)}: {', '.join(f'{s:.2f}' for s in ours_times)})")
    admin_s = _admin_resource_seconds(tenant, admin, meta["slice"][:ADMIN_ROWS])
    log(f"  {ADMIN_ROWS} rows through the admin CustomerResource (services): {admin_s:.2f}s")
    assert _count(tenant) == CUSTOMERS, "a rollback left customers behind"
    return {
        "import_100k_s": round(out["seconds"], 2),
        "import_100k_peak_mb": round(out["vmhwm_kb"] / 1024, 1),
        "import_100k_child_maxrss_mb": round(maxrss_mb, 1),
        "import_100k_db_s": round(out["db_seconds"], 2),
        "import_100k_update_s": round(update["seconds"], 2),
        "import_100k_update_peak_mb": round(update["vmhwm_kb"] / 1024, 1),
        "import_100k_rows": out["rows"], "import_100k_created": out["created"],
        "import_100k_skipped": out["skipped"],
        "import_5k_ours_s": round(ours, 3), "import_5k_iexport_s": round(iexport, 3),
        "import_vs_iexport_ratio": round(iexport / ours, 2),
        "import_admin_resource_rows_per_s": round(ADMIN_ROWS / admin_s, 1),
    }


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
