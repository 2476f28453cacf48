"""A strategy's signals advanced one closed candle at a time, with the indicators carried.

`compute_signals` recomputes every indicator over the whole series, so a live bot
that calls it on each evaluation pays for its whole history every time. Here the
few numbers the indicators need to continue (the last EMA values, Wilder's
seeding sums and averages, the last close and RSI) live in a `StrategyState`,
and `advance_signals` turns one more close into the next state and that
candle's signals in O(1).

Every arithmetic operation is the literal twin of `indicators.py` (same
operands, same order), so the carried values, and therefore the signals, are
bit-identical to `compute_signals` over the same closes, not merely close. Only
the indicators the strategy reads are advanced (the others stay NaN), so a
parameter the strategy ignores can never raise here when it would not there.

A state belongs to the (strategy, params) it was built with and to a series
started at its first candle, exactly as `compute_signals`' indices do: after a
config change, reseed it with `signals_over` on the history.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from domain.errors import InvalidInput
from domain.trading.strategies import StrategyName, StrategyParams, strategy_spec

NAN = math.nan


@dataclass(frozen=True, slots=True)
class StrategyState:
    """Everything needed to continue the indicators after `count` closes.

    The values are those at the last close seen (index `count - 1`): they are
    both what the next EMA/RSI step starts from and the a[i-1], b[i-1] that
    the next `cross_up` compares. NaN where undefined: before the first close,
    for indicators the strategy does not read, and RSI before index `period`.
    """

    count: int = 0  # closes seen; the next close has this index
    last_close: float = NAN
    ema_fast: float = NAN
    ema_slow: float = NAN
    ema_trend: float = NAN  # the EMA of `ema_period` (ema_trend)
    # Wilder's RSI: the sums of the first `period` changes, then the running averages.
    gain_sum: float = 0.0
    loss_sum: float = 0.0
    avg_gain: float = NAN
    avg_loss: float = NAN
    rsi: float = NAN


@dataclass(frozen=True, slots=True)
class SignalsAt:
    """One candle's signals: `compute_signals(...)`'s four lists at `index`."""

    index: int
    long_entry: bool
    long_exit: bool
    short_entry: bool
    short_exit: bool


_INITIAL = StrategyState()


def initial_state() -> StrategyState:
    """The state before any close (the same for every strategy and params)."""
    return _INITIAL


def _ema_step(prev: float, close: float, period: int, first: bool) -> float:
    """indicators.ema at one index: seeded with the first value, then prev + alpha*(x-prev)."""
    if first:
        return close
    alpha = 2.0 / (period + 1.0)
    return prev + alpha * (close - prev)


def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    """indicators._rsi_value, repeated here so this module imports only public names."""
    if avg_loss == 0.0:
        return 50.0 if avg_gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def _rsi_step(
    state: StrategyState, close: float, period: int
) -> tuple[float, float, float, float, float]:
    """indicators.rsi at index `state.count`: (gain_sum, loss_sum, avg_gain, avg_loss, rsi)."""
    i = state.count
    gain_sum, loss_sum = state.gain_sum, state.loss_sum
    avg_gain, avg_loss = state.avg_gain, state.avg_loss
    if i == 0:
        return gain_sum, loss_sum, avg_gain, avg_loss, NAN
    change = close - state.last_close
    if i <= period:
        # The seeding loop: plain sums of the first `period` changes, then their means.
        if change > 0.0:
            gain_sum += change
        else:
            loss_sum -= change
        if i < period:
            return gain_sum, loss_sum, avg_gain, avg_loss, NAN
        avg_gain = gain_sum / period
        avg_loss = loss_sum / period
        return gain_sum, loss_sum, avg_gain, avg_loss, _rsi_value(avg_gain, avg_loss)
    gain = change if change > 0.0 else 0.0
    loss = -change if change < 0.0 else 0.0
    avg_gain = (avg_gain * (period - 1) + gain) / period
    avg_loss = (avg_loss * (period - 1) + loss) / period
    return gain_sum, loss_sum, avg_gain, avg_loss, _rsi_value(avg_gain, avg_loss)


def _cross_up(a_prev: float, b_prev: float, a: float, b: float, i: int) -> bool:
    """indicators.cross_up with a[i-1], b[i-1], a[i], b[i] passed in."""
    return i >= 1 and a_prev <= b_prev and a > b


def _advance(
    state: StrategyState, close: float, name: StrategyName, p: StrategyParams
) -> tuple[StrategyState, SignalsAt]:
    i = state.count
    first = i == 0
    if name is StrategyName.EMA_TREND:
        trend = _ema_step(state.ema_trend, close, p.ema_period, first)
        up = _cross_up(state.last_close, state.ema_trend, close, trend, i)
        down = _cross_up(state.ema_trend, state.last_close, trend, close, i)
        new = StrategyState(count=i + 1, last_close=close, ema_trend=trend)
        return new, SignalsAt(i, up, down, down, up)

    gain_sum, loss_sum, avg_gain, avg_loss, strength = _rsi_step(state, close, p.rsi_period)
    if name is StrategyName.RSI_REVERSION:
        new = StrategyState(
            i + 1, close, NAN, NAN, NAN, gain_sum, loss_sum, avg_gain, avg_loss, strength
        )
        return new, SignalsAt(
            i,
            long_entry=_cross_up(state.rsi, p.rsi_oversold, strength, p.rsi_oversold, i),
            long_exit=strength >= p.rsi_overbought,
            short_entry=_cross_up(p.rsi_overbought, state.rsi, p.rsi_overbought, strength, i),
            short_exit=strength <= p.rsi_oversold,
        )

    # ema_crossover, ema_rsi and custom (ema_rsi over the already resolved custom_* params).
    fast = _ema_step(state.ema_fast, close, p.ema_fast, first)
    slow = _ema_step(state.ema_slow, close, p.ema_slow, first)
    up = _cross_up(state.ema_fast, state.ema_slow, fast, slow, i)
    down = _cross_up(state.ema_slow, state.ema_fast, slow, fast, i)
    if name is StrategyName.EMA_CROSSOVER:
        new = StrategyState(count=i + 1, last_close=close, ema_fast=fast, ema_slow=slow)
        return new, SignalsAt(i, up, down, down, up)
    new = StrategyState(
        i + 1, close, fast, slow, NAN, gain_sum, loss_sum, avg_gain, avg_loss, strength
    )
    # NaN compares False, so there is no RSI-confirmed entry before RSI exists.
    long_entry = up and strength < p.rsi_overbought
    short_entry = down and strength > p.rsi_oversold
    return new, SignalsAt(i, long_entry, down, short_entry, up)


def advance_signals(
    state: StrategyState, close: float, strategy: str, params: StrategyParams
) -> tuple[StrategyState, SignalsAt]:
    """The state after one more closed candle, and that candle's signals.

    Raises UnknownStrategy, as `compute_signals` does, for a name not in the registry.
    """
    return _advance(state, close, strategy_spec(strategy).name, params)


def signals_over(
    closes: Iterable[float],
    strategy: str,
    params: StrategyParams,
    state: StrategyState | None = None,
) -> tuple[StrategyState, list[SignalsAt]]:
    """Fold `advance_signals` over `closes`: seeds a bot from its history (from the
    initial state), or catches up on a burst of candles (from `state`)."""
    name = strategy_spec(strategy).name  # validated even when there is no close
    current = _INITIAL if state is None else state
    out: list[SignalsAt] = []
    for close in closes:
        current, at = _advance(current, close, name, params)
        out.append(at)
    return current, out


_FLOAT_FIELDS = tuple(f.name for f in fields(StrategyState) if f.name != "count")


def to_dict(state: StrategyState) -> dict[str, float | int | None]:
    """JSON-ready: NaN becomes None (JSON has no NaN); floats round-trip exactly as repr."""
    out: dict[str, float | int | None] = {"count": state.count}
    for key in _FLOAT_FIELDS:
        value = float(getattr(state, key))
        out[key] = None if math.isnan(value) else value
    return out


def _float(data: Mapping[str, object], key: str, default: float) -> float:
    if key not in data:
        return default
    value = data[key]
    if value is None:
        return NAN
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(details={key: ["expected a number or null"]})
    return float(value)


def from_dict(data: Mapping[str, object]) -> StrategyState:
    """The inverse of `to_dict`. Missing keys take their defaults and unknown keys are
    ignored, so rows stored by an older or newer version still load."""
    count = data.get("count", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidInput(details={"count": ["expected a non-negative integer"]})
    d = _INITIAL
    return StrategyState(
        count=count,
        last_close=_float(data, "last_close", d.last_close),
        ema_fast=_float(data, "ema_fast", d.ema_fast),
        ema_slow=_float(data, "ema_slow", d.ema_slow),
        ema_trend=_float(data, "ema_trend", d.ema_trend),
        gain_sum=_float(data, "gain_sum", d.gain_sum),
        loss_sum=_float(data, "loss_sum", d.loss_sum),
        avg_gain=_float(data, "avg_gain", d.avg_gain),
        avg_loss=_float(data, "avg_loss", d.avg_loss),
        rsi=_float(data, "rsi", d.rsi),
    )
