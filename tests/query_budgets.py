"""Query budgets of lists: the number of queries of a page or an endpoint must not grow with its
rows (no query per row), and stays within a budget the test states with what the queries are.

    from tests.query_budgets import assert_flat

    response = assert_flat(client, url, lambda n: make_rows(world, n), n=12)
    add_more_rows()
    with django_assert_max_num_queries(12):  # 7 of plumbing + ...
        response = client.get(url)

`assert_flat` builds n rows, warms the session with one GET, counts the queries of a second GET,
builds n more rows and counts again: both counts must be equal. Keep 2n below the page size
(25), or the page hides the extra rows. The API's paginator skips the COUNT while page 1 is not
full (apps.core.pagination), so an API budget measured on a full page is one more than the
counts compared here."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext


def measure(client, url: str, params: dict | None = None):
    """GET `url` (expecting 200): the response and the SQL of every query it ran."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    if response.status_code != 200:
        raise AssertionError(f"GET {url} answered {response.status_code}")
    return response, [q["sql"] for q in ctx.captured_queries]


def assert_flat(client, url: str, grow: Callable[[int], object], *, n: int,
                params: dict | None = None):
    """`grow(n)`, warm up, count; `grow(n)` again, count: the same number of queries (else the
    error lists both runs' queries). Returns the second response (2n rows)."""
    grow(n)
    client.get(url, params or {})  # warm the session cache (and the cached policy versions)
    _, small = measure(client, url, params)
    grow(n)
    response, large = measure(client, url, params)
    if len(small) != len(large):
        raise AssertionError(
            f"GET {url}: {len(small)} queries with {n} rows, {len(large)} with {2 * n}:\n"
            + "\n".join(large) + "\n--- with fewer rows:\n" + "\n".join(small))
    return response
