"""Candles for the backtest tests: 22 hourly days from 2024-01-20, two calendar months."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from adapters.persistence.engine import create_engine, create_session_factory
from adapters.persistence.sql_candle_store import SqlCandleStore
from domain.exchange.market import MarketType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey

HOUR = 3_600_000
T0 = 1_705_708_800_000  # 2024-01-20 00:00 UTC
DAYS = 22  # through 2024-02-10


def hourly_klines(count: int, seed: int = 7) -> list[list[float]]:
    """A noisy, mean-reverting walk: the default strategy wins some trades and loses some."""
    rng = random.Random(seed)
    rows = []
    close = 100.0
    for i in range(count):
        open_ = close
        close = max(1.0, open_ * (1 + rng.gauss(0, 0.012)) + 0.005 * (100 - open_))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.004)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.004)))
        volume = 5 + rng.random() * 10
        rows.append([T0 + i * HOUR, *(round(v, 4) for v in (open_, high, low, close, volume))])
    return rows


async def store_hourly_candles(database_url: str, days: int, seed: int = 7) -> None:
    """Store `days` of hourly BTCUSDT spot candles from T0 as downloaded, through a short-lived
    engine of its own, so that a backtest over them never asks the exchange."""
    engine = create_engine(database_url)
    store = SqlCandleStore(create_session_factory(engine))
    key = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
    rows = hourly_klines(days * 24, seed)
    try:
        await store.upsert(key, [Candle(int(r[0]), *r[1:]) for r in rows])
        await store.mark_covered(key, T0, T0 + days * 24 * HOUR - 1)
    finally:
        await engine.dispose()


def backtest_request(days: int) -> dict[str, str]:
    """A POST /api/v1/backtest/run body over the first `days` stored by store_hourly_candles."""
    first = datetime.fromtimestamp(T0 / 1000, UTC).date()
    last = first + timedelta(days=days - 1)
    return {
        "symbol": "BTCUSDT",
        "interval": "1h",
        "start_date": first.isoformat(),
        "end_date": last.isoformat(),
    }
