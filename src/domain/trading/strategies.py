"""The strategy registry: what each strategy needs, and its signals.

Signals are computed from closes only, for every candle at once; the risk
engine decides what to do with them. Shorts mirror longs and are used on
futures only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidInput
from domain.trading.indicators import cross_up, ema, rsi


class StrategyName(StrEnum):
    EMA_CROSSOVER = "ema_crossover"
    EMA_RSI = "ema_rsi"
    RSI_REVERSION = "rsi_reversion"
    EMA_TREND = "ema_trend"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class StrategyParams:
    """Indicator settings, already resolved (custom_* fields mapped for `custom`)."""

    ema_fast: int = 9
    ema_slow: int = 21
    rsi_period: int = 14
    rsi_oversold: float = 30.0
    rsi_overbought: float = 70.0
    ema_period: int = 50


@dataclass(frozen=True, slots=True)
class Signals:
    """Per candle: would the strategy enter or exit a long or a short at its close?"""

    long_entry: list[bool]
    long_exit: list[bool]
    short_entry: list[bool]
    short_exit: list[bool]
    warmup: int


@dataclass(frozen=True, slots=True)
class StrategySpec:
    name: StrategyName
    description: str
    # The BotConfig fields the strategy reads (for forms and validation).
    fields: tuple[str, ...]
    warmup: Callable[[StrategyParams], int]
    signals: Callable[[Sequence[float], StrategyParams], Signals]


def _ema_cross(closes: Sequence[float], p: StrategyParams, with_rsi: bool) -> Signals:
    fast, slow = ema(closes, p.ema_fast), ema(closes, p.ema_slow)
    strength = rsi(closes, p.rsi_period) if with_rsi else None
    n = len(closes)
    up = [cross_up(fast, slow, i) for i in range(n)]
    down = [cross_up(slow, fast, i) for i in range(n)]
    long_entry = up
    short_entry = down
    if strength is not None:
        # NaN compares False, so there is no RSI-confirmed entry before RSI exists.
        long_entry = [up[i] and strength[i] < p.rsi_overbought for i in range(n)]
        short_entry = [down[i] and strength[i] > p.rsi_oversold for i in range(n)]
    warmup = max(p.ema_fast, p.ema_slow, p.rsi_period) if with_rsi else max(p.ema_fast, p.ema_slow)
    return Signals(long_entry, down, short_entry, up, warmup)


def _ema_crossover(closes: Sequence[float], p: StrategyParams) -> Signals:
    return _ema_cross(closes, p, with_rsi=False)


def _ema_rsi(closes: Sequence[float], p: StrategyParams) -> Signals:
    return _ema_cross(closes, p, with_rsi=True)


def _rsi_reversion(closes: Sequence[float], p: StrategyParams) -> Signals:
    strength = rsi(closes, p.rsi_period)
    n = len(closes)
    oversold = [p.rsi_oversold] * n
    overbought = [p.rsi_overbought] * n
    return Signals(
        long_entry=[cross_up(strength, oversold, i) for i in range(n)],
        long_exit=[strength[i] >= p.rsi_overbought for i in range(n)],
        short_entry=[cross_up(overbought, strength, i) for i in range(n)],
        short_exit=[strength[i] <= p.rsi_oversold for i in range(n)],
        warmup=p.rsi_period,
    )


def _ema_trend(closes: Sequence[float], p: StrategyParams) -> Signals:
    trend = ema(closes, p.ema_period)
    n = len(closes)
    up = [cross_up(closes, trend, i) for i in range(n)]
    down = [cross_up(trend, closes, i) for i in range(n)]
    return Signals(up, down, down, up, p.ema_period)


_EMA_RSI_FIELDS = ("ema_fast", "ema_slow", "rsi_period", "rsi_oversold", "rsi_overbought")

REGISTRY: dict[StrategyName, StrategySpec] = {
    spec.name: spec
    for spec in (
        StrategySpec(
            StrategyName.EMA_CROSSOVER,
            "Long when the fast EMA crosses above the slow one; out when it crosses back.",
            ("ema_fast", "ema_slow"),
            lambda p: max(p.ema_fast, p.ema_slow),
            _ema_crossover,
        ),
        StrategySpec(
            StrategyName.EMA_RSI,
            "EMA crossover, entering longs only while RSI is below the overbought level "
            "(shorts only while above oversold).",
            _EMA_RSI_FIELDS,
            lambda p: max(p.ema_fast, p.ema_slow, p.rsi_period),
            _ema_rsi,
        ),
        StrategySpec(
            StrategyName.RSI_REVERSION,
            "Long when RSI rises out of oversold; out when it reaches overbought.",
            ("rsi_period", "rsi_oversold", "rsi_overbought"),
            lambda p: p.rsi_period,
            _rsi_reversion,
        ),
        StrategySpec(
            StrategyName.EMA_TREND,
            "Long when the close crosses above the EMA of `ema_period`; out on the cross back.",
            ("ema_period",),
            lambda p: p.ema_period,
            _ema_trend,
        ),
        StrategySpec(
            StrategyName.CUSTOM,
            "ema_rsi driven by the custom_* fields, with its own stop loss, take profit "
            "and trailing stop.",
            (
                "custom_ema_fast",
                "custom_ema_slow",
                "custom_rsi_period",
                "custom_rsi_oversold",
                "custom_rsi_overbought",
                "custom_stop_loss",
                "custom_take_profit",
                "custom_trailing_stop",
            ),
            lambda p: max(p.ema_fast, p.ema_slow, p.rsi_period),
            _ema_rsi,
        ),
    )
}


class UnknownStrategy(InvalidInput):
    message = "Unknown strategy"


def strategy_spec(name: str) -> StrategySpec:
    try:
        return REGISTRY[StrategyName(name)]
    except ValueError:
        raise UnknownStrategy(
            details={"strategy": [f"expected one of {', '.join(s.value for s in StrategyName)}"]}
        ) from None


def compute_signals(name: str, closes: Sequence[float], params: StrategyParams) -> Signals:
    return strategy_spec(name).signals(closes, params)
