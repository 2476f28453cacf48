"""The SQL candle store on SQLite and PostgreSQL, through the CandleStore port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.engine import create_engine, create_session_factory
from adapters.persistence.sql_candle_store import CHUNK_ROWS, SqlCandleStore
from adapters.persistence.tables import candle_coverage
from domain.exchange.market import MarketType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey, StoredSeries

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
KEY = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1h"))
FUTURES_KEY = CandleKey("binance", MarketType.FUTURES, "BTCUSDT", Timeframe("1h"))
MINUTE_KEY = CandleKey("binance", MarketType.SPOT, "BTCUSDT", Timeframe("1m"))


def candle(index: int, price: float = 100.0, step: int = HOUR) -> Candle:
    return Candle(T0 + index * step, price, price + 2, price - 2, price + 1, 10.0 + index)


def hours(*indexes: int, price: float = 100.0) -> list[Candle]:
    return [candle(i, price) for i in indexes]


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def store(engine: AsyncEngine) -> SqlCandleStore:
    return SqlCandleStore(create_session_factory(engine))


async def covered_rows(engine: AsyncEngine, key: CandleKey) -> list[tuple[int, int]]:
    """The coverage as the table holds it: one row per merged range."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(candle_coverage.c.start_ms, candle_coverage.c.end_ms)
            .where(candle_coverage.c.market_type == key.market_type.value)
            .order_by(candle_coverage.c.start_ms)
        )
        return [(int(start), int(end)) for start, end in rows]


async def test_upserting_the_same_candles_twice_stores_them_once(store: SqlCandleStore) -> None:
    assert await store.upsert(KEY, hours(0, 1, 2)) == 3
    assert await store.upsert(KEY, hours(0, 1, 2)) == 3

    assert [s.candles for s in await store.series()] == [3]


async def test_an_upsert_replaces_the_prices_of_a_stored_open_time(store: SqlCandleStore) -> None:
    await store.upsert(KEY, hours(0, 1, 2))

    await store.upsert(KEY, [Candle(T0 + HOUR, 50.0, 60.0, 40.0, 55.0, 1.0)])

    series = await store.read(KEY, T0, T0 + 2 * HOUR)
    assert list(series.open) == [100.0, 50.0, 100.0]
    assert list(series.high) == [102.0, 60.0, 102.0]
    assert list(series.low) == [98.0, 40.0, 98.0]
    assert list(series.close) == [101.0, 55.0, 101.0]


async def test_a_repeated_open_time_in_one_upsert_keeps_the_last_candle(
    store: SqlCandleStore,
) -> None:
    written = await store.upsert(KEY, [candle(0, 100.0), candle(0, 200.0)])

    assert written == 1
    assert list((await store.read(KEY, T0, T0)).open) == [200.0]


async def test_an_upsert_larger_than_one_chunk_stores_every_candle(
    store: SqlCandleStore,
) -> None:
    count = CHUNK_ROWS * 2 + 7
    candles = [candle(i, 100.0 + i, step=60_000) for i in range(count)]

    assert await store.upsert(MINUTE_KEY, candles) == count

    series = await store.read(MINUTE_KEY, T0, T0 + count * 60_000)
    assert len(series) == count
    assert series.open_time_ms[-1] == candles[-1].open_time_ms
    assert series.close[-1] == candles[-1].close


async def test_a_read_includes_both_ends_of_its_range_oldest_first(store: SqlCandleStore) -> None:
    await store.upsert(KEY, list(reversed(hours(0, 1, 2, 3, 4))))

    series = await store.read(KEY, T0 + HOUR, T0 + 3 * HOUR)

    assert list(series.open_time_ms) == [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]
    assert len(series) == 3


async def test_a_read_returns_int64_open_times_and_float64_prices(store: SqlCandleStore) -> None:
    await store.upsert(KEY, hours(0, 1))

    series = await store.read(KEY, T0, T0 + HOUR)

    assert isinstance(series.open_time_ms, np.ndarray)
    assert series.open_time_ms.dtype == np.int64
    for prices in (series.open, series.high, series.low, series.close):
        assert isinstance(prices, np.ndarray)
        assert prices.dtype == np.float64
        assert prices.flags.c_contiguous


async def test_a_read_of_an_empty_range_returns_empty_typed_arrays(store: SqlCandleStore) -> None:
    await store.upsert(KEY, hours(0))

    series = await store.read(KEY, T0 + HOUR, T0 + 10 * HOUR)

    assert len(series) == 0
    assert isinstance(series.open_time_ms, np.ndarray)
    assert series.open_time_ms.dtype == np.int64
    assert isinstance(series.close, np.ndarray)
    assert series.close.dtype == np.float64


async def test_prices_come_back_as_the_exact_floats_that_were_stored(
    store: SqlCandleStore,
) -> None:
    price = 0.1 + 0.2  # not representable in a decimal with few digits
    await store.upsert(KEY, [Candle(T0, price, price * 3, price / 3, price * 2, 1e-8)])

    series = await store.read(KEY, T0, T0)

    assert (series.open[0], series.high[0], series.low[0], series.close[0]) == (
        price,
        price * 3,
        price / 3,
        price * 2,
    )


async def test_series_of_another_market_type_or_interval_are_kept_apart(
    store: SqlCandleStore,
) -> None:
    await store.upsert(KEY, hours(0, 1, price=100.0))
    await store.upsert(FUTURES_KEY, hours(0, price=200.0))
    await store.upsert(MINUTE_KEY, [candle(i, 300.0, step=60_000) for i in range(3)])

    assert list((await store.read(KEY, T0, T0 + HOUR)).open) == [100.0, 100.0]
    assert list((await store.read(FUTURES_KEY, T0, T0 + HOUR)).open) == [200.0]
    assert await store.series() == [
        StoredSeries(FUTURES_KEY, 1, T0, T0),
        StoredSeries(KEY, 2, T0, T0 + HOUR),
        StoredSeries(MINUTE_KEY, 3, T0, T0 + 120_000),
    ]


async def test_nothing_is_covered_before_anything_was_downloaded(store: SqlCandleStore) -> None:
    assert await store.missing_ranges(KEY, T0, T0 + 10 * HOUR - 1) == [(T0, T0 + 10 * HOUR - 1)]


async def test_missing_ranges_are_the_parts_of_the_range_never_covered(
    store: SqlCandleStore,
) -> None:
    await store.mark_covered(KEY, T0 + 2 * HOUR, T0 + 4 * HOUR - 1)
    await store.mark_covered(KEY, T0 + 6 * HOUR, T0 + 7 * HOUR - 1)

    missing = await store.missing_ranges(KEY, T0, T0 + 10 * HOUR - 1)

    assert missing == [
        (T0, T0 + 2 * HOUR - 1),
        (T0 + 4 * HOUR, T0 + 6 * HOUR - 1),
        (T0 + 7 * HOUR, T0 + 10 * HOUR - 1),
    ]
    assert await store.missing_ranges(KEY, T0 + 2 * HOUR, T0 + 4 * HOUR - 1) == []
    assert await store.missing_ranges(FUTURES_KEY, T0, T0 + HOUR - 1) == [(T0, T0 + HOUR - 1)]


async def test_a_missing_sliver_in_which_no_candle_opens_is_not_reported(
    store: SqlCandleStore,
) -> None:
    await store.mark_covered(KEY, T0, T0 + 2 * HOUR - 1)

    # From 00:30 the first hourly candle to open is 01:00, which is covered.
    assert await store.missing_ranges(KEY, T0 - HOUR // 2, T0 + 2 * HOUR - 1) == []
    assert await store.missing_ranges(KEY, T0 - HOUR, T0 + 2 * HOUR - 1) == [(T0 - HOUR, T0 - 1)]


async def test_touching_and_overlapping_covered_ranges_are_merged_into_one(
    store: SqlCandleStore, engine: AsyncEngine
) -> None:
    await store.mark_covered(KEY, T0, T0 + HOUR - 1)
    await store.mark_covered(KEY, T0 + 3 * HOUR, T0 + 4 * HOUR - 1)
    assert await covered_rows(engine, KEY) == [
        (T0, T0 + HOUR - 1),
        (T0 + 3 * HOUR, T0 + 4 * HOUR - 1),
    ]

    await store.mark_covered(KEY, T0 + HOUR, T0 + 2 * HOUR - 1)  # touches the first
    assert await covered_rows(engine, KEY) == [
        (T0, T0 + 2 * HOUR - 1),
        (T0 + 3 * HOUR, T0 + 4 * HOUR - 1),
    ]

    await store.mark_covered(KEY, T0 + HOUR, T0 + 3 * HOUR + 5)  # overlaps both
    assert await covered_rows(engine, KEY) == [(T0, T0 + 4 * HOUR - 1)]

    await store.mark_covered(KEY, T0 + HOUR, T0 + 2 * HOUR)  # inside: no change
    assert await covered_rows(engine, KEY) == [(T0, T0 + 4 * HOUR - 1)]
    assert await store.missing_ranges(KEY, T0, T0 + 4 * HOUR - 1) == []


async def test_a_covered_range_that_spans_others_absorbs_them(
    store: SqlCandleStore, engine: AsyncEngine
) -> None:
    for i in range(0, 10, 2):
        await store.mark_covered(KEY, T0 + i * HOUR, T0 + (i + 1) * HOUR - 1)

    await store.mark_covered(KEY, T0 - HOUR, T0 + 12 * HOUR)

    assert await covered_rows(engine, KEY) == [(T0 - HOUR, T0 + 12 * HOUR)]


async def test_gaps_are_the_runs_of_missing_open_times_between_stored_candles(
    store: SqlCandleStore,
) -> None:
    await store.upsert(KEY, hours(0, 1, 4, 5, 7, 8))

    gaps = await store.gaps(KEY, T0, T0 + 8 * HOUR)

    assert gaps == [(T0 + 2 * HOUR, T0 + 3 * HOUR), (T0 + 6 * HOUR, T0 + 6 * HOUR)]


async def test_gaps_only_look_inside_the_range_asked_for(store: SqlCandleStore) -> None:
    await store.upsert(KEY, hours(0, 3, 4, 5, 9))

    assert await store.gaps(KEY, T0 + 3 * HOUR, T0 + 5 * HOUR) == []
    assert await store.gaps(KEY, T0 + 3 * HOUR, T0 + 9 * HOUR) == [(T0 + 6 * HOUR, T0 + 8 * HOUR)]
    assert await store.gaps(FUTURES_KEY, T0, T0 + 9 * HOUR) == []


async def test_an_empty_store_lists_no_series(store: SqlCandleStore) -> None:
    assert await store.series() == []
