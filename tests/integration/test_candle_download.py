"""EnsureCandles with the ccxt gateway against the Binance stub and the SQL candle store:
only what was never downloaded is asked for, page by page, and open candles are not kept.

The store runs on SQLite here; test_candle_store covers it on PostgreSQL as well."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from adapters.exchange.ccxt_gateway import CcxtExchangeGateway
from adapters.persistence.engine import create_engine, create_session_factory
from adapters.persistence.sql_candle_store import SqlCandleStore
from application.market_data.ensure_candles import PAGE_SIZE, EnsureCandles
from domain.exchange.market import MarketType
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey
from entrypoints.migrations import upgrade
from tests.integration import exchange_fixtures
from tests.integration.binance_stub import BinanceStub
from tests.integration.exchange_fixtures import stub_settings
from tests.support.fakes import FakeClock

# The shared fixture, bound here so that pytest finds it in this module.
binance_stub = exchange_fixtures.binance_stub

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
SPOT_KLINES = "/api/v3/klines"
FUTURES_KLINES = "/fapi/v1/klines"
KEY = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))


def klines(first: int, count: int, price: float = 100.0) -> list[list[object]]:
    """Hourly rows [open_ms, o, h, l, c, v] whose prices tell their position apart."""
    return [
        [first + i * HOUR, price + i, price + i + 2, price + i - 2, price + i + 1, 3.5]
        for i in range(count)
    ]


def at(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlCandleStore]:
    url = f"sqlite+aiosqlite:///{tmp_path}/candles.db"
    upgrade(url)
    engine = create_engine(url)
    yield SqlCandleStore(create_session_factory(engine))
    await engine.dispose()


@pytest.fixture
async def gateway(binance_stub: BinanceStub) -> AsyncIterator[CcxtExchangeGateway]:
    gateway = CcxtExchangeGateway(stub_settings(binance_stub))
    yield gateway
    await gateway.close()


@pytest.fixture
def clock() -> FakeClock:
    # Half past the hour after the 2,500th candle: every candle up to it has closed.
    return FakeClock(at(T0 + 2_500 * HOUR + HOUR // 2))


@pytest.fixture
def ensure(gateway: CcxtExchangeGateway, store: SqlCandleStore, clock: FakeClock) -> EnsureCandles:
    return EnsureCandles(gateway, store, clock)


async def test_a_range_longer_than_a_page_is_downloaded_page_by_page_and_stored(
    binance_stub: BinanceStub, ensure: EnsureCandles, store: SqlCandleStore
) -> None:
    binance_stub.set_klines("BTCUSDT", "spot", klines(T0, 2_500))
    progress: list[tuple[int, int, int]] = []

    stored = await ensure.execute(
        KEY, T0, T0 + 2_500 * HOUR - 1, lambda *report: progress.append(report)
    )

    assert stored == 2_500
    requests = binance_stub.requests_to(SPOT_KLINES)
    assert len(requests) == 3
    assert [int(r.params["startTime"]) for r in requests] == [
        T0,
        T0 + PAGE_SIZE * HOUR,
        T0 + 2 * PAGE_SIZE * HOUR,
    ]
    assert {r.params["interval"] for r in requests} == {"1h"}
    assert [done for _, done, _ in progress] == [1_000 * HOUR, 2_000 * HOUR, 2_500 * HOUR]
    assert progress[-1] == (2_500, 2_500 * HOUR, 2_500 * HOUR)
    series = await store.read(KEY, T0, T0 + 2_500 * HOUR)
    assert len(series) == 2_500
    assert np.array_equal(series.open_time_ms, T0 + np.arange(2_500, dtype=np.int64) * HOUR)
    assert np.array_equal(series.open, 100.0 + np.arange(2_500))
    assert np.array_equal(series.close, 101.0 + np.arange(2_500))
    assert await store.gaps(KEY, T0, T0 + 2_500 * HOUR) == []


async def test_a_second_call_for_the_same_range_asks_the_exchange_nothing(
    binance_stub: BinanceStub, ensure: EnsureCandles
) -> None:
    binance_stub.set_klines("BTCUSDT", "spot", klines(T0, 2_500))
    await ensure.execute(KEY, T0, T0 + 2_500 * HOUR - 1)
    binance_stub.clear_requests()

    assert await ensure.execute(KEY, T0, T0 + 2_500 * HOUR - 1) == 0
    assert await ensure.execute(KEY, T0 + 10 * HOUR, T0 + 20 * HOUR) == 0

    assert binance_stub.requests_to(SPOT_KLINES) == []


async def test_an_overlapping_larger_range_downloads_only_the_new_parts(
    binance_stub: BinanceStub, ensure: EnsureCandles, store: SqlCandleStore
) -> None:
    binance_stub.set_klines("BTCUSDT", "spot", klines(T0 - 500 * HOUR, 3_000))
    assert await ensure.execute(KEY, T0, T0 + 1_000 * HOUR - 1) == 1_000
    binance_stub.clear_requests()

    stored = await ensure.execute(KEY, T0 - 500 * HOUR, T0 + 2_000 * HOUR - 1)

    assert stored == 1_500
    starts = [int(r.params["startTime"]) for r in binance_stub.requests_to(SPOT_KLINES)]
    assert starts == [T0 - 500 * HOUR, T0 + 1_000 * HOUR]
    series = await store.read(KEY, T0 - 500 * HOUR, T0 + 2_000 * HOUR - 1)
    assert len(series) == 2_500
    assert await store.missing_ranges(KEY, T0 - 500 * HOUR, T0 + 2_000 * HOUR - 1) == []


async def test_the_candle_that_has_not_closed_is_not_stored_until_it_closes(
    binance_stub: BinanceStub, ensure: EnsureCandles, store: SqlCandleStore, clock: FakeClock
) -> None:
    current_hour = T0 + 48 * HOUR
    clock.current = at(current_hour + 20 * 60_000)  # 20 minutes into the current candle
    binance_stub.set_klines("BTCUSDT", "spot", klines(T0, 49))  # the last one is still open

    stored = await ensure.execute(KEY, T0, T0 + 72 * HOUR - 1)

    assert stored == 48
    series = await store.read(KEY, T0, T0 + 72 * HOUR)
    assert series.open_time_ms[-1] == current_hour - HOUR
    assert await store.missing_ranges(KEY, T0, T0 + 72 * HOUR - 1) == [
        (current_hour, T0 + 72 * HOUR - 1)
    ]

    clock.advance(timedelta(hours=1))
    binance_stub.clear_requests()
    assert await ensure.execute(KEY, T0, T0 + 72 * HOUR - 1) == 1
    assert len(binance_stub.requests_to(SPOT_KLINES)) == 1
    assert (await store.read(KEY, T0, T0 + 72 * HOUR)).open_time_ms[-1] == current_hour


async def test_a_range_the_exchange_has_no_candles_for_is_asked_for_only_once(
    binance_stub: BinanceStub, ensure: EnsureCandles
) -> None:
    binance_stub.set_klines("BTCUSDT", "spot", klines(T0 + 100 * HOUR, 10))

    assert await ensure.execute(KEY, T0, T0 + 50 * HOUR - 1) == 0
    assert await ensure.execute(KEY, T0, T0 + 50 * HOUR - 1) == 0

    assert len(binance_stub.requests_to(SPOT_KLINES)) == 1


async def test_futures_candles_come_from_the_futures_api_into_their_own_series(
    binance_stub: BinanceStub, ensure: EnsureCandles, store: SqlCandleStore
) -> None:
    binance_stub.set_klines("BTCUSDT", "futures", klines(T0, 24, price=500.0))
    futures = CandleKey("binance", MarketType.FUTURES, "BTCUSDT", Timeframe("1h"))

    assert await ensure.execute(futures, T0, T0 + 24 * HOUR - 1) == 24

    assert len(binance_stub.requests_to(FUTURES_KLINES)) == 1
    assert binance_stub.requests_to(SPOT_KLINES) == []
    assert (await store.read(futures, T0, T0)).open[0] == 500.0
    assert len(await store.read(KEY, T0, T0 + 24 * HOUR)) == 0
