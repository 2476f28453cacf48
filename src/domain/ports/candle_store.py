from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.exchange.market import MarketType
from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe
from domain.trading.simulation import CandleSeries


@dataclass(frozen=True, slots=True)
class CandleKey:
    """Which series: candles are stored per exchange, market type, symbol and interval."""

    exchange: str
    market_type: MarketType
    symbol: str
    timeframe: Timeframe


@dataclass(frozen=True, slots=True)
class StoredSeries:
    """What the store holds for one key (for `tradebot data list`)."""

    key: CandleKey
    candles: int
    first_open_ms: int
    last_open_ms: int


class CandleStore(Protocol):
    """Stored OHLCV candles. Open times are epoch milliseconds; ranges are inclusive."""

    async def upsert(self, key: CandleKey, candles: Sequence[Candle]) -> int:
        """Insert or replace candles by open time; returns how many were written."""
        ...

    async def read(self, key: CandleKey, start_ms: int, end_ms: int) -> CandleSeries:
        """Candles opening in [start_ms, end_ms], oldest first, as numpy arrays."""
        ...

    async def missing_ranges(
        self, key: CandleKey, start_ms: int, end_ms: int
    ) -> list[tuple[int, int]]:
        """Sub-ranges of [start_ms, end_ms] never downloaded or imported, oldest first.

        A range the exchange was asked for counts as covered even where the exchange
        had no candles (its own outages), so it is not asked again.
        """
        ...

    async def mark_covered(self, key: CandleKey, start_ms: int, end_ms: int) -> None: ...

    async def gaps(self, key: CandleKey, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """Holes inside covered data: runs of expected open times with no candle."""
        ...

    async def series(self) -> list[StoredSeries]: ...
