"""Candle intervals the product supports, with their length."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput

_SECONDS = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1_800,
    "1h": 3_600,
    "2h": 7_200,
    "4h": 14_400,
    "6h": 21_600,
    "8h": 28_800,
    "12h": 43_200,
    "1d": 86_400,
}
SUPPORTED_TIMEFRAMES: tuple[str, ...] = tuple(_SECONDS)


class UnsupportedTimeframe(InvalidInput):
    message = "Unsupported timeframe"


@dataclass(frozen=True, slots=True)
class Timeframe:
    value: str

    def __post_init__(self) -> None:
        if self.value not in _SECONDS:
            raise UnsupportedTimeframe(
                details={"timeframe": [f"expected one of {', '.join(SUPPORTED_TIMEFRAMES)}"]}
            )

    @property
    def seconds(self) -> int:
        return _SECONDS[self.value]

    @property
    def milliseconds(self) -> int:
        return _SECONDS[self.value] * 1000

    def __str__(self) -> str:
        return self.value
