"""Live stepping: the backtest's decisions, one closed candle at a time.

A live bot (and the paper replay) keeps its TradingState and the open time of
the last candle it processed. Each evaluation recomputes the strategy's
signals over the bot's whole series (indicators start at the series' first
candle, as in a backtest over the same candles) and applies `step` to the
candles it has not seen yet. Whether the candles arrive one by one, in
bursts after a restart, or all at once, the fills are the backtest's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.trading.risk_engine import (
    CandleInput,
    ExitReason,
    Fill,
    Side,
    TradingState,
    close_position,
    step,
)
from domain.trading.risk_params import RiskParams
from domain.trading.simulation import CandleSeries, candle_input
from domain.trading.strategies import StrategyParams, compute_signals


@dataclass(frozen=True, slots=True)
class LiveProgress:
    state: TradingState
    fills: list[Fill]
    last_open_ms: int | None  # the newest candle processed so far


def advance(
    state: TradingState,
    candles: CandleSeries,
    strategy: str,
    strategy_params: StrategyParams,
    risk: RiskParams,
    last_open_ms: int | None,
) -> LiveProgress:
    """Apply the risk engine to every closed candle newer than `last_open_ms`.

    `candles` must be the bot's series from its first candle on: candle indices
    (entry_index) are positions in it, and the indicators are seeded by it.
    """
    signals = compute_signals(strategy, candles.close, strategy_params)
    fills: list[Fill] = []
    newest = last_open_ms
    for i in range(len(candles)):
        open_ms = int(candles.open_time_ms[i])
        if last_open_ms is not None and open_ms <= last_open_ms:
            continue
        candle = candle_input(candles, signals, i, i >= signals.warmup)
        state, new_fills = step(state, candle, risk)
        fills.extend(new_fills)
        newest = open_ms
    return LiveProgress(state, fills, newest)


def check_ticker(
    state: TradingState, price: float, index: int, open_ms: int, risk: RiskParams
) -> tuple[TradingState, Fill | None]:
    """Between candle closes: a stop loss, trailing stop or take profit that the last
    price has crossed closes the position now, at that price, instead of waiting for
    the candle to close. `index` and `open_ms` are the forming candle's: like a risk
    exit at a candle, it opens no new position at that candle's close. Liquidation
    is the exchange's own act and is not simulated here."""
    if state.side is Side.FLAT:
        return state, None
    reason: ExitReason | None = None
    if state.side is Side.LONG:
        if price <= state.stop_loss_price:
            reason = ExitReason.STOP_LOSS
        elif price <= state.trailing_stop_price:
            reason = ExitReason.TRAILING_STOP
        elif price >= state.take_profit_price:
            reason = ExitReason.TAKE_PROFIT
    else:
        if price >= state.stop_loss_price:
            reason = ExitReason.STOP_LOSS
        elif price >= state.trailing_stop_price:
            reason = ExitReason.TRAILING_STOP
        elif price <= state.take_profit_price:
            reason = ExitReason.TAKE_PROFIT
    if reason is None:
        return state, None
    forming = CandleInput(index, open_ms, price, price, price, price)
    closed, fill = close_position(state, forming, price, reason, risk)
    return replace(closed, risk_exit_open_ms=open_ms), fill
