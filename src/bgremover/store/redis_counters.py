"""Rate-limit counters in Redis, shared by every API process of a scale-out deployment.

One ``INCR`` + ``EXPIRE`` per request, in a single round trip (a MULTI pipeline), on a key per bucket
and window: ``<prefix>:rate:<bucket>:<window_start>``. The key expires a little after its window, so
Redis holds at most a window's worth of keys per active API key.

Redis being away must not take the API down with it: the database still enforces credits and tasks
in flight, so a counter that cannot be reached counts as the first hit (fail open) and says so in the log.
Idempotency keys are deliberately *not* here: they live in the database, in the same transaction that
creates the task, so a repeated request can never create a second task, with or without Redis.
"""
from __future__ import annotations

import logging
import time

import redis

from bgremover.config import Settings
from bgremover.store.base import RateCounter

log = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class RedisRateCounter:
    """Fixed-window counters under ``prefix``; atomic across processes and hosts."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, prefix
        self._warned_at = 0.0

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisRateCounter:
        # Short timeouts: a request waits at most ~1 s on a Redis that is gone before failing open.
        return cls(redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0), prefix)

    def key(self, bucket: str, window_start: int) -> str:
        return f"{self.prefix}:rate:{bucket}:{window_start}"

    def hit(self, bucket: str, window_s: int, now: float) -> int:
        window = int(now // window_s) * window_s
        key = self.key(bucket, window)
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, window_s + 5)
            count, _ = pipe.execute()
            return int(count)
        except redis.RedisError as exc:
            if time.monotonic() - self._warned_at > 10:  # one line per 10 s, not one per request
                self._warned_at = time.monotonic()
                log.warning("rate-limit counters unavailable (%s); requests are not rate limited meanwhile",
                            type(exc).__name__)
            return 1

    def peek(self, bucket: str, window_s: int, now: float) -> int:
        try:
            value = self.client.get(self.key(bucket, int(now // window_s) * window_s))
        except redis.RedisError:
            return 0  # fail open, as hit does
        return int(value or 0)

    def ping(self) -> None:
        self.client.ping()

    def close(self) -> None:
        self.client.close()


def redis_url_for(settings: Settings) -> str | None:
    """Where the counters live: ``redis_url``, else the queue's Redis, else nowhere (no Redis in use)."""
    if settings.redis_url:
        return settings.redis_url
    if settings.queue_url and settings.queue_url.startswith(REDIS_SCHEMES):
        return settings.queue_url
    return None


def redis_rate_counter(settings: Settings) -> RateCounter | None:
    url = redis_url_for(settings)
    return None if url is None else RedisRateCounter.from_url(url, settings.redis_key_prefix)
