"""Benchmark driver (`make bench`): load the data if missing, run the scenarios, report.

    python bench/run.py [scenario ...] [--scale X] [--tenants N]

Environment: DATABASE_URL / DATABASE_OWNER_URL / REDIS_URL (exported by scripts/dev.py, the
database migrated), BENCH=<name>[,<name>] selects scenarios, BENCH_SCALE (float, default 1)
multiplies the number of customers per tenant (50 000 at scale 1), BENCH_TENANTS (default 20).

Prints a table (value next to target), writes bench/results/latest.json as a flat
{"metric": value} object and exits 1 if a target is missed (2 if a scenario fails).
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import platform
import sys
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_crm.settings")
# Measure what production runs: no DEBUG (no query log, no debug pages) and no throttling.
os.environ["DEBUG"] = "false"
os.environ["API_THROTTLE_USER"] = "1000000/min"
os.environ["API_THROTTLE_ANON"] = "1000000/min"

import django  # noqa: E402

# WhiteNoise warns that STATIC_ROOT was never collected: irrelevant to API timings.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

django.setup()

from bench import data  # noqa: E402
from bench.scenarios import discover  # noqa: E402
from bench.util import BenchContext  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest.json"
OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


def log(msg: str) -> None:
    print(msg, flush=True)


def main() -> int:
    scenarios = discover()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"scenarios to run (default: all of {sorted(scenarios)})")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE") or 1))
    parser.add_argument("--tenants", type=int, default=int(os.environ.get("BENCH_TENANTS") or 20))
    args = parser.parse_args()
    names = args.names or [n for n in (os.environ.get("BENCH") or "").split(",") if n] or list(scenarios)
    unknown = [n for n in names if n not in scenarios]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {sorted(scenarios)}")

    log(f"bench: scale {args.scale}, {args.tenants} tenants, scenarios {names} "
        f"({platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()})")
    t0 = time.perf_counter()
    tenants = data.ensure_data(scale=args.scale, tenants=args.tenants, log=log)
    ctx = BenchContext(tenants=tenants, scale=args.scale, log=log)
    load_start = round(os.getloadavg()[0], 2)
    results: dict[str, float] = {
        "bench_scale": args.scale,
        "bench_tenants": len(tenants),
        "bench_customers_per_tenant": tenants[0].customers,
        "data_seconds": round(time.perf_counter() - t0, 1),
    }
    targets: dict[str, tuple[str, float]] = {}
    failed_scenarios = []
    for name in names:
        module = scenarios[name]
        log(f"\n== {name}: {getattr(module, 'DESCRIPTION', '')}")
        started = time.perf_counter()
        try:
            metrics = module.run(ctx)
        except Exception:
            traceback.print_exc()
            failed_scenarios.append(name)
            continue
        log(f"   ({time.perf_counter() - started:.1f}s)")
        results.update(metrics)
        targets.update(getattr(module, "TARGETS", {}))

    # Other processes on the machine (test suites, browsers) inflate latencies: record the load.
    results["load_avg_1m_start"] = load_start
    results["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    missed = []
    width = max(len(k) for k in results)
    log(f"\n{'metric':<{width}}  {'value':>12}  target")
    for key, value in results.items():
        target = ""
        if key in targets:
            op, limit = targets[key]
            ok = OPS[op](value, limit)
            target = f"{op} {limit:g}  {'ok' if ok else 'MISSED'}"
            if not ok:
                missed.append(key)
        log(f"{key:<{width}}  {value:>12g}  {target}")
    for key in targets:
        if key not in results:
            missed.append(key)
            log(f"{key:<{width}}  {'-':>12}  {' '.join(map(str, targets[key]))}  NOT MEASURED")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    log(f"\nwrote {RESULTS.relative_to(ROOT)}")
    if failed_scenarios:
        log(f"FAILED scenarios: {failed_scenarios}")
        return 2
    if missed:
        log(f"targets missed: {missed}")
        return 1
    log("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
