from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar. Prices are float64: decisions are computed on floats."""

    open_time_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
