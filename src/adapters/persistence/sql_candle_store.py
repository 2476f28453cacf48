"""The candle store on SQLite and PostgreSQL.

Not part of a unit of work: candles are market data shared by every user, written by
downloads and imports that commit page by page, so the store opens its own sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Table, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.persistence.tables import candle_coverage
from adapters.persistence.tables import candles as candle_rows
from domain.exchange.market import MarketType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.ports.candle_store import CandleKey, CandleStore, StoredSeries
from domain.trading.simulation import CandleSeries

# Rows per driver call (executemany) of an upsert.
CHUNK_ROWS = 10_000
_KEY_COLUMNS = ("exchange", "market_type", "symbol", "interval")
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_READ_DTYPE = np.dtype(
    [
        ("open_time_ms", np.int64),
        ("open", np.float64),
        ("high", np.float64),
        ("low", np.float64),
        ("close", np.float64),
    ]
)


class SqlCandleStore(CandleStore):
    def __init__(self, session_factory: async_sessionmaker[Any]) -> None:
        self._session_factory = session_factory

    async def upsert(self, key: CandleKey, candles: Sequence[Candle]) -> int:
        # The last candle wins for a repeated open time (one statement may not touch a
        # row twice on PostgreSQL).
        by_time = {candle.open_time_ms: candle for candle in candles}
        if not by_time:
            return 0
        columns = _key_values(key)
        rows = [
            {
                **columns,
                "open_time_ms": c.open_time_ms,
                "open": c.open,
                "high": c.high,
                "low": c.low,
                "close": c.close,
                "volume": c.volume,
            }
            for c in by_time.values()
        ]
        async with self._session_factory() as session, session.begin():
            statement = _insert_for(session)(candle_rows)
            statement = statement.on_conflict_do_update(
                index_elements=list(candle_rows.primary_key.columns),
                set_={name: statement.excluded[name] for name in _PRICE_COLUMNS},
            )
            # One statement, compiled once, executed for many rows per driver call.
            for start in range(0, len(rows), CHUNK_ROWS):
                await session.execute(statement, rows[start : start + CHUNK_ROWS])
        return len(rows)

    async def read(self, key: CandleKey, start_ms: int, end_ms: int) -> CandleSeries:
        statement = (
            select(
                candle_rows.c.open_time_ms,
                candle_rows.c.open,
                candle_rows.c.high,
                candle_rows.c.low,
                candle_rows.c.close,
            )
            .where(_is_key(candle_rows, key), candle_rows.c.open_time_ms.between(start_ms, end_ms))
            .order_by(candle_rows.c.open_time_ms)
        )
        async with self._session_factory() as session:
            connection = await session.connection()
            # Plain driver tuples, without building a SQLAlchemy Row per candle: a
            # million-candle read spends its time in the database driver, not here.
            rows = await connection.run_sync(_fetch_tuples, statement)
        table = np.fromiter(rows, dtype=_READ_DTYPE, count=len(rows))
        return CandleSeries(
            open_time_ms=_column(table, "open_time_ms"),
            open=_column(table, "open"),
            high=_column(table, "high"),
            low=_column(table, "low"),
            close=_column(table, "close"),
        )

    async def missing_ranges(
        self, key: CandleKey, start_ms: int, end_ms: int
    ) -> list[tuple[int, int]]:
        if end_ms < start_ms:
            return []
        async with self._session_factory() as session:
            covered = await _covered(session, key, start_ms, end_ms)
        missing: list[tuple[int, int]] = []
        cursor = start_ms
        for range_start, range_end in covered:
            if range_start > cursor:
                missing.append((cursor, min(range_start - 1, end_ms)))
            cursor = max(cursor, range_end + 1)
            if cursor > end_ms:
                break
        if cursor <= end_ms:
            missing.append((cursor, end_ms))
        step = key.timeframe.milliseconds
        # A sliver in which no candle of the interval opens needs no download.
        return [(s, e) for s, e in missing if -(-s // step) * step <= e]

    async def mark_covered(self, key: CandleKey, start_ms: int, end_ms: int) -> None:
        if end_ms < start_ms:
            return
        async with self._session_factory() as session, session.begin():
            touching = await _covered(session, key, start_ms - 1, end_ms + 1)
            merged_start = min([start_ms, *(s for s, _ in touching)])
            merged_end = max([end_ms, *(e for _, e in touching)])
            if touching:
                await session.execute(
                    delete(candle_coverage).where(
                        _is_key(candle_coverage, key),
                        candle_coverage.c.start_ms.in_([s for s, _ in touching]),
                    )
                )
            insert = _insert_for(session)
            statement = insert(candle_coverage).values(
                **_key_values(key), start_ms=merged_start, end_ms=merged_end
            )
            # A concurrent writer may have stored the same start meanwhile: keep the wider.
            larger = (
                func.greatest
                if session.get_bind().dialect.name == "postgresql"
                else func.max  # SQLite's two-argument max() is a scalar function
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=list(candle_coverage.primary_key.columns),
                    set_={"end_ms": larger(candle_coverage.c.end_ms, statement.excluded.end_ms)},
                )
            )

    async def gaps(self, key: CandleKey, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        step = key.timeframe.milliseconds
        in_range = (
            select(
                candle_rows.c.open_time_ms.label("open_time_ms"),
                func.lag(candle_rows.c.open_time_ms)
                .over(order_by=candle_rows.c.open_time_ms)
                .label("previous_ms"),
            )
            .where(_is_key(candle_rows, key), candle_rows.c.open_time_ms.between(start_ms, end_ms))
            .subquery()
        )
        statement = (
            select(in_range.c.previous_ms, in_range.c.open_time_ms)
            .where(in_range.c.open_time_ms - in_range.c.previous_ms > step)
            .order_by(in_range.c.open_time_ms)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(statement)).all()
        return [(int(previous) + step, int(current) - step) for previous, current in rows]

    async def series(self) -> list[StoredSeries]:
        key_columns = [candle_rows.c[name] for name in _KEY_COLUMNS]
        statement = (
            select(
                *key_columns,
                func.count(),
                func.min(candle_rows.c.open_time_ms),
                func.max(candle_rows.c.open_time_ms),
            )
            .group_by(*key_columns)
            .order_by(*key_columns)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(statement)).all()
        return [
            StoredSeries(
                key=CandleKey(exchange, MarketType(market_type), symbol, Timeframe(interval)),
                candles=int(count),
                first_open_ms=int(first),
                last_open_ms=int(last),
            )
            for exchange, market_type, symbol, interval, count, first, last in rows
        ]


def _key_values(key: CandleKey) -> dict[str, str]:
    return {
        "exchange": key.exchange,
        "market_type": key.market_type.value,
        "symbol": key.symbol,
        "interval": key.timeframe.value,
    }


def _is_key(table: Table, key: CandleKey) -> ColumnElement[bool]:
    return and_(*(table.c[name] == value for name, value in _key_values(key).items()))


def _insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT DO UPDATE on both backends."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


async def _covered(
    session: AsyncSession, key: CandleKey, start_ms: int, end_ms: int
) -> list[tuple[int, int]]:
    """Covered ranges overlapping [start_ms, end_ms], oldest first (they may overlap
    each other when two writers merged at once; readers take their union)."""
    rows = await session.execute(
        select(candle_coverage.c.start_ms, candle_coverage.c.end_ms)
        .where(
            _is_key(candle_coverage, key),
            candle_coverage.c.start_ms <= end_ms,
            candle_coverage.c.end_ms >= start_ms,
        )
        .order_by(candle_coverage.c.start_ms)
    )
    return [(int(start), int(end)) for start, end in rows]


def _column(table: np.ndarray[Any, Any], name: str) -> Any:
    """One field of the structured read as its own contiguous array (int64 or float64),
    which the series holds where it declares sequences."""
    return np.ascontiguousarray(table[name])


def _fetch_tuples(connection: Any, statement: Any) -> list[tuple[Any, ...]]:
    """Run a SELECT on the driver's own cursor and return its rows as plain tuples."""
    compiled = statement.compile(dialect=connection.dialect)
    parameters = compiled.construct_params()
    if compiled.positional:
        bound: Any = tuple(parameters[name] for name in compiled.positiontup)
    else:
        bound = parameters
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(compiled), bound)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return rows if not rows or type(rows[0]) is tuple else [tuple(row) for row in rows]
