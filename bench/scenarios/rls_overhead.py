"""What relying on row-level security alone costs, compared with an explicit tenant predicate.

Both variants run as the application role, in one transaction with `app.tenant_id` set (the
RLS policy applies to both -- no role here may bypass it, and production has none either):

(a) RLS only: the query names no tenant; the policy adds
    `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint`.
(b) explicit: the same query plus `tenant_id = %s` (what the scoped managers add).

One sample is a customer page: the filtered, ordered, limited list query plus its count, as the
list API runs them. The samples of (a) and (b) are interleaved in random order so drift (cache,
autovacuum, the other processes on the machine) hits both alike.
rls_overhead_ratio = median(a) / median(b).
"""

from __future__ import annotations

import random
import time

from django.db import connection

from apps.tenancy.context import tenant_context
from bench.util import BenchContext, median, ms

NAME = "rls_overhead"
DESCRIPTION = "tenant page (list + count) under RLS only vs. with an explicit tenant_id predicate"
TARGETS = {"rls_overhead_ratio": ("<=", 1.10)}
ITERATIONS = 400
PAGE_SIZE = 25

COLS = ("id, name, phone, id_number, gender, birthday, address, source, grade, tags, notes, "
        "owner_id, team_id, created_by_id, created_at, updated_at, tenant_id")
LIST_RLS = (f"SELECT {COLS} FROM customers_customer WHERE team_id = %s AND source = %s "
            "ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s")
LIST_EXPLICIT = (f"SELECT {COLS} FROM customers_customer WHERE tenant_id = %s AND team_id = %s "
                 "AND source = %s ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s")
COUNT_RLS = "SELECT count(*) FROM customers_customer WHERE team_id = %s AND source = %s"
COUNT_EXPLICIT = ("SELECT count(*) FROM customers_customer WHERE tenant_id = %s AND team_id = %s "
                  "AND source = %s")


def run(ctx: BenchContext) -> dict[str, float]:
    bt = ctx.tenants[0]
    tenant_id, team_id = bt.tenant.pk, bt.teams[0].pk
    rng = random.Random(7)
    samples: dict[str, list[float]] = {k: [] for k in ("a_list", "a_count", "b_list", "b_count")}
    with tenant_context(bt.tenant):
        connection.ensure_connection()
        cur = connection.connection.cursor()  # the raw psycopg cursor: no Django overhead

        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + LIST_RLS,
                    [team_id, "referral", PAGE_SIZE, 0])
        ctx.log("  EXPLAIN ANALYZE of the RLS-only list query:")
        for (line,) in cur.fetchall():
            ctx.log("    " + line)

        def one(variant: str, offset: int) -> None:
            if variant == "a":
                list_sql, count_sql, prefix = LIST_RLS, COUNT_RLS, []
            else:
                list_sql, count_sql, prefix = LIST_EXPLICIT, COUNT_EXPLICIT, [tenant_id]
            t0 = time.perf_counter()
            cur.execute(list_sql, [*prefix, team_id, "referral", PAGE_SIZE, offset])
            rows = cur.fetchall()
            t1 = time.perf_counter()
            cur.execute(count_sql, [*prefix, team_id, "referral"])
            (count,) = cur.fetchone()
            t2 = time.perf_counter()
            if not rows or not count:
                raise AssertionError(f"variant {variant}: empty page (rows={len(rows)}, count={count})")
            samples[f"{variant}_list"].append(t1 - t0)
            samples[f"{variant}_count"].append(t2 - t1)

        cur.execute(COUNT_EXPLICIT, [tenant_id, team_id, "referral"])
        pages = max(1, min(5, cur.fetchone()[0] // PAGE_SIZE))  # pages 1..5, all non-empty
        for _ in range(20):  # warm-up: caches and plans, not measured
            one("a", 0)
            one("b", 0)
        for k in samples:
            samples[k].clear()
        for _ in range(ITERATIONS):
            offset = PAGE_SIZE * rng.randrange(pages)
            order = ["a", "b"]
            rng.shuffle(order)
            for variant in order:
                one(variant, offset)
        cur.close()

    a = [x + y for x, y in zip(samples["a_list"], samples["a_count"], strict=True)]
    b = [x + y for x, y in zip(samples["b_list"], samples["b_count"], strict=True)]
    return {
        "rls_only_page_median_ms": ms(median(a)),
        "explicit_page_median_ms": ms(median(b)),
        "rls_only_list_median_ms": ms(median(samples["a_list"])),
        "explicit_list_median_ms": ms(median(samples["b_list"])),
        "rls_only_count_median_ms": ms(median(samples["a_count"])),
        "explicit_count_median_ms": ms(median(samples["b_count"])),
        "rls_overhead_ratio": round(median(a) / median(b), 3),
        "rls_overhead_samples": ITERATIONS,
    }
