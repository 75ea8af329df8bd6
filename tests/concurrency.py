"""Concurrency tests: run real service calls at the same moment, each in its own thread and
database connection, against rows that are really committed.

    from tests.concurrency import committed, run_together

    @committed
    def test_two_managers_decide_at_once(world_a):
        results = run_together(lambda: decide(...), lambda: decide(...))
        assert sorted(kind for kind, _ in results) == ["error", "ok"], results
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.utils import translation

committed = pytest.mark.django_db(transaction=True, databases=["default", "owner"])
"""The marker for every test whose rows must really be committed (threads, a worker process).

`transaction=True` alone leaks: the `default` alias (the application role) is a TEST MIRROR of
`owner` (settings.DATABASES), and Django flushes a transactional test's database only through
the aliases that are not mirrors -- so with `default` alone nothing is flushed, and the app role
may not TRUNCATE anyway. Listing `owner` makes the teardown flush the test database as the owner,
so nothing a test committed leaks into later tests; the fixed slugs of world_a/world_b
("tenant-a", "tenant-b") can therefore be used in transactional tests too."""


def run_together(*calls: Callable[[], object], timeout: float = 60) -> list[tuple[str, object]]:
    """Run every call in its own thread (so its own database connection), all released at the
    same moment by a barrier, each under the default language (zh-hans, so refusals read as the
    user sees them).

    Returns, in call order, ("ok", return value) or ("error", the exception raised). Each thread
    closes its connection at the end; a thread still running after `timeout` seconds fails the
    test (a deadlock must not pass silently)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, object]] = [("error", RuntimeError("did not run"))] * len(calls)

    def worker(i: int, call: Callable[[], object]) -> None:
        try:
            with translation.override("zh-hans"):
                barrier.wait(timeout=timeout)
                results[i] = ("ok", call())
        except BaseException as exc:  # noqa: BLE001 - reported to the test, which asserts on it
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True,
                                name=f"run_together-{i}")
               for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"still running after {timeout}s (deadlock?): {alive}"
    return results
