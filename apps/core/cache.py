"""The cache backend: Django's RedisCache that keeps serving when Redis is unreachable.

Nothing in the app needs the cache to be right, only fast: sessions are `cached_db` (the
database has them), throttles and cached policies are recomputed. So when Redis cannot be
reached (refused, gone, timed out), a read is a miss, a write or a delete does nothing and
`add` says "not added" (a caller using it as a lock backs off); the failure is logged as a
warning at most once a minute per process. After a failure the process leaves Redis alone for
OPTIONS["DOWN_SECONDS"] (default 5) instead of waiting for a timeout on every call of every
request; then it tries again. Short socket timeouts belong in OPTIONS too (settings.CACHES).

Consequence while Redis is down: sessions are read from the database, API throttles let
everything through (fail open), and a cache.delete meant to invalidate a value is lost -- the
cached policies have short lifetimes (minutes) so a stale copy surviving the outage expires by
itself (docs/OPERATIONS.md, "Failures").
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
LOG_EVERY_SECONDS = 60.0


class _Outage:
    """Per process: when Redis last failed, and when the failure was last logged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.logged_at = float("-inf")

    def failed(self, exc: BaseException, down_seconds: float) -> None:
        now = time.monotonic()
        with self.lock:
            self.down_until = now + down_seconds
            log = now - self.logged_at >= LOG_EVERY_SECONDS
            if log:
                self.logged_at = now
        if log:
            logger.warning("Redis cache unreachable (%s: %s): cache reads miss and writes are "
                           "skipped until it answers again", type(exc).__name__, exc)

    def skipping(self) -> bool:
        return time.monotonic() < self.down_until

    def recovered(self) -> None:
        if self.down_until:
            with self.lock:
                self.down_until = 0.0


_OUTAGES: dict[str, _Outage] = {}
_OUTAGES_LOCK = threading.Lock()


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        params = {**params, "OPTIONS": dict(params.get("OPTIONS") or {})}
        self._down_seconds = float(params["OPTIONS"].pop("DOWN_SECONDS", 5))
        super().__init__(server, params)
        # Django makes a cache object per thread: the outage is shared by the process.
        with _OUTAGES_LOCK:
            self._outage = _OUTAGES.setdefault(str(server), _Outage())

    def _guard(self, call, fallback):
        if self._outage.skipping():
            return fallback
        try:
            result = call()
        except UNREACHABLE as exc:
            self._outage.failed(exc, self._down_seconds)
            return fallback
        self._outage.recovered()
        return result

    def get(self, key, default=None, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).get(key, default, version),
                           default)

    def get_many(self, keys, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._guard(lambda: super(ResilientRedisCache, self).set(key, value, timeout, version),
                    None)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), list(data))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).touch(key, timeout, version),
                           False)

    def delete(self, key, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).delete(key, version), False)

    def delete_many(self, keys, version=None):
        self._guard(lambda: super(ResilientRedisCache, self).delete_many(keys, version), None)

    def incr(self, key, delta=1, version=None):
        result = self._guard(lambda: super(ResilientRedisCache, self).incr(key, delta, version),
                             _MISSING)
        if result is _MISSING:  # what a missing key gives: callers already handle it
            raise ValueError(f"Key '{key}' not found")
        return result

    def clear(self):
        return self._guard(lambda: super(ResilientRedisCache, self).clear(), False)


_MISSING = object()
