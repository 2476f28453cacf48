from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from domain.errors import RateLimited
from domain.ports.rate_limiter import RateLimit, RateLimiter

logger = logging.getLogger("tradebot.rate_limit")


def memory_storage() -> Storage:
    return MemoryStorage()


def redis_storage(redis_url: str) -> Storage:
    uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
    return RedisStorage(
        uri,
        wrap_exceptions=True,
        implementation="redispy",
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )


class LimitsRateLimiter(RateLimiter):
    """Moving-window limits from the `limits` library, in memory or in Redis.

    A storage failure lets the request through and logs a warning (at most
    once every 30 s), so an outage of Redis never turns into refused logins.
    """

    def __init__(self, storage: Storage) -> None:
        self._exact = MovingWindowRateLimiter(storage)
        self._counted = SlidingWindowCounterRateLimiter(storage)
        self._last_warning = -math.inf

    async def hit(self, rule: RateLimit, key: str) -> None:
        item = RateLimitItemPerSecond(rule.limit, rule.period_seconds)
        limiter = self._exact if rule.exact else self._counted
        try:
            if await limiter.hit(item, rule.name, key):
                return
            stats = await limiter.get_window_stats(item, rule.name, key)
        except StorageError as exc:
            self._warn(exc)
            return
        raise RateLimited(
            retry_after_seconds=math.ceil(stats.reset_time - time.time()),
            details={"limit": f"{rule.limit} per {rule.period_seconds} s", "rule": rule.name},
        )

    def _warn(self, exc: StorageError) -> None:
        now = time.monotonic()
        if now - self._last_warning > 30:
            self._last_warning = now
            logger.warning(
                "rate-limit storage unavailable (%s); letting requests through",
                type(exc.storage_error).__name__,
            )


class DisabledRateLimiter(RateLimiter):
    """No limits at all (tests that are not about rate limiting)."""

    async def hit(self, rule: RateLimit, key: str) -> None:
        return None
