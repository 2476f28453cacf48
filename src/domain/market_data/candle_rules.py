"""What makes a candle a possible bar of its interval."""

from __future__ import annotations

from domain.market_data.candle import Candle
from domain.market_data.timeframe import Timeframe

# Epoch seconds of today are ~1.7e9 and milliseconds ~1.7e12: below this it is seconds.
_SMALLEST_MILLISECONDS_TIMESTAMP = 10**11
# 9999-12-31 23:59:59.999 UTC, the last moment a datetime can show.
_LATEST_TIMESTAMP = 253_402_300_799_999


def candle_problems(candle: Candle, timeframe: Timeframe) -> list[str]:
    """Why the candle cannot be a real `timeframe` bar, in words; empty when it can."""
    problems: list[str] = []
    t = candle.open_time_ms
    if t < 0:
        problems.append(f"timestamp {t} is negative")
    elif t > _LATEST_TIMESTAMP:
        problems.append(f"timestamp {t} is after the year 9999")
    elif t % timeframe.milliseconds:
        hint = (
            " (seconds? timestamps are milliseconds)"
            if t < _SMALLEST_MILLISECONDS_TIMESTAMP
            else ""
        )
        problems.append(f"timestamp {t} is not aligned to the {timeframe} interval{hint}")
    prices = {"open": candle.open, "high": candle.high, "low": candle.low, "close": candle.close}
    not_positive = [name for name, price in prices.items() if not price > 0]
    if not_positive:
        problems.append(f"{', '.join(not_positive)} must be above 0")
    top = max(candle.open, candle.close)
    if candle.high < top:
        problems.append(f"high {candle.high} is below max(open, close) {top}")
    bottom = min(candle.open, candle.close)
    if candle.low > bottom:
        problems.append(f"low {candle.low} is above min(open, close) {bottom}")
    if candle.volume < 0:
        problems.append(f"volume {candle.volume} is negative")
    return problems
