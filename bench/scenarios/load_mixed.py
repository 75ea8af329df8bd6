"""A mixed workload through gunicorn on localhost (issue 10 item 6).

* Server: `gunicorn referral_crm.wsgi:application` started by the scenario on a free port of
  127.0.0.1, WORKERS sync workers (2 x cores + 1, as the image's WEB_CONCURRENCY advice), the
  same settings as production would run them except TLS (DEBUG off, no query log), talking to
  the bench database and Redis. It is stopped at the end.
* Users: USERS virtual users, each a staff member of one of the base bench tenants (spread
  over them: 60 % salespeople, 30 % team managers, 10 % administrators), each with a session
  of their own made beforehand (`Client.force_login`: the session lives in Redis, which
  gunicorn reads). Each user is a thread that asks for a page, reads it whole, waits a think
  time drawn uniformly from THINK_SECONDS (as a person reading a page, like Locust's
  `between`), and asks again, for DURATION seconds after WARMUP seconds not counted.
* Pages by role (GET, each drawn at random, weights in MIX): the customer list page and a
  customer's page (one of the user's own for salespeople), the customer API filtered and
  searched by a phone number, My day, the dashboards, the referral, deal and dispute lists,
  the inbox. Reads only: a run leaves the data as it was, so runs can be compared.
* Metrics: **load_mixed_rps** (completed requests per second over the measured window),
  **load_mixed_p95_ms** (nearest-rank over every measured request, client side: connect,
  request, whole body), **load_mixed_errors** (anything but 200, a connection error or a
  timeout). Also p50, max and the count per page.

The load generator runs in this process (threads, http.client); it takes little CPU next to
the server, but it is on the same two cores.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.customers.models import Customer
from apps.tenancy.context import tenant_context
from bench.util import BenchContext, ms, percentile

NAME = "load_mixed"
DESCRIPTION = "mixed pages and endpoints through gunicorn, 50 users for 60 s"
TARGETS = {"load_mixed_p95_ms": ("<=", 300.0), "load_mixed_errors": ("<=", 0)}

USERS = int(os.environ.get("LOAD_USERS") or 50)
DURATION = float(os.environ.get("LOAD_SECONDS") or 60)
WARMUP = 5.0
THINK_SECONDS = (0.5, 1.5)
WORKERS = 2 * (os.cpu_count() or 1) + 1
TIMEOUT = 30
ROOT = Path(__file__).resolve().parent.parent.parent

#: (page, weight) per role; a page is a function of the user giving a path.
MIX = {
    "sales": [("customer_list", 3), ("customer_detail", 3), ("customer_api_search", 2),
              ("my_day", 3), ("dashboard_sales", 1), ("referral_list", 1), ("deal_list", 1),
              ("inbox", 1)],
    "manager": [("customer_list_team", 3), ("customer_api_team", 2), ("dashboard_manager", 2),
                ("dispute_list", 1), ("referral_list", 1), ("deal_list", 1), ("inbox", 1)],
    "admin": [("customer_list", 2), ("dashboard_manager", 1), ("deal_list", 1),
              ("referral_list", 1)],
}


class User:
    def __init__(self, role: str, staff, cookie: str, customers: list[tuple[int, str]]):
        self.role, self.staff, self.cookie, self.customers = role, staff, cookie, customers
        pages, weights = zip(*MIX[role], strict=True)
        self.pages, self.weights = pages, weights

    def path(self, page: str, rng: random.Random) -> str:
        team = self.staff.team_id
        if page == "customer_list":
            return reverse("customers:list")
        if page == "customer_list_team":
            return f"{reverse('customers:list')}?team={team}"
        if page == "customer_detail":
            return reverse("customers:detail", args=[rng.choice(self.customers)[0]])
        if page == "customer_api_search":
            return f"/api/v1/customers/?search={rng.choice(self.customers)[1]}"
        if page == "customer_api_team":
            return f"/api/v1/customers/?team={team}&ordering=-created_at"
        return reverse({"my_day": "followups:my_day", "dashboard_sales": "dashboards:sales",
                        "dashboard_manager": "dashboards:manager",
                        "referral_list": "referrals:referral_list", "deal_list": "deals:list",
                        "dispute_list": "disputes:list", "inbox": "notifications:inbox"}[page])


def _users(ctx: BenchContext) -> list[User]:
    tenants = ctx.tenants[:5]
    shares = {"sales": round(USERS * 0.6), "manager": round(USERS * 0.3)}
    shares["admin"] = USERS - shares["sales"] - shares["manager"]
    users = []
    for role, count in shares.items():
        for n in range(count):
            bt = tenants[n % len(tenants)]
            pool = {"sales": bt.sales, "manager": bt.managers, "admin": [bt.admin]}[role]
            staff = pool[(n // len(tenants)) % len(pool)]
            client = Client()
            client.force_login(staff.user)
            cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
            with tenant_context(bt.tenant):
                mine = list(Customer.objects.filter(owner=staff).order_by("id")
                            .values_list("id", "phone")[:50]) if role == "sales" else []
                if not mine:
                    mine = list(Customer.objects.order_by("id").values_list("id", "phone")[:50])
            users.append(User(role, staff, cookie, mine))
    return users


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "false", "PRODUCTION": "false", "ALLOWED_HOSTS": "127.0.0.1",
           # static files are not collected for the bench (WhiteNoise warns once per worker)
           "PYTHONWARNINGS": "ignore::UserWarning:django.core.handlers.base"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "referral_crm.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--timeout", "60",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return server
        except OSError:
            time.sleep(0.2)
    _stop_server(server)
    raise RuntimeError("gunicorn did not start within 60 s")


def _stop_server(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def _get(port: int, path: str, cookie: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1",
                                           "Accept-Language": "zh-hans"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _warm(port: int, users: list[User]) -> None:
    """Every page once per role before the clock starts: workers import and connect."""
    rng = random.Random(0)
    seen = set()
    for user in users:
        for page in user.pages:
            if (user.role, page) in seen:
                continue
            seen.add((user.role, page))
            for _ in range(WORKERS):
                status = _get(port, user.path(page, rng), user.cookie)
                if status != 200:
                    raise AssertionError(f"{page} as {user.role} answered {status}")


def run(ctx: BenchContext) -> dict[str, float]:
    users = _users(ctx)
    port = _free_port()
    server = _start_server(port)
    samples: list[tuple[float, str, float, bool]] = []  # (start, page, seconds, ok)
    lock = threading.Lock()
    try:
        _warm(port, users)
        start = time.monotonic()
        measure_from, stop_at = start + WARMUP, start + WARMUP + DURATION

        def user_loop(n: int, user: User) -> None:
            rng = random.Random(n)
            time.sleep(rng.uniform(0, THINK_SECONDS[1]))  # users do not all start at once
            while time.monotonic() < stop_at:
                page = rng.choices(user.pages, user.weights)[0]
                path = user.path(page, rng)
                began = time.monotonic()
                try:
                    ok = _get(port, path, user.cookie) == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                took = time.monotonic() - began
                if began >= measure_from and began + took <= stop_at + TIMEOUT:
                    with lock:
                        samples.append((began, page, took, ok))
                time.sleep(rng.uniform(*THINK_SECONDS))

        threads = [threading.Thread(target=user_loop, args=(n, u), daemon=True)
                   for n, u in enumerate(users)]
        load_before = os.getloadavg()[0]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WARMUP + DURATION + TIMEOUT + 5)
        load_after = os.getloadavg()[0]
    finally:
        _stop_server(server)

    measured = [s for s in samples if s[0] < stop_at]
    if not measured:
        raise AssertionError("no request completed in the measured window")
    times = [s[2] for s in measured]
    errors = sum(1 for s in measured if not s[3])
    by_page = Counter(s[1] for s in measured)
    ctx.log(f"  load_mixed: {len(measured)} requests by {len(users)} users in {DURATION:.0f} s, "
            f"{WORKERS} gunicorn workers; load {load_before:.2f} → {load_after:.2f}")
    for page, count in sorted(by_page.items()):
        page_times = [s[2] for s in measured if s[1] == page]
        ctx.log(f"    {page:22} {count:5}  p50 {ms(percentile(page_times, 50)):7.1f} ms  "
                f"p95 {ms(percentile(page_times, 95)):7.1f} ms")
    return {
        "load_mixed_rps": round(len(measured) / DURATION, 1),
        "load_mixed_p50_ms": round(ms(percentile(times, 50)), 1),
        "load_mixed_p95_ms": round(ms(percentile(times, 95)), 1),
        "load_mixed_max_ms": round(ms(max(times)), 1),
        "load_mixed_errors": errors,
        "load_mixed_users": len(users),
        "load_mixed_workers": WORKERS,
    }
