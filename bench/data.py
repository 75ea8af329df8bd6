"""Benchmark data: BENCH_TENANTS tenants (default 20) x 50 000 * BENCH_SCALE customers.

Tenants, teams and staff are created through the services (audit rows included); customers
are streamed with psycopg 3 COPY, one transaction per tenant with `app.tenant_id` set, as the
restricted application role (through a temporary staging table: see `_load_customers`), and
the RLS policy checks every row, exactly as in production. Bench tenants have slugs
`bench-NN`; a tenant whose customer count already matches is left alone, so a second run
reuses the data. The data is generated
from a fixed seed: the same rows every time.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from django.db import connection, connections, transaction

from apps.core.identity import make_resident_id
from apps.customers.models import Customer
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create, team_create, tenant_create

BASE_CUSTOMERS_PER_TENANT = 50_000
TEAMS_PER_TENANT = 4
SALES_PER_TEAM = 5
SLUG_PREFIX = "bench-"
SEED = 20_260_101

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强文博浩然子涵欣怡梓萱宇轩"
         "思远雨桐佳怡俊杰晓东海燕春梅国华玉兰建华德明淑珍丹丹鑫鹏晨曦一鸣雅婷嘉欣诗涵")
# Mobile prefixes of the three carriers (all valid for libphonenumber).
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                  "152", "153", "155", "156", "157", "158", "159", "166", "173", "177", "180",
                  "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199")
SOURCES = (("referral", 30), ("walk_in", 25), ("online", 20), ("phone", 10), ("channel", 10),
           ("other", 5))
GRADES = (("", 30), ("A", 10), ("B", 25), ("C", 25), ("D", 10))
TAGS = ("意向高", "老客户", "装修中", "价格敏感", "已到店", "待回访", "全款", "分期")
# Region codes valid for every birth year generated (1950-2004); younger codes such as 440305
# (created 1983) would make older birth dates invalid.
ID_REGIONS = ("110105", "110108", "110102", "310104", "310105", "310106", "310110", "110101")

COLUMNS = ("tenant_id", "name", "phone", "id_number", "gender", "birthday", "address", "source",
           "grade", "tags", "notes", "owner_id", "team_id", "created_by_id", "created_at",
           "updated_at")


def _weighted(rng: random.Random, pairs, k: int) -> list:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=k)


@dataclass
class BenchTenant:
    tenant: Tenant
    teams: list[Team]
    managers: list[Staff]
    sales: list[Staff]
    admin: Staff
    customers: int = 0


def customers_per_tenant(scale: float) -> int:
    return max(100, round(BASE_CUSTOMERS_PER_TENANT * scale))


def _slug(i: int) -> str:
    return f"{SLUG_PREFIX}{i:02d}"


def _ensure_org(i: int) -> BenchTenant:
    """Tenant, teams and staff of bench tenant `i` (created once, through the services)."""
    slug = _slug(i)
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        with transaction.atomic():
            tenant = tenant_create(name=f"压测租户{i:02d}", slug=slug,
                                   industry=Tenant.Industry.HOME_FURNISHING)
            admin = staff_create(tenant=tenant, actor=None, username=f"{slug}-admin", password=None,
                                 name="管理员", roles=[Role.ADMIN])
            for t in range(1, TEAMS_PER_TENANT + 1):
                team = team_create(tenant=tenant, actor=admin, name=f"{t}组")
                staff_create(tenant=tenant, actor=admin, username=f"{slug}-m{t}", password=None,
                             name=f"经理{t}", roles=[Role.MANAGER], team=team)
                for s in range(1, SALES_PER_TEAM + 1):
                    staff_create(tenant=tenant, actor=admin, username=f"{slug}-s{t}{s}",
                                 password=None, name=f"销售{t}-{s}", roles=[Role.SALES], team=team)
    with tenant_context(tenant):
        teams = list(Team.objects.order_by("id"))
        staff = list(Staff.objects.select_related("user").order_by("id"))
    return BenchTenant(
        tenant=tenant, teams=teams,
        managers=[s for s in staff if Role.MANAGER in s.roles],
        sales=[s for s in staff if s.roles == [Role.SALES]],
        admin=next(s for s in staff if Role.ADMIN in s.roles))


def _rows(bt: BenchTenant, n: int, rng: random.Random):
    """n customer rows for one tenant; phones unique within the tenant by construction."""
    tenant_id = bt.tenant.pk
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    span = 2 * 365 * 86400
    sources = _weighted(rng, SOURCES, n)
    grades = _weighted(rng, GRADES, n)
    # i -> (i * a + b) mod 10^8 is a bijection when gcd(a, 10^8) = 1: unique 8-digit suffixes.
    mul, off = 54_435_761, rng.randrange(10**8)
    with_id = 0
    for i in range(n):
        owner = None if rng.random() < 0.08 else rng.choice(bt.sales)  # ~8% in the public pool
        team_id = owner.team_id if owner else None
        created = now - dt.timedelta(seconds=rng.randrange(span))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        phone = rng.choice(PHONE_PREFIXES) + f"{(i * mul + off) % 10**8:08d}"
        id_number, gender, birthday = "", rng.choice(("", "M", "F")), None
        if rng.random() < 0.15:  # some customers leave their resident ID
            k = with_id
            with_id += 1
            region = ID_REGIONS[k % len(ID_REGIONS)]
            birthday = dt.date(1950, 1, 1) + dt.timedelta(days=(k // len(ID_REGIONS)) % 20_000)
            seq = (k // (len(ID_REGIONS) * 20_000)) % 1000
            id_number = make_resident_id(region, birthday, seq)
            gender = "M" if seq % 2 else "F"
        r = rng.random()
        tags = [] if r < 0.4 else rng.sample(TAGS, 1 if r < 0.8 else 2)
        yield (tenant_id, name, phone, id_number, gender, birthday, "", sources[i], grades[i], tags,
               "", owner.pk if owner else None, team_id, owner.pk if owner else None, created,
               created)


def _load_customers(bt: BenchTenant, n: int) -> None:
    """COPY into a temporary staging table, then INSERT ... SELECT into the real one.

    PostgreSQL refuses `COPY ... FROM` into a table whose row-level security applies to the
    current role ("COPY FROM not supported with row-level security"), and FORCE applies it to
    every role here. A temporary table has no policy, so the rows are streamed there with COPY
    and moved with one INSERT, which the policy's WITH CHECK verifies row by row."""
    rng = random.Random(SEED + int(bt.tenant.slug.removeprefix(SLUG_PREFIX)))
    cols = ", ".join(COLUMNS)
    with tenant_context(bt.tenant):  # one transaction, app.tenant_id set
        with connection.cursor() as cur:
            cur.execute("DELETE FROM customers_customer")  # only this tenant's rows are visible
            cur.execute(f"CREATE TEMP TABLE bench_customer_stage ON COMMIT DROP AS "
                        f"SELECT {cols} FROM customers_customer WITH NO DATA")
            with cur.cursor.copy(f"COPY bench_customer_stage ({cols}) FROM STDIN") as copy:
                for row in _rows(bt, n, rng):
                    copy.write_row(row)
            cur.execute(f"INSERT INTO customers_customer ({cols}) SELECT {cols} FROM bench_customer_stage")


def tenant_customer_count(tenant: Tenant) -> int:
    with tenant_context(tenant):
        return Customer.objects.count()


def ensure_data(scale: float = 1.0, tenants: int = 20, log=print) -> list[BenchTenant]:
    """Create what is missing; return the bench tenants with their staff."""
    n = customers_per_tenant(scale)
    out, loaded = [], 0
    started = time.perf_counter()
    for i in range(1, tenants + 1):
        bt = _ensure_org(i)
        have = tenant_customer_count(bt.tenant)
        if have != n:
            t0 = time.perf_counter()
            _load_customers(bt, n)
            loaded += 1
            log(f"  {bt.tenant.slug}: {have} -> {n} customers in {time.perf_counter() - t0:.1f}s")
        bt.customers = n
        out.append(bt)
    if loaded:
        # As the owner (maintenance is the owner's): fresh statistics, and the visibility map
        # set as autovacuum would leave it in steady state (index-only scans need it).
        with connections["owner"].cursor() as cur:
            for table in ("customers_customer", "tenancy_staff", "tenancy_team", "tenancy_tenant"):
                cur.execute(f"VACUUM (ANALYZE) {table}")
        log(f"data: loaded {loaded} tenant(s), vacuumed and analyzed in "
            f"{time.perf_counter() - started:.1f}s")
    else:
        log(f"data: reusing {tenants} tenants x {n} customers")
    return out
