"""LimitsRateLimiter over the in-memory storage of `limits`, and its fail-open behaviour."""

from __future__ import annotations

import asyncio
import logging

import pytest
from limits.aio.storage import MemoryStorage
from limits.errors import StorageError

from adapters.rate_limit.limits_rate_limiter import (
    DisabledRateLimiter,
    LimitsRateLimiter,
    memory_storage,
)
from domain.errors import RateLimited
from domain.ports.rate_limiter import RateLimit

RULE = RateLimit("t", limit=5, period_seconds=60)


class FailingStorage(MemoryStorage):
    """A storage whose backend is down: every operation raises StorageError."""

    def _down(self) -> StorageError:
        return StorageError(ConnectionError("connection refused"))

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        raise self._down()

    async def get(self, key: str) -> int:
        raise self._down()

    async def get_expiry(self, key: str) -> float:
        raise self._down()

    async def clear(self, key: str) -> None:
        raise self._down()

    async def check(self) -> bool:
        raise self._down()

    async def reset(self) -> int | None:
        raise self._down()

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        raise self._down()

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        raise self._down()


class StatsFailingStorage(MemoryStorage):
    """Counting works, but reading the window for the Retry-After fails."""

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        raise StorageError(ConnectionError("connection reset"))


async def test_five_hits_pass_and_the_sixth_is_refused_with_a_retry_after() -> None:
    limiter = LimitsRateLimiter(memory_storage())
    for _ in range(5):
        await limiter.hit(RULE, "k")

    with pytest.raises(RateLimited) as caught:
        await limiter.hit(RULE, "k")

    assert 1 <= caught.value.retry_after_seconds <= 60
    assert caught.value.details["rule"] == "t"


async def test_refused_hits_stay_refused_within_the_period() -> None:
    limiter = LimitsRateLimiter(memory_storage())
    for _ in range(5):
        await limiter.hit(RULE, "k")

    for _ in range(3):
        with pytest.raises(RateLimited):
            await limiter.hit(RULE, "k")


async def test_different_keys_are_counted_independently() -> None:
    limiter = LimitsRateLimiter(memory_storage())
    for _ in range(5):
        await limiter.hit(RULE, "a")

    for _ in range(5):
        await limiter.hit(RULE, "b")

    with pytest.raises(RateLimited):
        await limiter.hit(RULE, "a")
    with pytest.raises(RateLimited):
        await limiter.hit(RULE, "b")


async def test_different_rule_names_are_counted_independently() -> None:
    limiter = LimitsRateLimiter(memory_storage())
    other = RateLimit("u", limit=5, period_seconds=60)
    for _ in range(5):
        await limiter.hit(RULE, "k")

    for _ in range(5):
        await limiter.hit(other, "k")

    with pytest.raises(RateLimited):
        await limiter.hit(other, "k")


async def test_hits_are_allowed_again_once_the_period_has_passed() -> None:
    limiter = LimitsRateLimiter(memory_storage())
    rule = RateLimit("short", limit=2, period_seconds=1)
    await limiter.hit(rule, "k")
    await limiter.hit(rule, "k")
    with pytest.raises(RateLimited) as caught:
        await limiter.hit(rule, "k")
    assert caught.value.retry_after_seconds == 1

    await asyncio.sleep(1.1)

    await limiter.hit(rule, "k")


async def test_an_unavailable_storage_lets_the_hit_through_and_logs_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = LimitsRateLimiter(FailingStorage())

    with caplog.at_level(logging.WARNING, logger="tradebot.rate_limit"):
        for _ in range(10):
            await limiter.hit(RULE, "k")

    warnings = [r for r in caplog.records if r.name == "tradebot.rate_limit"]
    assert len(warnings) == 1  # at most one warning every 30 s
    assert warnings[0].levelno == logging.WARNING
    assert "ConnectionError" in warnings[0].getMessage()


async def test_a_storage_failure_while_reading_the_window_lets_the_hit_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = LimitsRateLimiter(StatsFailingStorage())
    for _ in range(5):
        await limiter.hit(RULE, "k")

    with caplog.at_level(logging.WARNING, logger="tradebot.rate_limit"):
        await limiter.hit(RULE, "k")

    assert any(r.name == "tradebot.rate_limit" for r in caplog.records)


async def test_the_disabled_limiter_never_refuses() -> None:
    limiter = DisabledRateLimiter()
    for _ in range(20):
        await limiter.hit(RULE, "k")


@pytest.mark.parametrize(("limit", "period"), [(0, 60), (5, 0), (-1, 60), (5, -1)])
def test_a_rate_limit_needs_a_positive_limit_and_period(limit: int, period: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimit("t", limit=limit, period_seconds=period)


def test_rate_limited_never_advertises_less_than_one_second() -> None:
    assert RateLimited(retry_after_seconds=0).retry_after_seconds == 1
    assert RateLimited(retry_after_seconds=-5).retry_after_seconds == 1
