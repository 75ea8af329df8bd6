"""A real Celery worker process for the tests marked `worker`.

    from tests.concurrency import committed
    from tests.workers import celery_worker, wait_until

    @pytest.mark.worker
    @committed
    def test_task_runs_in_a_real_worker(world_a):
        ...  # the worker has its own DB connection: the data must be committed (`committed`)
        with celery_worker() as worker:
            some_task.apply_async(args=[world_a.tenant.pk], queue=worker.queue)
            rows = wait_until(lambda: list_rows(), worker=worker)
        assert rows == [...], worker.log()
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from celery import current_app
from django.db import connections

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


@dataclass
class Worker:
    """A running worker: send tasks with `apply_async(..., queue=worker.queue)`."""

    queue: str
    process: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self, tail: int = 3000) -> str:
        """The last `tail` characters of the worker's output (for assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError as exc:
            return f"(no worker log: {exc})"


@contextlib.contextmanager
def celery_worker(prefix: str = "test") -> Iterator[Worker]:
    """Start `celery worker` (solo pool) on a queue of its own, against the test database.

    The worker reads only that queue, so tasks must be sent with `queue=worker.queue`. On exit
    it is terminated (killed after 15 s), its log is removed and the queue is deleted from the
    broker (best effort)."""
    assert not current_app.conf.task_always_eager, "a real worker needs tasks sent to the broker"
    queue = f"{prefix}-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "DATABASE_NAME_OVERRIDE": connections["default"].settings_dict["NAME"]}
    fd, name = tempfile.mkstemp(prefix=f"{queue}-", suffix=".log")
    log_path = Path(name)
    process = None
    try:
        with os.fdopen(fd, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "referral_crm", "worker", "--pool=solo",
                 "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h", "--without-heartbeat",
                 "--without-gossip", "--without-mingle", "--loglevel=INFO"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        yield Worker(queue=queue, process=process, log_path=log_path)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        log_path.unlink(missing_ok=True)
        try:
            with current_app.connection_for_write() as conn:
                conn.default_channel.queue_delete(queue)
        except Exception:  # noqa: BLE001 - best effort: an unused queue name costs nothing
            pass


def wait_until(predicate: Callable[[], T], *, timeout: float = 60, interval: float = 0.25,
               worker: Worker | None = None) -> T:
    """Call `predicate` every `interval` seconds until it returns something truthy, `timeout`
    seconds have passed or `worker` (if given) has died; return its last value (so the test
    asserts on what it saw, with `worker.log()` as the message)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        if worker is not None and not worker.alive():
            return predicate()  # one last look: it may have finished just before it died
        time.sleep(interval)
