"""Shared by the driver and the scenarios."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class BenchContext:
    tenants: list  # bench.data.BenchTenant
    scale: float
    log: Callable[[str], None] = print


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) -- no interpolation, a real observed value."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


class DatabaseTimer:
    """`connection.execute_wrapper`: the total time spent in database round trips."""

    def __init__(self):
        self.total = 0.0

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - t0


@dataclass
class PageTiming:
    """What `time_page` measured: the timed samples (seconds), the time in the database over
    all of them, and the queries of one more request (captured outside the timed loop:
    capturing forces Django's debug cursor)."""

    samples: list[float]
    db_total: float
    queries: list[dict]

    @property
    def p50_ms(self) -> float:
        return ms(percentile(self.samples, 50))

    @property
    def p95_ms(self) -> float:
        return ms(percentile(self.samples, 95))

    @property
    def max_ms(self) -> float:
        return ms(max(self.samples))

    @property
    def db_mean_ms(self) -> float:
        return ms(self.db_total / len(self.samples))

    def summary(self) -> str:
        return (f"{len(self.samples)} requests, p50 {self.p50_ms} ms, p95 {self.p95_ms} ms, "
                f"max {self.max_ms} ms; {self.db_mean_ms} ms in the database; "
                f"{len(self.queries)} queries")


def time_page(url: str, users: list, *, warmup: int = 20, requests: int = 200,
              check: Callable | None = None) -> PageTiming:
    """GET `url` through the whole stack (Django's test Client: every middleware, the view,
    the template) as each of `users` in turn, each logged in once with `force_login`:
    `warmup` requests, then `requests` timed ones, then one whose queries are captured. Every
    answer must be 200 (and pass `check(response)`, which raises on a wrong page)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = []
    for user in users:
        client = Client(raise_request_exception=True)
        client.force_login(user)
        clients.append((user, client))

    def one(i: int) -> float:
        user, client = clients[i % len(clients)]
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise AssertionError(f"GET {url} as {user}: {response.status_code} "
                                 f"{response.content[:300]!r}")
        if check is not None:
            check(response)
        return elapsed

    for i in range(warmup):
        one(i)
    db = DatabaseTimer()
    samples = []
    with connection.execute_wrapper(db):
        for i in range(requests):
            samples.append(one(i))
    with CaptureQueriesContext(connection) as captured:
        one(0)
    return PageTiming(samples=samples, db_total=db.total, queries=captured.captured_queries)
